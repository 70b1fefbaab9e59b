"""The modality's default command (``selfsup pretrain modality=timeseries``) and its data.

Issue 21's default-command treatment (``benchmarks/README.md`` § Default commands): the former
default (300 + 100 steps of 128, CWT width 32) cost 1,028 CPU-s and gained nothing over random
init (R² 0.551 vs 0.559); the measured default (150 + 50 steps of 64, CWT width 16) costs about
85 CPU-s and gains on every seed. These cheap tests pin what that measurement depends on — the
budget the default command resolves to, and the property of the generated ``synthetic-pulses``
that makes its task need learned features — and the raw-feature baseline column. The quality runs
themselves are benchmarks (``benchmarks/default_commands.py``), not tests.
"""

from __future__ import annotations

import torch

from selfsup.config import resolve
from selfsup.evaluation.regression_probe import fit_ridge
from selfsup.registry import get_registry
from selfsup.tasks import RawFeatureSource
from selfsup_timeseries.configs import SyntheticPulsesConfig
from selfsup_timeseries.datasets.sources import SyntheticPulses


def _ridge_r2(features_train: torch.Tensor, y_train: torch.Tensor, features_test: torch.Tensor, y_test: torch.Tensor) -> float:
    """R² of the regression probe's ridge (alpha chosen on the last 10 % of train, refit on all of it)."""
    cut = int(0.9 * len(features_train))
    _, alpha = fit_ridge(features_train[:cut], y_train[:cut], features_train[cut:], y_train[cut:], widen=4)
    model, _ = fit_ridge(features_train, y_train, None, None, alpha_grid=(alpha,))
    y = y_test.to(torch.float64)
    return float(1 - ((model(features_test) - y) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def test_the_default_command_resolves_to_the_measured_budget():
    config = resolve({"modality": "timeseries"}, get_registry()).config
    assert (config.objective, config.encoder, config.dataset) == ("frame-projections", "frame-resnet1d", "synthetic-pulses")
    assert (config.trainer.batch_size, config.trainer.max_steps, config.trainer.lr) == (64, 200, 1e-3)
    assert (config.objective_config.pretrain_steps, config.objective_config.cwt_filters) == (150, 16)
    assert config.objective_config.num_scales == 48  # the official frame: only the CNN width is a CPU budget
    simclr = resolve({"modality": "timeseries", "objective": "series-simclr"}, get_registry()).config
    assert (simclr.trainer.batch_size, simclr.trainer.max_steps) == (128, 300)  # the baseline's budget is unchanged


def test_the_raw_feature_baseline_is_the_series_values_channel_major():
    source = SyntheticPulses(SyntheticPulsesConfig(train_size=8, test_size=2, length=20, num_channels=2))
    assert isinstance(source, RawFeatureSource)
    raw = source.raw_feature_encoder()
    x = source.split("train").x
    features = raw({"x": x})
    assert raw.embed_dim == 40 and features.shape == (8, 40)
    assert features[3, 20 + 7] == x[3, 1, 7] and features[5, 19] == x[5, 0, 19]  # channel 1 follows all of channel 0
    assert not list(raw.parameters())


def test_the_pulse_rate_needs_shift_invariant_features():
    """The default data's task cannot be read linearly off the values (random phase), but it can off
    the amplitude spectrum: features that an encoder must learn, not a copy of the input. Measured
    on the default config (2026-12-08): R² -0.0004 on the values, 0.617 on |rfft|."""
    source = SyntheticPulses(SyntheticPulsesConfig())
    train, test = source.split("train"), source.split("test")
    values = _ridge_r2(train.x.flatten(1), train.y, test.x.flatten(1), test.y)
    spectrum = lambda x: torch.fft.rfft(x, norm="ortho").abs().flatten(1)  # noqa: E731
    magnitudes = _ridge_r2(spectrum(train.x), train.y, spectrum(test.x), test.y)
    assert values < 0.05, values
    assert magnitudes > 0.5, magnitudes

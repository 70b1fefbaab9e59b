"""The embedded default dataset, ``synthetic-sounds`` with ``preset=contours``, is built so that
learned spectro-temporal features matter (issue 21: the default command must be able to show a
gain over random init): each class is the time reversal of another, so an order-blind summary of
the clip (the raw-feature baseline, fbank mean/std per mel bin over the frames) cannot separate a
pair, while the same statistics taken over each half of the clip can. The earlier default
(``preset=tones``) was solved by that baseline on every class but the two chirps (0.88-0.89,
as high as any encoder: benchmarks/README.md § Default commands)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from selfsup.errors import ConfigError
from selfsup_audio.configs import SyntheticSoundsConfig
from selfsup_audio.datasets.raw import FbankStats
from selfsup_audio.datasets.synthetic import CONTOURS, SyntheticSounds, _contour_event


def test_the_default_preset_is_contours_and_tones_remains_available() -> None:
    assert SyntheticSoundsConfig().preset == "contours"
    data = SyntheticSounds(SyntheticSoundsConfig(preset="tones", train_per_class=1, val_per_class=1, test_per_class=1))
    assert data.info["classes"][:2] == ["low-tone", "high-tone"]
    with pytest.raises(ConfigError, match=r"data.preset='chirps' is not one of \['contours', 'tones'\]"):
        SyntheticSounds(SyntheticSoundsConfig(preset="chirps"))


@pytest.mark.parametrize("pair", range(4))
def test_each_odd_contour_is_the_time_reversal_of_its_even_twin(pair: int) -> None:
    """Same random draws, class 2k+1's event is class 2k's reversed sample for sample: the two
    classes have the same distribution of spectrogram frames and differ only in their order."""
    forward = _contour_event(2 * pair, 4000, np.random.default_rng(7))
    backward = _contour_event(2 * pair + 1, 4000, np.random.default_rng(7))
    assert np.array_equal(backward, forward[::-1])
    assert not np.allclose(backward, forward, atol=1e-3)  # not palindromic: the order carries the class
    assert CONTOURS[2 * pair + 1] != CONTOURS[2 * pair]


def _halves(batch: dict) -> torch.Tensor:
    """FbankStats over the first and the second half of each clip's real frames (order-aware)."""
    stats, rows = FbankStats(batch["x"].shape[2]), []
    for x, n in zip(batch["x"], batch["num_frames"].tolist()):
        half = n // 2
        first = stats({"x": x[None, :half], "num_frames": torch.tensor([half])})
        second = stats({"x": x[None, half:n], "num_frames": torch.tensor([n - half])})
        rows.append(torch.cat([first[0], second[0]]))
    return torch.stack(rows)


def _pair_accuracy(features: tuple[torch.Tensor, torch.Tensor], labels: tuple[torch.Tensor, torch.Tensor]) -> float:
    """Accuracy of telling each test clip's class from its time-reversed twin class (chance 0.5):
    a logistic regression per pair, on standardised features, C = 0.1."""
    correct = 0
    for pair in range(4):
        (a, ya), (b, yb) = [(f[(y // 2) == pair].numpy(), y[(y // 2) == pair].numpy()) for f, y in zip(features, labels)]
        scaler = StandardScaler().fit(a)
        clf = LogisticRegression(C=0.1, max_iter=1000).fit(scaler.transform(a), ya)
        correct += int((clf.predict(scaler.transform(b)) == yb).sum())
    return correct / len(labels[1])


def test_order_blind_fbank_statistics_cannot_tell_a_pair_apart_but_their_halves_can() -> None:
    """The generator's property that makes the default task need learned features: on the default
    clips (40 train, 40 test per class here), per-pair logistic regression on the raw-feature
    baseline (fbank mean/std per mel bin) is near chance (measured 0.53), on the same statistics of
    each half of the clip far above it (measured 0.87). The earlier ``tones`` preset's chirp pair is
    the only pair of its classes the baseline could not separate."""
    data = SyntheticSounds(SyntheticSoundsConfig(train_per_class=40, val_per_class=1, test_per_class=40, seed=0))
    train, test = (data.split(name).__getitems__(list(range(len(data.split(name))))) for name in ("train", "test"))
    labels = (train["label"], test["label"])
    raw = FbankStats(data.info["num_mel_bins"])
    order_blind = _pair_accuracy((raw(train), raw(test)), labels)
    order_aware = _pair_accuracy((_halves(train), _halves(test)), labels)
    assert order_blind < 0.65, order_blind
    assert order_aware > 0.80, order_aware


def test_the_audio_default_command_resolves_to_the_measured_defaults() -> None:
    """``selfsup pretrain modality=audio`` as measured in benchmarks/README.md § Default commands:
    contours at 64 mel bins × 96 frames, synthetic-sounds' own budget (1,800 steps of 32 at SSAST's lr),
    and fine-tuning (10 epochs) beside the frozen probes; FSDD keeps its own budget, a user's keys win."""
    from omegaconf import OmegaConf

    from selfsup.config import resolve
    from selfsup.registry import get_registry

    def resolved(**user):
        return OmegaConf.to_container(resolve({"modality": "audio", **user}, get_registry()).config, resolve=True)

    config = resolved()
    assert config["dataset"] == "synthetic-sounds" and config["objective"] == "ssast"
    assert (config["data"]["preset"], config["data"]["num_mel_bins"], config["data"]["target_length"]) == ("contours", 64, 96)
    assert (config["trainer"]["max_steps"], config["trainer"]["batch_size"], config["trainer"]["lr"]) == (1800, 32, 5e-4)
    assert config["evaluators"] == ["linear-probe", "knn", "fine-tune"]
    assert config["evaluator_config"]["fine-tune"]["epochs"] == 10
    fsdd = resolved(dataset="fsdd", data={"root": "fsdd"})
    assert (fsdd["trainer"]["max_steps"], fsdd["trainer"]["batch_size"], fsdd["data"]["num_mel_bins"]) == (1200, 32, 128)
    assert resolved(trainer={"max_steps": 7})["trainer"]["max_steps"] == 7

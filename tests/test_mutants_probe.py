"""Tests written to kill specific wrong-method mutants of the linear probe (see scripts/mutate.py).

Mutants killed here, each of which left the earlier probe tests green:

* the standardiser fitted on train + validation rows (validation statistics leak into the fit);
* the final refit on the whole training split skipped after choosing ``l2`` on held-out rows
  (the reported probe was then fitted on 90% of train).
"""

from __future__ import annotations

import torch

from selfsup.evaluation import LinearProbe, LinearProbeConfig, fit_logistic_regression

CPU = torch.device("cpu")


def _rows(seed: int, n: int, d: int, shift: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=generator)
    centres = torch.randn(3, d, generator=torch.Generator().manual_seed(99)) * 2
    x = centres[y] + torch.randn(n, d, generator=generator) * 3 + shift
    return x, y


def test_validation_rows_do_not_change_the_fit_for_a_fixed_l2(torch_single_thread) -> None:
    x_train, y_train = _rows(0, 200, 6)
    alone, _ = fit_logistic_regression(x_train, y_train, None, None, l2_grid=(1e-2,))
    for seed, shift in ((1, 0.0), (2, 50.0)):  # a second validation set, far from train
        x_val, y_val = _rows(seed, 80, 6, shift)
        model, l2 = fit_logistic_regression(x_train, y_train, x_val, y_val, l2_grid=(1e-2,))
        assert l2 == 1e-2
        assert torch.equal(model.standardizer.mean, alone.standardizer.mean)
        assert torch.equal(model.standardizer.std, alone.standardizer.std)
        assert torch.equal(model.weight, alone.weight) and torch.equal(model.bias, alone.bias)


def test_the_standardiser_uses_the_training_rows_only_when_choosing_l2(torch_single_thread) -> None:
    x_train, y_train = _rows(0, 200, 6)
    x_val, y_val = _rows(1, 80, 6, shift=50.0)
    model, l2 = fit_logistic_regression(x_train, y_train, x_val, y_val, l2_grid=(1e-3, 1e-1))
    assert torch.allclose(model.standardizer.mean, x_train.mean(0))
    assert torch.allclose(model.standardizer.std, x_train.std(0, correction=0))
    refit, _ = fit_logistic_regression(x_train, y_train, None, None, l2_grid=(l2,))
    assert torch.allclose(model.weight, refit.weight, atol=1e-4)


def test_held_out_selection_refits_on_the_whole_training_split(
    make_eval_source, identity_encoder, torch_single_thread
) -> None:
    """Memorisation: 300 random points in 400 dimensions with random labels, scored on the
    *training rows themselves*. Any linear fit with a small l2 separates the rows it saw
    (accuracy 1 on them) but is at chance on rows it did not see; so a probe fitted on the
    whole train split scores 1.0, and one fitted on the 90% left after holding out
    validation rows scores about 0.9 + 0.1 / 2 = 0.95."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(300, 400, generator=generator)
    y = torch.randint(0, 2, (300,), generator=generator)
    source = make_eval_source({"train": (x, y), "test": (x.clone(), y.clone())}, info={"num_classes": 2})
    probe = LinearProbe(LinearProbeConfig(l2_grid=(1e-4, 1e-3), val_fraction=0.1))
    result = probe.evaluate(identity_encoder(400), source, device=CPU, seed=0)
    assert result["accuracy"] == 1.0

"""The ``fine-tune`` evaluator: masked BCE, per-task ROC-AUC, and end-to-end training of an encoder copy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs, make_circles
from sklearn.metrics import roc_auc_score
from torch import nn

from selfsup.errors import ConfigError, DatasetError
from selfsup.evaluation import (
    FineTune,
    FineTuneConfig,
    LinearProbe,
    binary_task_roc_auc,
    masked_binary_cross_entropy,
)

pytestmark = pytest.mark.usefixtures("torch_single_thread")

CPU = torch.device("cpu")


class MLPEncoder(nn.Module):
    """A small trainable encoder over ``batch["x"]``."""

    def __init__(self, in_dim: int, embed_dim: int = 16, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.embed_dim = embed_dim
        self.net = nn.Sequential(nn.Linear(in_dim, 32), nn.Tanh(), nn.Linear(32, embed_dim))

    def forward(self, batch):
        return self.net(batch["x"].to(torch.float32))


def _t(a, dtype=torch.float32):
    return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype)


def _splits(x, y, sizes, label_dtype=torch.int64):
    out, start = {}, 0
    for name, size in sizes.items():
        out[name] = (_t(x[start : start + size]), _t(y[start : start + size], label_dtype))
        start += size
    return out


def test_masked_binary_cross_entropy_golden_value() -> None:
    logits = torch.tensor([[0.0, 2.0], [1.0, -3.0]])
    targets = torch.tensor([[1.0, 0.0], [0.0, float("nan")]])
    # Hand-computed: BCE(z, 1) = log(1 + e^-z), BCE(z, 0) = log(1 + e^z); the NaN entry is skipped.
    expected = (math.log(2.0) + math.log(1 + math.e**2) + math.log(1 + math.e)) / 3
    assert masked_binary_cross_entropy(logits, targets).item() == pytest.approx(expected, rel=1e-6)
    nothing = torch.full((2, 2), float("nan"))
    zero = masked_binary_cross_entropy(logits.requires_grad_(), nothing)
    assert zero.item() == 0.0
    zero.backward()  # a gradient path exists even when nothing is labelled


def test_binary_task_roc_auc_matches_sklearn_and_skips_one_class_tasks() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(50, 3)).astype(np.float32)
    y[rng.random((50, 3)) < 0.2] = np.nan
    y[:, 2] = np.where(np.isnan(y[:, 2]), np.nan, 1.0)  # one class only: not scored
    scores = rng.normal(size=(50, 3)) + np.nan_to_num(y)
    auc, tasks = binary_task_roc_auc(torch.tensor(y), torch.tensor(scores))
    expected = [roc_auc_score(y[~np.isnan(y[:, t]), t], scores[~np.isnan(y[:, t]), t]) for t in range(2)]
    assert tasks == 2
    assert auc == pytest.approx(float(np.mean(expected)), abs=1e-9)


def test_fine_tuning_beats_the_frozen_probe_and_leaves_the_encoder_alone(make_eval_source) -> None:
    x, y = make_circles(700, noise=0.08, factor=0.4, random_state=0)
    source = make_eval_source(_splits(x, y, {"train": 400, "val": 100, "test": 200}), info={"num_classes": 2})
    encoder = MLPEncoder(2, embed_dim=2, seed=1)  # two random features: circles are not separable in them
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    rng_state = torch.get_rng_state()

    tuned = FineTune(FineTuneConfig(epochs=30, lr=3e-3, head_lr=1e-2)).evaluate(encoder, source, device=CPU, seed=0)
    frozen = LinearProbe().evaluate(encoder, source, device=CPU, seed=0)

    assert torch.equal(torch.get_rng_state(), rng_state), "the global RNG must not move"
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items()), "the encoder must be untouched"
    assert tuned["accuracy"] >= 0.95
    assert tuned["accuracy"] > frozen["accuracy"] + 0.1
    assert 1 <= tuned["best_epoch"] <= 30
    again = FineTune(FineTuneConfig(epochs=30, lr=3e-3, head_lr=1e-2)).evaluate(encoder, source, device=CPU, seed=0)
    assert again == tuned, "same seed, same numbers"


def test_binary_multitask_with_missing_labels_reports_roc_auc(make_eval_source) -> None:
    x, centre = make_blobs(500, n_features=6, centers=4, cluster_std=1.5, random_state=3)
    y = np.stack([(centre % 2 == 0), (centre >= 2)], axis=1).astype(np.float32)
    y[np.random.default_rng(0).random(y.shape) < 0.3] = np.nan  # missing labels are skipped
    source = make_eval_source(_splits(x, y, {"train": 300, "val": 100, "test": 100}, torch.float32))
    result = FineTune(FineTuneConfig(epochs=15, lr=3e-3)).evaluate(MLPEncoder(6), source, device=CPU, seed=0)
    assert set(result) == {"roc_auc", "tasks_scored", "best_epoch"}
    assert result["tasks_scored"] == 2.0
    assert result["roc_auc"] > 0.95


@pytest.mark.parametrize("layout", ["full_batch", "no_val_split"])
def test_full_batch_sources_and_sources_without_val(make_eval_source, layout) -> None:
    x, y = make_blobs(300, n_features=4, centers=3, cluster_std=1.0, random_state=0)
    sizes = {"train": 200, "test": 100} if layout == "no_val_split" else {"train": 150, "val": 50, "test": 100}
    source = make_eval_source(
        _splits(x, y, sizes), info={"num_classes": 3}, full_batch=layout == "full_batch"
    )
    result = FineTune(FineTuneConfig(epochs=40, lr=1e-2, head_lr=1e-2)).evaluate(
        MLPEncoder(4), source, device=CPU, seed=0
    )
    assert result["accuracy"] > 0.9


def test_bad_labels_and_settings_are_named(make_eval_source) -> None:
    x, y = make_blobs(60, n_features=3, centers=3, random_state=0)
    unlabelled = make_eval_source({"train": (_t(x[:40]), None), "test": (_t(x[40:]), None)}, name="toy-ul")
    with pytest.raises(DatasetError, match=r"fine-tune needs labels.*'train'.*toy-ul"):
        FineTune().evaluate(MLPEncoder(3), unlabelled, device=CPU, seed=0)
    undeclared = make_eval_source(_splits(x, y, {"train": 40, "val": 10, "test": 10}), name="toy-nc")
    with pytest.raises(DatasetError, match=r"toy-nc does not declare info\['num_classes'\]"):
        FineTune().evaluate(MLPEncoder(3), undeclared, device=CPU, seed=0)
    as_binary = make_eval_source(_splits(x, y, {"train": 40, "val": 10, "test": 10}), info={"num_classes": 3})
    with pytest.raises(DatasetError, match=r"task='binary' needs 0/1 targets"):
        FineTune(FineTuneConfig(task="binary", epochs=1)).evaluate(MLPEncoder(3), as_binary, device=CPU, seed=0)
    with pytest.raises(ConfigError, match=r"fine-tune: task must be one of .*Use task='auto'"):
        FineTuneConfig(task="multiclass")
    with pytest.raises(ConfigError, match=r"fine-tune: lr must be a number > 0"):
        FineTuneConfig(lr=0)

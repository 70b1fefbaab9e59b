"""SCGC's official evaluation (``assign=argmax-q``): argmax Q before each update, best epoch per metric.

The reference numbers are computed here independently of :mod:`selfsup_graph.assignment`:
Q by the Student-t formula in float64 NumPy, ACC by trying every cluster-to-class
permutation, NMI and ARI by scikit-learn (which ``gayanku/SCGC:evaluation.py`` calls).
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score

from selfsup import pretrain
from selfsup.errors import ConfigError
from selfsup_graph.assignment import best_per_metric, score_assignment
from selfsup_graph.configs import NodeMLPConfig, SBMConfig, SCGCStarConfig
from selfsup_graph.datasets.sbm import StochasticBlockModel
from selfsup_graph.encoders.mlp import NodeMLP
from selfsup_graph.objectives.scgc import SCGCStar


def _official_eva(y: np.ndarray, z: np.ndarray, centers: np.ndarray) -> dict[str, float]:
    """``train.py``'s ``tmp_q.argmax(1)`` and ``eva`` with a brute-force matching (K ≤ 4 here)."""
    d2 = ((z[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    q = 1.0 / (1.0 + d2)
    q = q / q.sum(1, keepdims=True)
    pred = q.argmax(1)
    k = centers.shape[0]
    best_acc, best_map = -1.0, None
    for perm in itertools.permutations(range(k)):
        mapped = np.array([perm[c] for c in pred])
        acc = float((mapped == y).mean())
        if acc > best_acc:
            best_acc, best_map = acc, mapped
    return {
        "q_acc": best_acc,
        "q_nmi": normalized_mutual_info_score(y, pred, average_method="arithmetic"),
        "q_ari": adjusted_rand_score(y, pred),
        "q_macro_f1": f1_score(y, best_map, average="macro"),
    }


def test_score_assignment_golden_values() -> None:
    # clusters 1 -> class 0 (2 right), 0 -> class 1 (2 of 3 right), 2 -> class 2 (1 right): ACC 5/6
    scores = score_assignment([0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 0, 2])
    assert scores["q_acc"] == pytest.approx(5 / 6)
    # per-class F1 after matching: class 0: 1, class 1: P 2/3 R 1 -> 0.8, class 2: P 1 R 1/2 -> 2/3
    assert scores["q_macro_f1"] == pytest.approx((1 + 0.8 + 2 / 3) / 3)
    assert score_assignment([0, 0, 1, 1], [1, 1, 0, 0]) == pytest.approx({"q_acc": 1.0, "q_nmi": 1.0, "q_ari": 1.0, "q_macro_f1": 1.0})


def test_best_per_metric_takes_each_metric_at_its_own_best_step() -> None:
    lines = [
        {"step": 1, "loss/pretrain": 0.3},
        {"step": 2, "q_acc": 0.5, "q_nmi": 0.3, "q_ari": 0.1, "q_macro_f1": 0.4},
        {"step": 3, "q_acc": 0.7, "q_nmi": 0.1, "q_ari": 0.2, "q_macro_f1": 0.4},
        {"step": 4, "q_acc": 0.6, "q_nmi": 0.4, "q_ari": 0.0, "q_macro_f1": 0.3},
    ]
    report = best_per_metric(lines)
    assert report["best"] == {"q_acc": 0.7, "q_nmi": 0.4, "q_ari": 0.2, "q_macro_f1": 0.4}
    assert report["best_step"] == {"q_acc": 3, "q_nmi": 4, "q_ari": 3, "q_macro_f1": 2}  # first step at the max
    assert report["final"] == {"q_acc": 0.6, "q_nmi": 0.4, "q_ari": 0.0, "q_macro_f1": 0.3}
    assert best_per_metric([{"step": 1, "loss": 1.0}]) == {}


def test_argmax_q_is_scored_before_each_update_as_the_official_loop(one_thread) -> None:
    """Step t logs the argmax of Q under the weights and centres *before* its own update (epoch
    0 scores the k-means centres), over every node, with ``eva``'s four metrics."""
    data = StochasticBlockModel(SBMConfig(num_nodes=60, num_features=12, num_classes=3))
    torch.manual_seed(0)
    encoder = NodeMLP(NodeMLPConfig(hidden_dims=[16], embed_dim=4), data.info)
    config = SCGCStarConfig(pretrain_steps=0, decoder_dims=[8], kmeans_n_init=2, assign="argmax-q")
    objective = SCGCStar(config, encoder, data.info)
    batch = data.split("train")[0]
    y = batch["label"].numpy()
    optimizer = torch.optim.Adam(objective.parameters(), lr=5e-2)
    for step in (1, 2, 3):
        out = objective.training_step(batch, step=step, phase="main")
        with torch.no_grad():  # the state the step scored: centres set by k-means at step 1, no update yet
            expected = _official_eva(y, objective.encoder(batch).double().numpy(), objective.centers.double().numpy())
        for key, value in expected.items():
            assert float(out[key]) == pytest.approx(value, abs=1e-6), (step, key)  # logged as float32
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
    # the labels never enter the loss: the same step without scoring gives the same gradient
    plain = SCGCStar(SCGCStarConfig(pretrain_steps=0, decoder_dims=[8]), NodeMLP(NodeMLPConfig(hidden_dims=[16], embed_dim=4), data.info), data.info)
    plain.load_state_dict(objective.state_dict())
    relabelled = dict(batch, label=torch.zeros_like(batch["label"]))
    assert torch.equal(plain.training_step(batch, step=4, phase="main")["loss"], objective.training_step(relabelled, step=4, phase="main")["loss"])


def test_assign_is_checked_before_training() -> None:
    data = StochasticBlockModel(SBMConfig(num_nodes=30, num_features=8))
    encoder = NodeMLP(NodeMLPConfig(hidden_dims=[8], embed_dim=4), data.info)
    with pytest.raises(ConfigError, match=r"assign='argmax_q'.*argmax-q"):
        SCGCStar(SCGCStarConfig(assign="argmax_q"), encoder, data.info)
    with pytest.raises(ConfigError, match="no num_classes"):
        SCGCStar(SCGCStarConfig(assign="argmax-q", num_clusters=3), encoder, {**data.info, "num_classes": None})


def test_argmax_q_run_logs_the_official_metrics_on_main_steps_only(tmp_path, one_thread) -> None:
    result = pretrain(
        modality="graph", objective="scgc-star", dataset="sbm", run_dir=tmp_path / "run", seed=0,
        data={"num_nodes": 90, "num_features": 16},
        config={"trainer": {"max_steps": 8, "eval_every": 0, "progress": "off"},
                "objective_config": {"pretrain_steps": 3, "pretrain_batch_size": 32, "kmeans_n_init": 2, "assign": "argmax-q"}},
    )
    lines = [json.loads(text) for text in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines if "q_acc" in line] == [4, 5, 6, 7, 8]
    report = best_per_metric(lines)
    assert report["best"]["q_acc"] == max(line["q_acc"] for line in lines if "q_acc" in line)
    assert report == best_per_metric(result.history)

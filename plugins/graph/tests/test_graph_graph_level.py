"""The core engine serves graph-level data (batches of graphs) as it serves one full-batch graph.

The core's evaluators read pooled graph embeddings from a ``GraphSetSource``
(linear probe on MUTAG, fine-tuning with masked ROC-AUC on BBBP), and
``pretrain`` runs a graph-level objective on MUTAG end to end.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch

from selfsup import evaluate, pretrain
from selfsup.errors import UnknownComponentError
from selfsup.registry import get_registry
from selfsup.testing.contracts import _config

pytestmark = pytest.mark.usefixtures("one_thread")

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("SELFSUP_DATA", REPO.parent / "shared" / "data"))
MUTAG = DATA / "mutag"
BBBP = DATA / "bbbp"
needs_mutag = pytest.mark.skipif(not (MUTAG / "MUTAG_A.txt").is_file(), reason="MUTAG files not found (set SELFSUP_DATA)")
SMALL_GIN = {"num_layers": 3, "hidden_dim": 32}


def _build(kind: str, name: str, config: dict, *args: object):
    registry = get_registry()
    spec = registry.get(kind, name, modality="graph") if kind in ("dataset", "encoder") else registry.get(kind, name)
    return spec.resolve_factory()(_config(spec, config), *args)


@needs_mutag
def test_linear_probe_and_knn_read_pooled_embeddings_of_mutag() -> None:
    data = _build("dataset", "mutag", {"root": str(MUTAG)})
    torch.manual_seed(0)
    encoder = _build("encoder", "gin", SMALL_GIN, data.info)
    probe = _build("evaluator", "linear-probe", {}).evaluate(encoder, data, device=torch.device("cpu"), seed=0)
    knn = _build("evaluator", "knn", {}).evaluate(encoder, data, device=torch.device("cpu"), seed=0)
    # 18 stratified test graphs, 12 of the majority class: a random-init GIN's pooled embedding separates more
    assert probe["accuracy"] >= 0.8 and knn["accuracy"] > 12 / 18, (probe, knn)


@pytest.mark.skipif(not (BBBP / "bbbp.csv").is_file(), reason="BBBP not found (set SELFSUP_DATA)")
def test_fine_tune_scores_bbbp_scaffold_test_split_by_roc_auc() -> None:
    data = _build("dataset", "bbbp", {"root": str(BBBP)})
    torch.manual_seed(0)
    encoder = _build("encoder", "gin", {"num_layers": 2, "hidden_dim": 32}, data.info)
    before = {name: p.clone() for name, p in encoder.state_dict().items()}
    result = _build("evaluator", "fine-tune", {"epochs": 2, "batch_size": 64}).evaluate(encoder, data, device=torch.device("cpu"), seed=0)
    assert result["tasks_scored"] == 1.0 and 0.55 < result["roc_auc"] <= 1.0, result
    assert all(torch.equal(before[name], p) for name, p in encoder.state_dict().items())  # the caller's encoder is untouched


def _graph_objective() -> str:
    try:
        get_registry().get("objective", "d-sla")
    except UnknownComponentError:
        pytest.skip("no graph-level objective (d-sla) is registered yet")
    return "d-sla"


@needs_mutag
def test_pretrain_on_mutag_reports_linear_probe_beside_random_init(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = pretrain(
        modality="graph",
        objective=_graph_objective(),
        encoder="gin",
        dataset="mutag",
        evaluators=["linear-probe"],
        run_dir=run_dir,
        seed=0,
        data={"root": str(MUTAG)},
        encoder_config=SMALL_GIN,
        trainer={"max_steps": 6, "batch_size": 32, "progress": "off", "log_every": 3, "lr": 1e-3},
    )
    assert [line["step"] for line in result.history] == [1, 2, 3, 4, 5, 6]  # 6 mini-batches of 32 graphs
    assert all(math.isfinite(line["loss"]) for line in result.history)
    # The test split has 18 graphs, 12 of the majority class (0.667): a constant predictor scores
    # 0.667. Measured at this budget (seeds 0/1/2): linear probe pretrained 0.833/0.889/0.778,
    # random init 0.889 each; k-NN pretrained 0.722/0.778/0.889, random init 0.778/0.944/0.833.
    # Six steps do not make D-SLA beat its random-init twin (the benchmark's longer runs are in
    # benchmarks/graph.md); what is asserted is that both encoders' features beat the majority
    # class by two test graphs (0.111, twice the pretrained probe's seed-to-seed sd of 0.056).
    majority = 12 / 18
    for metrics in (result.metrics, result.random_init_metrics):
        assert metrics["linear-probe/accuracy"] >= majority + 2 / 18 - 1e-9, metrics
    info = json.loads((run_dir / "data_info.json").read_text())
    assert info["level"] == "graph" and info["num_graphs"] == 188
    # a finished graph-level run is evaluated again from its saved encoder and data_info.json
    again = evaluate(run_dir, evaluators=["knn"], write=False)
    assert set(again) == {"knn"} and again["knn"]["dataset"] == "mutag"
    assert again["knn"]["pretrained"]["accuracy"] > majority and again["knn"]["random_init"]["accuracy"] > majority

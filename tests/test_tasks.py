"""Tasks on data: declarations, task-aware defaults, rejection before training, failing
evaluators recorded, widening grids, folds and the results table (core, on the toy plugin)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from selfsup import pretrain
from selfsup.errors import DatasetError, EvaluatorTaskError, RegistrationError
from selfsup.evaluation import FineTune, FineTuneConfig, LinearProbe, LinearProbeConfig, RegressionProbe
from selfsup.evaluation.grids import widen_grid
from selfsup.evaluation.table import format_results
from selfsup.folds import check_fold, kfold_split
from selfsup.hookspecs import hookimpl
from selfsup.interfaces import DataSource, Evaluator
from selfsup.specs import DatasetSpec, EvaluatorSpec
from selfsup.tasks import LabelTask, check_evaluators, declare_task, default_evaluators, label_task, supports_task

CPU = torch.device("cpu")


# --------------------------------------------------------------------------- declarations


def test_declare_task_records_the_label_and_two_classes_are_binary() -> None:
    info: dict = {}
    assert declare_task(info, "multiclass", num_classes=2).type == "binary"
    assert info["label_tasks"] == {"label": {"type": "binary", "num_classes": 2}}
    declare_task(info, "regression", num_targets=3)
    assert label_task(info) == LabelTask("regression", num_targets=3)
    declare_task(info, "multiclass", num_classes=20, level="point")
    assert label_task(info) == LabelTask("multiclass", num_classes=20, level="point")
    with pytest.raises(Exception, match="not one of"):
        declare_task(info, "ranking")


def test_legacy_task_strings_are_read_as_declarations_and_silence_is_undeclared() -> None:
    assert label_task({"task": "classification", "num_classes": 2}).type == "binary"
    assert label_task({"task": "classification", "num_classes": 7}) == LabelTask("multiclass", num_classes=7)
    assert label_task({"task": "multitask-binary", "num_tasks": 12}) == LabelTask("multilabel", num_targets=12)
    assert label_task({"task": "unlabelled"}).type == "none"
    assert label_task({"task": "regression"}).type == "regression"
    assert label_task({"num_classes": 3}) is None  # nothing declared: nobody checks, nothing is guessed
    assert label_task({"task": "node-clustering"}) is None


def test_evaluator_specs_declare_tasks_and_reject_unknown_ones() -> None:
    spec = EvaluatorSpec(name="e", factory="x:y", tasks=("regression",))
    assert spec.tasks == frozenset({"regression"})
    with pytest.raises(RegistrationError, match="tasks=\\['ranking'\\]"):
        EvaluatorSpec(name="e", factory="x:y", tasks=frozenset({"ranking"}))
    assert supports_task(spec, LabelTask("regression"))
    assert not supports_task(spec, LabelTask("binary", num_classes=2))
    assert supports_task(spec, None)  # undeclared data: not checked
    any_task = EvaluatorSpec(name="f", factory="x:y")
    assert supports_task(any_task, LabelTask("none"))
    # a row-level probe cannot read per-point labels; a point-level one can
    points = LabelTask("multiclass", num_classes=5, level="point")
    assert not supports_task(EvaluatorSpec(name="g", factory="x:y", tasks=frozenset({"multiclass"})), points)
    assert supports_task(EvaluatorSpec(name="h", factory="x:y", tasks=frozenset({"multiclass"}), label_level="point"), points)


def test_core_evaluators_declare_what_they_score() -> None:
    from selfsup.registry import get_registry

    registry = get_registry()
    tasks = {name: registry.get("evaluator", name).tasks for name in ("linear-probe", "knn", "regression-probe", "fine-tune", "embedding-stats")}
    assert tasks["regression-probe"] == frozenset({"regression"})
    assert "regression" not in tasks["linear-probe"] and "multilabel" in tasks["linear-probe"]
    assert "regression" in tasks["fine-tune"] and "none" not in tasks["fine-tune"]
    assert tasks["embedding-stats"] is None


def test_check_evaluators_names_the_evaluator_to_use() -> None:
    from selfsup.registry import get_registry

    registry = get_registry()
    specs = [registry.get("evaluator", "knn"), registry.get("evaluator", "linear-probe")]
    info = {"label_tasks": {"label": {"type": "regression", "num_targets": 1}}}
    with pytest.raises(EvaluatorTaskError, match="Evaluator 'knn' cannot score dataset 'house'.*regression.*evaluators=\\[regression-probe\\]"):
        check_evaluators(specs, info, dataset="house", suggest=["regression-probe"])
    check_evaluators(specs, {"label_tasks": {"label": {"type": "multiclass", "num_classes": 3}}}, dataset="x")


# --------------------------------------------------------------------------- a plugin with task-declaring data


@dataclass
class LinesConfig:
    task: str = "regression"
    rows: int = 200


class _Rows(torch.utils.data.Dataset):
    def __init__(self, x: torch.Tensor, y: torch.Tensor | None) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i]} | ({"label": self.y[i]} if self.y is not None else {})


class Lines(DataSource):
    """8 features; a linear regression target, or no labels (``task=none``)."""

    def __init__(self, config: LinesConfig) -> None:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(config.rows, 8, generator=g)
        y = x @ torch.linspace(-1, 1, 8) + 0.05 * torch.randn(config.rows, generator=g)
        cut = int(0.8 * config.rows)
        labelled = config.task != "none"
        self._splits = {"train": _Rows(x[:cut], y[:cut] if labelled else None), "test": _Rows(x[cut:], y[cut:] if labelled else None)}
        self.splits = ("train", "test")
        self.info = {"num_features": 8}
        declare_task(self.info, config.task)

    def split(self, name: str) -> torch.utils.data.Dataset:
        return self._splits[name]


class Broken(Evaluator):
    def evaluate(self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        raise RuntimeError("CUDA out of memory (simulated)")


class TaskPlugin:
    @hookimpl
    def register_datasets(self):
        return [DatasetSpec(name="lines", modality="toy", factory=Lines, config_cls=LinesConfig)]

    @hookimpl
    def register_evaluators(self):
        return [EvaluatorSpec(name="broken", factory=Broken)]


@pytest.fixture
def tasks_plugin(toy, register_plugin):
    register_plugin(TaskPlugin(), name="tasks-test")


def test_default_evaluators_follow_the_declared_task(tasks_plugin, tmp_path) -> None:
    result = pretrain(modality="toy", dataset="lines", run_dir=tmp_path / "reg", trainer={"max_steps": 3})
    assert set(result.metrics) == {"regression-probe/r2", "regression-probe/rmse", "regression-probe/mae",
                                   "regression-probe/alpha", "regression-probe/alpha_at_edge"}
    saved = (tmp_path / "reg" / "config.yaml").read_text()
    assert "regression-probe" in saved and "linear-probe" not in saved  # the run records what it ran
    unlabelled = pretrain(modality="toy", dataset="lines", data={"task": "none"}, run_dir=tmp_path / "none",
                          trainer={"max_steps": 3})
    assert set(unlabelled.metrics) == {"embedding-stats/embedding_std", "embedding-stats/effective_rank", "embedding-stats/rankme"}


def test_an_evaluator_that_cannot_score_the_task_is_rejected_before_training(tasks_plugin, tmp_path) -> None:
    with pytest.raises(EvaluatorTaskError, match="'linear-probe' cannot score dataset 'lines'.*evaluators=\\[regression-probe\\]"):
        pretrain(modality="toy", dataset="lines", evaluators=["linear-probe"], run_dir=tmp_path / "r", trainer={"max_steps": 3})
    run_dir = tmp_path / "r"  # nothing trained, no config.yaml left: the same run_dir works with the fix
    assert not (run_dir / "config.yaml").exists() and not (run_dir / "log.jsonl").exists()
    fixed = pretrain(modality="toy", dataset="lines", evaluators=["regression-probe"], run_dir=tmp_path / "r", trainer={"max_steps": 3})
    assert fixed.metrics["regression-probe/rmse"] > 0.0 and (tmp_path / "r" / "metrics.json").exists()


def test_a_failing_evaluator_is_recorded_and_the_others_still_report(tasks_plugin, tmp_path) -> None:
    result = pretrain(modality="toy", evaluators=["broken", "linear-probe"], run_dir=tmp_path / "r", trainer={"max_steps": 3})
    payload = json.loads((tmp_path / "r" / "metrics.json").read_text())
    broken = payload["evaluations"]["broken"]
    assert broken["errors"] == {"pretrained": "RuntimeError: CUDA out of memory (simulated)",
                                "random_init": "RuntimeError: CUDA out of memory (simulated)"}
    assert broken["pretrained"] == {} and "broken" in result.evaluator_errors
    assert result.metrics["linear-probe/accuracy"] > 0.5
    assert (tmp_path / "r" / "encoder.safetensors").exists()
    table = format_results(payload["evaluations"])
    assert "failed evaluators" in table and "broken (pretrained): RuntimeError: CUDA out of memory" in table


# --------------------------------------------------------------------------- evaluators follow the task


def _source(make_eval_source, x, y, info, cut=300):
    return make_eval_source({"train": (x[:cut], y[:cut]), "test": (x[cut:], y[cut:])}, info=info)


def test_linear_probe_scores_multitask_labels_with_missing_entries_by_masked_roc_auc(make_eval_source, identity_encoder) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 6, generator=g)
    y = torch.stack([(x[:, 0] > 0).float(), (x[:, 1] + 0.3 * x[:, 2] > 0).float(), torch.ones(400)], dim=1)
    y[torch.rand(400, 3, generator=g) < 0.3] = float("nan")  # 30 % missing
    info = {}
    declare_task(info, "multilabel", num_targets=3)
    result = LinearProbe(LinearProbeConfig(l2_grid=[1e-3, 1e-1])).evaluate(identity_encoder(6), _source(make_eval_source, x, y, info), device=CPU, seed=0)
    assert result["tasks_scored"] == 2.0  # the one-class third task is not scored
    assert result["roc_auc"] > 0.95
    noise = LinearProbe().evaluate(identity_encoder(6), _source(make_eval_source, torch.randn(400, 6, generator=g), y, info), device=CPU, seed=0)
    assert noise["roc_auc"] < 0.7


def test_linear_probe_accepts_single_task_column_labels(make_eval_source, identity_encoder) -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(400, 4, generator=g)
    y = (x[:, :1] > 0).float()  # [N, 1] float 0/1, as docs/graph.md says single-task molecule labels are
    info = {}
    declare_task(info, "binary")
    result = LinearProbe().evaluate(identity_encoder(4), _source(make_eval_source, x, y, info), device=CPU, seed=0)
    assert result["accuracy"] > 0.95


def test_regression_probe_reports_mae_and_leaves_missing_targets_out(make_eval_source, identity_encoder) -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(400, 5, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.1 * torch.randn(400, generator=g)
    y[::7] = float("nan")
    result = RegressionProbe().evaluate(identity_encoder(5), _source(make_eval_source, x, y, {}), device=CPU, seed=0)
    assert result["r2"] > 0.99 and result["mae"] < result["rmse"] < 0.2
    assert 0.05 < result["mae"] < 0.12  # |N(0, 0.1)| has mean 0.08


def test_fine_tune_regresses_when_the_data_declares_regression(make_eval_source, identity_encoder) -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(400, 4, generator=g)
    y = 100.0 + 20.0 * (x @ torch.tensor([1.0, -1.0, 0.5, 0.25]))  # large offset and scale: targets are standardised
    info = {}
    declare_task(info, "regression")
    cfg = FineTuneConfig(epochs=60, head_lr=3e-2, lr=1e-3, batch_size=64, patience=60)
    result = FineTune(cfg).evaluate(identity_encoder(4), _source(make_eval_source, x, y, info), device=CPU, seed=0)
    assert set(result) == {"rmse", "mae", "r2", "best_epoch"}
    assert result["r2"] > 0.95 and result["rmse"] < 0.25 * float(y.std())
    declare_task(info, "none")
    with pytest.raises(DatasetError, match="embedding-stats"):
        FineTune(cfg).evaluate(identity_encoder(4), _source(make_eval_source, x, y, info), device=CPU, seed=0)


# --------------------------------------------------------------------------- grids


def test_grid_widens_until_the_choice_is_interior() -> None:
    def peaked(at: float):
        return lambda value: -abs(np.log10(value) - np.log10(at))

    best, at_edge, tried = widen_grid([1e-2, 1e-1, 1.0], peaked(1e-4), widen=5)
    assert best == pytest.approx(1e-4) and not at_edge and min(tried) == pytest.approx(1e-5)
    best, at_edge, _ = widen_grid([1e-2, 1e-1, 1.0], peaked(1e4), widen=2)
    assert best == pytest.approx(100.0) and at_edge  # still on the edge after two widenings: reported
    best, at_edge, tried = widen_grid([1e-2, 1e-1, 1.0], peaked(0.1), widen=5)
    assert best == pytest.approx(0.1) and not at_edge and len(tried) == 3
    assert widen_grid([0.5], peaked(1e-4), widen=5)[:2] == (0.5, False)


def test_linear_probe_widens_its_l2_grid(make_eval_source, identity_encoder) -> None:
    g = torch.Generator().manual_seed(4)
    x = torch.randn(300, 30, generator=g)
    y = (x[:, 0] + 2.0 * torch.randn(300, generator=g) > 0).long()  # noisy: a strong penalty wins
    source = make_eval_source({"train": (x[:200], y[:200]), "val": (x[200:250], y[200:250]), "test": (x[250:], y[250:])})
    narrow = LinearProbe(LinearProbeConfig(l2_grid=[1e-4, 1e-3], widen=0)).evaluate(identity_encoder(30), source, device=CPU, seed=0)
    wide = LinearProbe(LinearProbeConfig(l2_grid=[1e-4, 1e-3], widen=6)).evaluate(identity_encoder(30), source, device=CPU, seed=0)
    assert narrow["l2_at_edge"] == 1.0
    assert wide["l2"] > 1e-3


# --------------------------------------------------------------------------- folds


def test_kfold_split_partitions_rows_and_stratifies() -> None:
    strata = torch.tensor([0] * 31 + [1] * 13)
    tests = []
    for fold in range(5):
        train, test = kfold_split(44, 5, fold, seed=3, strata=strata)
        assert sorted(train + test) == list(range(44)) and not set(train) & set(test)
        counts = torch.bincount(strata[test], minlength=2).tolist()
        assert counts[0] in (6, 7) and counts[1] in (2, 3)
        tests.append(set(test))
    assert set().union(*tests) == set(range(44)) and sum(len(t) for t in tests) == 44
    sizes = [len(t) for t in tests]
    assert max(sizes) - min(sizes) <= 1  # the second class continues where the first stopped
    assert kfold_split(44, 5, 2, seed=3, strata=strata) == kfold_split(44, 5, 2, seed=3, strata=strata)
    assert kfold_split(44, 5, 2, seed=4)[1] != kfold_split(44, 5, 2, seed=3)[1]
    with pytest.raises(Exception, match="data.fold=5 is not a fold of data.folds=5"):
        check_fold(5, 5, dataset="d", rows=42)
    with pytest.raises(Exception, match="data.folds=1 must be an integer >= 2"):
        check_fold(1, 0, dataset="d", rows=42)


def test_default_evaluators_keep_modality_defaults_that_fit() -> None:
    from selfsup.registry import get_registry
    from selfsup.specs import ModalitySpec

    registry = get_registry()
    modality = ModalitySpec(name="m", default_encoder="e", default_objective="o", default_dataset="d",
                            default_evaluators=("linear-probe", "knn", "embedding-stats"))
    assert default_evaluators(modality, LabelTask("multiclass", num_classes=3), registry) == ["linear-probe", "knn", "embedding-stats"]
    assert default_evaluators(modality, LabelTask("regression"), registry) == ["embedding-stats", "regression-probe"]
    assert default_evaluators(modality, LabelTask("multilabel", num_targets=4), registry) == ["linear-probe", "embedding-stats"]
    assert default_evaluators(modality, None, registry) == ["linear-probe", "knn", "embedding-stats"]
    # a modality may name its own evaluators for a task
    chosen = ModalitySpec(name="m", default_encoder="e", default_objective="o", default_dataset="d",
                          task_evaluators={"regression": ("fine-tune", "regression-probe")})
    assert default_evaluators(chosen, LabelTask("regression"), registry) == ["fine-tune", "regression-probe"]
    assert default_evaluators(chosen, LabelTask("multiclass", num_classes=3), registry) == ["linear-probe", "knn"]


# --------------------------------------------------------------------------- the table


def test_results_table_separates_hyperparameters_marks_direction_and_explains() -> None:
    results = {
        "regression-probe": {
            "pretrained": {"r2": 0.9, "rmse": 1.5, "alpha": 10.0},
            "random_init": {"r2": 0.5, "rmse": 3.0, "alpha": 100.0},
            "raw_features": {"r2": 0.7, "rmse": 2.0, "alpha": 1.0},
            "hyperparameters": ["alpha"],
            "lower_is_better": ["rmse"],
            "std": {"pretrained": {"r2": 0.05}},
            "cv": {"folds": 10},
        },
        "fd-local": {"pretrained": {"fd_local": 50.0}, "random_init": {"fd_local": 1000.0},
                     "lower_is_better": ["fd_local"], "notes": {"fd_local": "lower is better; untrained generator"}},
    }
    table = format_results(results)
    lines = {line.split()[0]: line.split() for line in table.splitlines() if line and line.split()[0].count("/") == 1}
    assert lines["regression-probe/r2"][1:] == ["higher", "0.9000", "±", "0.0500", "0.5000", "0.7000", "+0.4000"]
    assert lines["regression-probe/rmse"][1:] == ["lower", "1.5000", "3.0000", "2.0000", "-1.5000"]
    assert lines["regression-probe/alpha"][1:] == ["10.0000", "100.0000", "1.0000"]  # no direction, no delta
    assert lines["fd-local/fd_local"][1] == "lower"
    assert table.index("regression-probe/alpha") > table.index("chosen hyper-parameters")
    assert "fd-local/fd_local: lower is better; untrained generator" in table
    assert "mean ± std over 10 folds" in table
    # a declared direction counts for any name, and well-known names need no declaration
    other = format_results({
        "probe": {"pretrained": {"distortion": 1.0, "rmse": 2.0, "alpha": 1.0}, "random_init": {"distortion": 2.0, "rmse": 3.0, "alpha": 1.0},
                  "lower_is_better": ["distortion"]},
    })
    rows = {line.split()[0]: line.split() for line in other.splitlines() if line.startswith("probe/")}
    assert rows["probe/distortion"][1] == "lower" and rows["probe/rmse"][1] == "lower"
    assert len(rows["probe/alpha"]) == 3  # a hyper-parameter by name: no direction, no delta


def test_cv_needs_a_dataset_with_folds(toy, tmp_path) -> None:
    from selfsup.cli import main
    from selfsup.cv import aggregate_folds, cross_validate

    pretrain(modality="toy", evaluators=["linear-probe"], run_dir=tmp_path / "r", trainer={"max_steps": 2})
    with pytest.raises(Exception, match="Dataset 'blobs' has no data.folds/data.fold protocol"):
        cross_validate(tmp_path / "r", 3)
    assert main(["evaluate", f"run_dir={tmp_path / 'r'}", "cv=1"]) == 2  # one line, no traceback
    folds = [{"p": {"pretrained": {"acc": a}, "random_init": {"acc": 0.5}}} for a in (0.6, 0.8, 1.0)]
    merged = aggregate_folds(folds)["p"]
    assert merged["pretrained"]["acc"] == pytest.approx(0.8) and merged["std"]["pretrained"]["acc"] == pytest.approx(np.std([0.6, 0.8, 1.0]))
    assert merged["std"]["random_init"]["acc"] == 0.0 and merged["cv"]["folds"] == 3


def test_selfsup_info_lists_the_tasks_an_evaluator_scores(capsys) -> None:
    from selfsup.cli import main

    assert main(["info", "regression-probe"]) == 0
    assert "  tasks: regression\n" in capsys.readouterr().out
    assert main(["info", "embedding-stats"]) == 0
    assert "  tasks: any (labels not needed)\n" in capsys.readouterr().out


# --------------------------------------------------------------------------- --print-config follows the task


def test_print_config_shows_the_evaluators_the_task_chooses(tasks_plugin, capsys) -> None:
    from selfsup.cli import main

    assert main(["pretrain", "--print-config", "modality=toy", "dataset=lines"]) == 0
    out = capsys.readouterr()
    printed = OmegaConf.create(out.out)
    assert list(printed.evaluators) == ["regression-probe"] and "regression-probe" in printed.evaluator_config
    assert out.err == ""
    assert main(["pretrain", "--print-config", "modality=toy", "dataset=lines", "data.task=none"]) == 0
    assert list(OmegaConf.create(capsys.readouterr().out).evaluators) == ["embedding-stats"]
    # Named evaluators that cannot score the task: the error pretrain gives before training.
    assert main(["pretrain", "--print-config", "modality=toy", "dataset=lines", "evaluators=[linear-probe]"]) == 2
    assert "'linear-probe' cannot score dataset 'lines'" in capsys.readouterr().err


def test_print_config_without_buildable_data_says_its_evaluators_are_the_defaults(tasks_plugin, register_plugin, capsys) -> None:
    from selfsup.cli import main

    class NoData:
        @hookimpl
        def register_datasets(self):
            return [DatasetSpec(name="absent", modality="toy", factory=_absent, config_cls=LinesConfig)]

    register_plugin(NoData(), name="no-data")
    assert main(["pretrain", "--print-config", "modality=toy", "dataset=absent"]) == 0
    out = capsys.readouterr()
    assert list(OmegaConf.create(out.out).evaluators) == ["linear-probe"]  # the toy modality's defaults
    assert "the data could not be built (DatasetError: no files under 'nowhere'. Give data.root=<folder>.)" in out.err
    assert "before the data's task is known" in out.err


def _absent(config: LinesConfig) -> DataSource:
    raise DatasetError("no files under 'nowhere'. Give data.root=<folder>.")

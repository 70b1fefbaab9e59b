"""What a run leaves in its folder besides checkpoints: metrics.json and the results table (plots: ``plots.py``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .config import ResolvedRun, to_container
from .engine.trainer import EVAL_LOG_FILE
from .errors import ConfigError, did_you_mean
from .safe_files import read_json

__all__ = ["read_metrics", "write_metrics", "summarize_during_training", "selected_metric", "format_table", "METRICS_FILE"]

METRICS_FILE = "metrics.json"


def selected_metric(trainer: Any, evaluation: dict[str, float]) -> str:
    """The ``"evaluator/metric"`` that picks the best evaluation during training."""
    metric_names = [key for key in evaluation if key != "step"]
    select = trainer.eval_select or metric_names[0]
    if select not in metric_names:
        raise ConfigError(
            f"trainer.eval_select={select!r} is not a metric of the evaluations during training."
            f"{did_you_mean(select, metric_names)} Pick one of {metric_names}."
        )
    return str(select)


def summarize_during_training(
    trainer: Any, evaluations: list[dict[str, float]], errors: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The ``during_training`` entry of ``metrics.json``: the best and the final evaluation
    (every one is a line of ``eval_log.jsonl``) and, under ``errors``, the evaluators that
    failed during training (``{name: {"error": ..., "steps": [...]}}``).

    The best is the highest ``trainer.eval_select`` (default: the first metric reported), the
    way papers that report "best epoch" pick it; it is labelled as such, never mixed with the
    final encoder's numbers. Evaluations that lack the metric (its evaluator failed then) are
    not candidates; when no evaluation has it, there is no ``best``/``final``.
    """
    summary: dict[str, Any] = {"every": int(trainer.eval_every)}
    scored = [line for line in evaluations if len(line) > 1]
    if scored:
        select = selected_metric(trainer, {k: v for line in scored for k, v in line.items()})
        candidates = [line for line in scored if select in line]
        best = max(candidates, key=lambda line: line[select])
        final = evaluations[-1]
        summary.update(
            select=select,
            best={"step": int(best["step"]), "metrics": {k: v for k, v in best.items() if k != "step"}},
            final={"step": int(final["step"]), "metrics": {k: v for k, v in final.items() if k != "step"}},
        )
    if errors:
        summary["errors"] = {name: dict(entry) for name, entry in errors.items()}
    summary["log"] = EVAL_LOG_FILE
    return summary


def write_metrics(
    run_dir: Path,
    resolved: ResolvedRun,
    results: dict[str, dict[str, Any]],
    *,
    during_training: dict[str, Any] | None = None,
    data_info: dict[str, Any] | None = None,
    run_dataset: str | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Write ``metrics.json`` (results of other evaluators already there are kept); return flat ``{"evaluator/metric": value}`` for pretrained and random init.

    ``run_dataset``: the dataset the run pretrained on, when ``resolved`` scores another one."""
    cfg = resolved.config
    previous: dict[str, Any] = {}
    if (run_dir / METRICS_FILE).exists():  # evaluate() again: keep the other evaluators' results
        previous = read_metrics(run_dir)
    if during_training is None:
        during_training = previous.get("during_training")
    payload = {
        "run": {
            "modality": cfg.modality,
            "objective": cfg.objective,
            "encoder": cfg.encoder,
            "dataset": run_dataset or cfg.dataset,
            "seed": cfg.seed,
            "trainer": to_container(cfg.trainer),
        },
        "evaluations": {**previous.get("evaluations", {}), **results},
    }
    if cfg.get("resumes"):  # what each resume changed, at which step (selfsup.resume)
        payload["run"]["resumes"] = to_container(cfg.resumes)
    if during_training is not None:
        payload["during_training"] = during_training
    if data_info is not None and "skipped" in data_info:  # unreadable inputs the data source left out
        payload["run"]["skipped"] = int(data_info["skipped"])
    elif "skipped" in previous.get("run", {}):
        payload["run"]["skipped"] = previous["run"]["skipped"]
    tmp = run_dir / f".{METRICS_FILE}.tmp"
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, run_dir / METRICS_FILE)
    flat = {f"{name}/{k}": v for name, entry in results.items() for k, v in entry["pretrained"].items()}
    baseline = {f"{name}/{k}": v for name, entry in results.items() for k, v in entry["random_init"].items()}
    return flat, baseline


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """``run_dir/metrics.json`` as a dict; a :class:`~selfsup.errors.CheckpointError` naming it when invalid."""
    return read_json(run_dir / METRICS_FILE, fix="Move it away; selfsup evaluate run_dir=... writes a new one.")


def format_table(
    metrics: dict[str, float], baseline: dict[str, float], *, results: dict[str, dict[str, Any]] | None = None
) -> str:
    """The results table (:func:`selfsup.evaluation.table.format_results`).

    ``results`` is the ``evaluations`` mapping of ``metrics.json`` (what ``run_evaluators``
    returns): with it the table also has the raw-feature column, failed evaluators and notes.
    Without it, ``metrics``/``baseline`` (flat ``{"evaluator/metric": value}``) are shown.
    """
    from .evaluation.table import format_results

    if results is None:
        results = {}
        for column, flat in (("pretrained", metrics), ("random_init", baseline)):
            for key, value in flat.items():
                name, _, metric = key.rpartition("/")
                results.setdefault(name, {"pretrained": {}, "random_init": {}})[column][metric] = value
    return format_results(results)

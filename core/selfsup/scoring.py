"""Scoring encoders with a run's evaluators: :func:`run_evaluators` (each encoder, each
evaluator, failures recorded rather than raised) and :func:`evaluate` (a finished run's
encoder and its random-init twin, again, with changed evaluators or data)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import ResolvedRun, follow_task, load_user_config, to_container
from .encoder_check import check_encoder_output
from .engine.device import intra_op_threads, resolve_device, seed_everything
from .evaluation.during import error_text
from .evaluation.features import shared_features
from .interfaces import DataSource
from .progress import ProgressBar, ProgressSettings, use_progress
from .safe_files import check_output_paths, read_json
from .saved_run import DATA_INFO_FILE, build_encoder, load_encoder, resolve_saved_run
from .strategies import build_evaluator, check_strategies
from .tracking import evaluation_loggers

__all__ = ["evaluate", "jsonable", "run_evaluators"]


def run_evaluators(
    resolved: ResolvedRun, data: DataSource, encoders: Mapping[str, nn.Module], device: torch.device
) -> dict[str, dict[str, Any]]:
    """``{evaluator: {"settings": ..., "split": ..., "pretrained": {...}, "random_init": {...}, ...}}``.

    Each encoder in turn is scored by every evaluator, inside one
    :func:`~selfsup.evaluation.features.shared_features` block (each split is embedded once).
    A data source that provides raw input features (:class:`selfsup.tasks.RawFeatureSource`)
    adds a ``"raw_features"`` baseline, scored by the evaluators that use an encoder. An
    evaluator that fails records ``{"errors": {encoder: "ErrorType: message"}}`` and an empty
    score dict for that encoder; the others still report.
    """
    from .tasks import RawFeatureSource, label_task

    seed = int(resolved.config.seed)
    evaluators = [
        (spec.name, build_evaluator(resolved, spec)) for spec in resolved.evaluators
    ]
    task = label_task(data.info)
    results: dict[str, dict[str, Any]] = {
        spec.name: {
            "evaluator": spec.name,
            "provider": spec.provider,
            "settings": jsonable(evaluator.settings()),
            "split": getattr(evaluator, "split", "test"),
            "seed": seed,
            "dataset": resolved.dataset.name,
            "data": to_container(resolved.config.data),
            "task": task.to_info() if task is not None else None,
            "hyperparameters": list(getattr(evaluator, "hyperparameters", ())),
            "lower_is_better": list(getattr(evaluator, "lower_is_better", ())),
            **({"notes": dict(evaluator.notes)} if getattr(evaluator, "notes", None) else {}),
        }
        for spec, (_, evaluator) in zip(resolved.evaluators, evaluators, strict=True)
    }
    encoders = dict(encoders)
    if "raw_features" not in encoders and isinstance(data, RawFeatureSource):
        encoders["raw_features"] = data.raw_feature_encoder()
    encoder_free: dict[str, dict[str, float]] = {}  # evaluators that ignore the encoder run once
    bar = ProgressBar("evaluate", len(encoders) * len(evaluators), "evaluations")
    for label, encoder in encoders.items():
        encoder.to(device)
        with shared_features():
            for name, evaluator in evaluators:
                uses_encoder = getattr(evaluator, "uses_encoder", True)
                if label == "raw_features" and not uses_encoder:
                    bar.update(1)
                    continue  # the same number as the other columns
                bar.update(0, f"{name} on the {label.replace('_', '-')} encoder")
                if name in encoder_free:
                    results[name][label] = dict(encoder_free[name])
                    bar.update(1)
                    continue
                try:
                    scores = evaluator.evaluate(encoder, data, device=device, seed=seed)
                    results[name][label] = {key: float(value) for key, value in scores.items()}
                except Exception as exc:  # noqa: BLE001 - recorded; the other evaluators still report
                    results[name][label] = {}
                    results[name].setdefault("errors", {})[label] = error_text(exc)
                    _warn(f"evaluator '{name}' failed on the {label.replace('_', ' ')} encoder: {error_text(exc)}")
                    continue
                finally:
                    bar.update(1)
                if not uses_encoder:
                    encoder_free[name] = results[name][label]
        encoder.cpu()
    bar.close()
    return results


def evaluate(
    run_dir: str | Path,
    evaluators: Sequence[str] | None = None,
    *,
    plugins: Sequence[Any] = (),
    write: bool = True,
    **overrides: Any,
) -> dict[str, dict[str, Any]]:
    """Evaluate a finished run's encoder (and its random-init twin) again.

    ``evaluators`` replaces the run's list; ``overrides`` change config keys
    (e.g. ``data={"root": ...}``, ``evaluator_config={...}``). With ``write``,
    ``metrics.json`` is rewritten, keeping the other evaluators' results.

    ``dataset=<another>`` scores the encoder on other data of its modality (a transfer, e.g.
    labelled images for an encoder pretrained on a stream): its evaluations are keyed
    ``"<evaluator>@<dataset>"``, and the run's own stay as they were.
    """
    from .outputs import read_metrics, write_metrics

    run_dir = Path(run_dir)
    if evaluators is not None:
        overrides = {**overrides, "evaluators": list(evaluators)}
    resolved = resolve_saved_run(run_dir, overrides, plugins)
    check_strategies(resolved)
    if write:  # before evaluating: metrics.json must be writable and, if there, valid
        check_output_paths(run_dir, ("metrics.json",), ())
        if (run_dir / "metrics.json").exists():
            read_metrics(run_dir)
    cfg = resolved.config
    pretrained_on = str(load_user_config(run_dir / "config.yaml").get("dataset"))
    seed_everything(cfg.seed)
    data = resolved.dataset.resolve_factory()(resolved.component_config("data"))
    resolved = follow_task(resolved, data.info)  # an evaluator that cannot score the task fails here
    encoder = load_encoder(run_dir, plugins=plugins)
    # the twin has the pretrained encoder's architecture: built from the run's data info
    run_info = read_json(run_dir / DATA_INFO_FILE, fix="Restore it from a copy of the run, or run the pretraining again.")
    random_init = build_encoder(resolved.encoder, resolved.component_config("encoder_config"), run_info, cfg.seed)
    check_encoder_output(resolved.encoder, encoder, data)  # another dataset must fit the pretrained encoder
    device = resolve_device(cfg.trainer.device)
    if not write:  # e.g. one fold of cv=K (selfsup.cv): nothing is written or logged
        with intra_op_threads(cfg.trainer.threads), use_progress(ProgressSettings.from_trainer(cfg.trainer)):
            return run_evaluators(resolved, data, {"pretrained": encoder, "random_init": random_init}, device)
    with evaluation_loggers(resolved, run_dir) as report:  # the run's loggers get the results (selfsup.tracking)
        with intra_op_threads(cfg.trainer.threads), use_progress(ProgressSettings.from_trainer(cfg.trainer)):
            results = run_evaluators(resolved, data, {"pretrained": encoder, "random_init": random_init}, device)
        if resolved.dataset.name != pretrained_on:  # a transfer: kept beside the run's own evaluations
            results = {f"{name}@{resolved.dataset.name}": entry for name, entry in results.items()}
        report(*write_metrics(run_dir, resolved, results, run_dataset=pretrained_on))
    return results


def jsonable(value: Any) -> Any:
    """``value`` with tensors as lists and anything else unknown as its ``str``, for ``json.dumps``."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _warn(message: str) -> None:
    print(f"selfsup: warning: {message}", file=sys.stderr)

"""Pretraining a run: :func:`pretrain` (and the CLI's :func:`run_resolved`) builds the data,
encoder and objective, trains, saves the run folder and scores the encoder with the run's
evaluators (:mod:`selfsup.scoring`). Reading a finished run back is :mod:`selfsup.saved_run`."""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from .config import ResolvedRun, follow_task, load_user_config, resolve, reuse_saved_config, to_container
from .encoder_check import check_encoder_output
from .engine.device import intra_op_threads, resolve_device, seed_everything
from .engine.distributed import DistributedContext, broadcast_object
from .engine.trainer import Trainer
from .errors import CheckpointError, DatasetError, SelfsupError
from .fixes import build_with_data_fixes
from .evaluation.during import DuringTraining
from .interfaces import DataSource, Objective
from .preprocessing import save_state
from .progress import stage
from .registry import get_registry
from .safe_files import check_output_paths
from .strategies import build_evaluator, check_strategies
from .tracking import RunTracker
from .resume import record_resume, reusable_results, save_config
from .run_folder import PreparedRunDir, prepare_run_dir
from .saved_run import DATA_INFO_FILE, ENCODER_FILE, build_encoder, save_encoder
from .scoring import jsonable, run_evaluators

__all__ = ["PretrainResult", "build_run", "pretrain", "run_resolved"]


@dataclass
class PretrainResult:
    """What :func:`pretrain` returns."""

    #: The pretrained encoder (on CPU, in eval mode).
    encoder: nn.Module
    #: ``{"<evaluator>/<metric>": value}`` for the pretrained encoder.
    metrics: dict[str, float]
    #: The same metrics for the random-init encoder of the same architecture and seed.
    random_init_metrics: dict[str, float]
    run_dir: Path
    #: The per-step training log (loss, lr, grad_norm, samples_per_s, ...).
    history: list[dict[str, float]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    #: With ``trainer.eval_every``: the best evaluation during training,
    #: ``{"step", "select", "metrics"}`` (``metrics`` above stay the final encoder's).
    best_during_training: dict[str, Any] | None = None
    #: The same metrics on the data's raw input features, when the data source provides them
    #: (:class:`selfsup.tasks.RawFeatureSource`); evaluators that ignore the encoder are left out.
    raw_feature_metrics: dict[str, float] = field(default_factory=dict)
    #: ``{evaluator: "ErrorType: message"}`` for evaluators that failed (their numbers are missing).
    evaluator_errors: dict[str, str] = field(default_factory=dict)


def _user_overrides(
    config: str | Path | Mapping[str, Any] | None, choices: Mapping[str, Any], overrides: Mapping[str, Any]
) -> DictConfig:
    dotted = {k: v for k, v in overrides.items() if "." in k}
    nested = {k: v for k, v in overrides.items() if "." not in k}
    user = OmegaConf.merge(
        OmegaConf.create({k: v for k, v in choices.items() if v is not None}),
        OmegaConf.create(nested),
        OmegaConf.from_dotlist([f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in dotted.items()]),
    )
    if config is None:
        return user
    if isinstance(config, (str, Path)):
        return OmegaConf.merge(reuse_saved_config(load_user_config(config), user), user)
    return OmegaConf.merge(OmegaConf.create(dict(config)), user)


def _prepare_run_dir(resolved: ResolvedRun, job: DistributedContext) -> PreparedRunDir | None:
    """Rank 0 prepares and locks the run folder (:mod:`selfsup.run_folder`); every rank learns
    where it is, or fails with rank 0's error (instead of waiting for it forever)."""
    prepared, failure = None, None
    if job.is_main:
        try:
            try:
                prepared = prepare_run_dir(resolved)
            except OSError as exc:  # e.g. run_dir under a file, or in a read-only folder
                where = exc.filename or resolved.config.run_dir
                raise CheckpointError(
                    f"Cannot write to '{where}': {exc.strerror or exc}. Choose a run_dir in a writable folder."
                ) from exc
            _check_outputs(prepared.path)
        except SelfsupError as exc:
            if prepared is not None:
                prepared.lock.release()
                prepared = None
            failure = exc
    shared = broadcast_object(str(prepared.path) if prepared else f"error:{failure}")
    if failure is not None:
        raise failure
    if shared.startswith("error:"):
        raise SelfsupError(f"rank 0 stopped: {shared.removeprefix('error:')}")
    resolved.config.run_dir = shared
    return prepared


#: Every file a pretrain run writes in its folder (``plots/`` and ``checkpoints/`` are folders).
RUN_FILES = ("config.yaml", DATA_INFO_FILE, ENCODER_FILE, "metrics.json", "log.jsonl", "eval_log.jsonl")


def _check_outputs(run_dir: Path) -> None:
    """Fail before any training when an output of the run could not be written."""
    check_output_paths(run_dir, RUN_FILES, ("checkpoints",) + (("plots",) if (run_dir / "plots").exists() else ()))


def build_run(resolved: ResolvedRun) -> tuple[DataSource, nn.Module, nn.Module, Any]:
    """Build the data source, the encoder, its random-init twin and the objective.

    A :class:`~selfsup.errors.DataMismatchError` from a factory is fixed in
    ``resolved.config.data`` and the components are built again (see ``selfsup.fixes``).
    """
    return build_with_data_fixes(resolved.config, resolved.dataset.name, lambda: _build_run(resolved))


def _build_run(resolved: ResolvedRun) -> tuple[DataSource, nn.Module, nn.Module, Any]:
    cfg = resolved.config
    seed_everything(cfg.seed)
    # the component configs first: their checks refuse a bad value before the data is built
    encoder_config, objective_config = resolved.component_config("encoder_config"), resolved.component_config("objective_config")
    data = resolved.dataset.resolve_factory()(resolved.component_config("data"))
    if "train" not in data.splits:
        raise DatasetError(f"Dataset '{resolved.dataset.name}' has no 'train' split (it has {data.splits}).")
    encoder = build_encoder(resolved.encoder, encoder_config, data.info, cfg.seed)
    check_encoder_output(resolved.encoder, encoder, data)  # before training: output width == embed_dim
    random_init = copy.deepcopy(encoder)
    objective = resolved.objective.resolve_factory()(objective_config, encoder, data.info)
    return data, encoder, random_init, objective


def pretrain(
    modality: str | None = None,
    objective: str | None = None,
    encoder: str | None = None,
    dataset: str | None = None,
    evaluators: Sequence[str] | None = None,
    run_dir: str | Path | None = None,
    seed: int | None = None,
    plugins: Sequence[Any] | None = None,
    config: str | Path | Mapping[str, Any] | None = None,
    **overrides: Any,
) -> PretrainResult:
    """Pretrain an encoder, evaluate it beside its random-init twin, and save the run.

    Missing choices come from the modality's defaults. ``overrides`` are config
    keys, nested (``trainer={"max_steps": 100}``) or dotted as a dict
    (``**{"trainer.max_steps": 100}``). ``config`` is a YAML file (e.g. an
    earlier run's ``config.yaml``, whose ``run_dir`` is then replaced by a new
    one unless ``run_dir`` is given) or a mapping applied beneath the arguments.
    """
    registry = get_registry(plugins or ())
    choices = {
        "modality": modality,
        "objective": objective,
        "encoder": encoder,
        "dataset": dataset,
        "evaluators": list(evaluators) if evaluators is not None else None,
        "run_dir": str(run_dir) if run_dir is not None else None,
        "seed": seed,
    }
    resolved = resolve(_user_overrides(config, choices, overrides), registry)
    return run_resolved(resolved)


def run_resolved(resolved: ResolvedRun) -> PretrainResult:
    """Run a resolved config (what ``pretrain`` and the CLI do after resolving)."""
    check_strategies(resolved)  # an unknown fine-tuning strategy or setting fails before training
    tracker = RunTracker(resolved)
    with intra_op_threads(resolved.config.trainer.threads), tracker.running():
        return _run_resolved(resolved, tracker)


def _run_resolved(resolved: ResolvedRun, tracker: RunTracker) -> PretrainResult:
    cfg = resolved.config
    job = DistributedContext.from_env()  # under torchrun: rank 0 writes the run directory
    created_group = job.init_process_group(job.device(resolve_device(cfg.trainer.device)))
    prepared = None
    try:
        prepared = _prepare_run_dir(resolved, job)
        run_dir = Path(cfg.run_dir)
        if prepared is not None and prepared.changes is None:
            save_config(cfg, run_dir / "config.yaml")
        if job.is_main:
            tracker.start(run_dir)  # status.json, loggers (a logger that cannot start fails here)
        return _train_and_evaluate(resolved, job, run_dir, prepared, created_group, tracker)
    finally:
        if created_group:
            job.leave_process_group()
        if prepared is not None:
            prepared.lock.release()


def _train_and_evaluate(
    resolved: ResolvedRun, job: DistributedContext, run_dir: Path, prepared: PreparedRunDir | None, created_group: bool,
    tracker: RunTracker,
) -> PretrainResult:
    from .outputs import summarize_during_training, write_metrics
    from .plots import save_plots

    cfg = resolved.config
    saved = OmegaConf.to_yaml(cfg)
    with stage("data", f"building dataset '{resolved.dataset.name}', encoder and objective"):
        data, encoder, random_init, objective = build_run(resolved)
    fixed = OmegaConf.to_yaml(resolved.config) != saved  # a data fix (selfsup.fixes) changed data.*
    resolved = _follow_task(resolved, data, run_dir, save=job.is_main and not cfg.trainer.resume)
    cfg = resolved.config
    if fixed and job.is_main and not cfg.trainer.resume:
        save_config(cfg, run_dir / "config.yaml")
    if job.is_main:
        _write_json(run_dir / DATA_INFO_FILE, data.info)
        save_state(run_dir, resolved.dataset.name, getattr(data, "preprocessing_state", dict)())
    trainer = Trainer(cfg.trainer, run_dir=run_dir, seed=cfg.seed, loggers=tracker.loggers, progress=tracker.progress_for(data))

    def on_resume(step: int, notes: list[str]) -> None:
        changes = prepared.changes if prepared is not None and prepared.changes is not None else {}
        record_resume(run_dir, cfg, step, changes, notes)
        for line in [*(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changes.items()), *notes]:
            print(f"selfsup: resuming at step {step}: {line}", file=sys.stderr)

    during_training = _evaluate_during_training(resolved, data, objective, trainer.device)
    history = trainer.fit(objective, data, evaluate=during_training, on_resume=on_resume)
    if created_group:
        job.leave_process_group()
    encoder = objective.evaluation_encoder()
    if trainer.final_state is not None and job.is_main:  # FSDP: the trained encoder, unsharded
        prefix = next(name for name, module in objective.named_modules() if module is encoder) + "."
        encoder = copy.deepcopy(random_init)
        encoder.load_state_dict({k.removeprefix(prefix): v for k, v in trainer.final_state.items() if k.startswith(prefix)})
    encoder = encoder.cpu().eval()
    if not job.is_main:  # the other ranks trained the same weights; rank 0 evaluates and saves
        return PretrainResult(encoder, {}, {}, run_dir, history=history, config=to_container(cfg))
    errors = during_training.errors if during_training is not None else {}
    during = summarize_during_training(cfg.trainer, trainer.evaluations, errors) if trainer.evaluations else None
    save_encoder(encoder, run_dir / ENCODER_FILE)
    encoders = {"pretrained": encoder, "random_init": random_init}
    if trainer.resumed is None:
        results = run_evaluators(resolved, data, encoders, trainer.device)
    else:  # resumed: what the earlier metrics.json already holds for the same weights is kept
        trained = bool(history) and int(history[-1]["step"]) > trainer.resumed[0]
        results = _evaluate_resumed(resolved, data, encoders, trainer.device, run_dir, trained)
    metrics, baseline = write_metrics(run_dir, resolved, results, during_training=during, data_info=data.info)
    with stage("plots", f"writing {run_dir / 'plots'}"):
        plots = save_plots(
            run_dir, history, encoder, data, cfg.trainer.eval_batch_size, evaluations=trainer.evaluations, baseline=baseline,
            best=(during["best"]["step"], during["select"]) if during and "best" in during else None,
            phases=[phase.name for phase in objective.phases()],
        )
    tracker.report(metrics, baseline, int(history[-1]["step"]) if history else 0, [*plots, run_dir / "metrics.json"])
    return PretrainResult(
        encoder=encoder,
        metrics=metrics,
        random_init_metrics=baseline,
        run_dir=run_dir,
        history=history,
        config=to_container(cfg),
        best_during_training=during["best"] | {"select": during["select"]} if during and "best" in during else None,
        raw_feature_metrics={
            f"{name}/{key}": value for name, entry in results.items() for key, value in entry.get("raw_features", {}).items()
        },
        evaluator_errors={
            name: "; ".join(f"{label}: {text}" for label, text in entry["errors"].items())
            for name, entry in results.items()
            if entry.get("errors")
        },
    )


def _follow_task(resolved: ResolvedRun, data: DataSource, run_dir: Path, *, save: bool) -> ResolvedRun:
    """Default evaluators for the dataset's declared task, checked before training
    (:func:`selfsup.config.follow_task`); ``config.yaml`` records the evaluators chosen.

    A fresh run rejected here leaves no ``config.yaml`` behind, so the same ``run_dir`` can be
    used again with the evaluators the error names."""
    from .errors import EvaluatorTaskError

    try:
        followed = follow_task(resolved, data.info)
    except EvaluatorTaskError:
        if save:
            (run_dir / "config.yaml").unlink(missing_ok=True)
            if not any(run_dir.iterdir()):
                run_dir.rmdir()
        raise
    followed.config.run_dir = resolved.config.run_dir
    if save and list(followed.config.evaluators) != list(resolved.config.evaluators):
        OmegaConf.save(followed.config, run_dir / "config.yaml")
    return followed


def _evaluate_resumed(
    resolved: ResolvedRun, data: DataSource, encoders: Mapping[str, nn.Module], device: torch.device, run_dir: Path, trained: bool
) -> dict[str, dict[str, Any]]:
    """:func:`run_evaluators` after a resume, re-running only what could have changed: the
    random-init baseline not at all when every evaluator's protocol (settings, split, seed,
    data) is unchanged (same seed, same weights), the pretrained encoder only when steps were
    trained (or a protocol changed). Reused results are printed as such."""
    names = [spec.name for spec in resolved.evaluators]
    protocol = run_evaluators(resolved, data, {}, device)  # the protocol entries (and any raw-feature baseline)
    reused = {label: reusable_results(run_dir, protocol, label) for label in encoders}
    keep = [label for label in encoders if all(n in reused[label] for n in names) and (label == "random_init" or not trained)]
    results = run_evaluators(resolved, data, {k: v for k, v in encoders.items() if k not in keep}, device) if len(keep) < len(encoders) else protocol
    for label in keep:
        for name in names:
            results[name][label] = reused[label][name]
        if names:
            print(f"selfsup: {label}: kept the earlier results of {', '.join(sorted(names))} (same weights and protocol).", file=sys.stderr)
    return results


def _evaluate_during_training(
    resolved: ResolvedRun, data: DataSource, objective: Objective, device: torch.device
) -> DuringTraining | None:
    """The callback behind ``trainer.eval_every`` (:class:`~selfsup.evaluation.during.DuringTraining`):
    the chosen evaluators on the objective's encoder as it trains; a failing evaluator is
    recorded and training goes on. The random-init baseline is not re-run."""
    trainer = resolved.config.trainer
    if not trainer.eval_every:
        return None
    chosen = {str(name).rpartition(":")[2] for name in trainer.eval_during_training}
    evaluators = [
        (spec.name, build_evaluator(resolved, spec))
        for spec in resolved.evaluators
        if not chosen or spec.name in chosen
    ]
    if not evaluators:  # a run without evaluators has nothing to evaluate during training either
        return None
    return DuringTraining(evaluators, objective, data, device, int(resolved.config.seed), trainer)


def _write_json(path: Path, payload: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(jsonable(payload), indent=2) + "\n")
    os.replace(tmp, path)

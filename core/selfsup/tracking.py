"""What a run reports while it runs: ``status.json``, the experiment loggers and the progress settings.

``status.json`` in the run folder says how the run stands (``selfsup runs`` reads it):

* ``running`` while it runs (with the process id and host: a run whose process is gone
  without writing an end was killed, and counts as ``interrupted``);
* ``finished`` when the encoder, ``metrics.json`` and the plots are written;
* ``interrupted`` after Ctrl-C, SIGTERM or another interruption (resumable);
* ``failed`` after an error, whose one-line message is kept in ``error``.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

from .config import ResolvedRun, to_container
from .loggers import LoggerSet, build_loggers
from .progress import ProgressSettings, use_progress

__all__ = ["RunTracker", "STATUS_FILE", "write_status", "read_status", "ended_status", "final_scalars", "evaluation_loggers"]

STATUS_FILE = "status.json"


def write_status(run_dir: Path, payload: Mapping[str, Any]) -> None:
    """Write ``status.json`` atomically."""
    tmp = run_dir / f".{STATUS_FILE}.tmp"
    tmp.write_text(json.dumps(dict(payload), indent=2) + "\n")
    os.replace(tmp, run_dir / STATUS_FILE)


def read_status(run_dir: Path) -> dict[str, Any] | None:
    """``status.json`` of a run folder, or ``None`` when there is none (or it is unreadable)."""
    try:
        payload = json.loads((run_dir / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def ended_status(exc: BaseException | None) -> str:
    """``finished`` without an exception; ``interrupted`` for Ctrl-C, SIGTERM and the like; else ``failed``."""
    if exc is None:
        return "finished"
    if isinstance(exc, (KeyboardInterrupt, SystemExit)) or "interrupt" in type(exc).__name__.lower():
        return "interrupted"
    return "failed"


def final_scalars(metrics: Mapping[str, float], baseline: Mapping[str, float]) -> dict[str, float]:
    """``final/<m>``, ``random_init/<m>`` and ``delta/<m>`` (pretrained minus random init) for the loggers."""
    final = {f"final/{k}": float(v) for k, v in metrics.items()}
    final.update({f"random_init/{k}": float(v) for k, v in baseline.items()})
    final.update({f"delta/{k}": float(v) - float(baseline[k]) for k, v in metrics.items() if k in baseline})
    return final


def _last_step(run_dir: Path) -> int:
    """The run's last logged training step (``log.jsonl``), 0 when it has none."""
    try:
        lines = (run_dir / "log.jsonl").read_text().splitlines()
        return int(json.loads(lines[-1])["step"]) if lines else 0
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _evaluate_config(config: Any, run_dir: Path) -> Any:
    """A logger's config for ``selfsup evaluate``: a ``run_name`` left unset becomes ``<run> (evaluate)``."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type) and getattr(config, "run_name", "") is None:
        return dataclasses.replace(config, run_name=f"{run_dir.name} (evaluate)")
    return config


@contextmanager
def evaluation_loggers(resolved: ResolvedRun, run_dir: Path) -> Iterator[Callable[[Mapping[str, float], Mapping[str, float]], None]]:
    """Around ``selfsup evaluate``: the run's loggers (its ``loggers`` list, as configured).

    Each logger is started before anything is evaluated (one that cannot start is the same
    :class:`~selfsup.errors.ConfigError` as in ``pretrain``; MLflow and W&B open a new tracking
    run, named ``<run> (evaluate)`` unless ``logger_config.<name>.run_name`` is set; TensorBoard
    writes on in the run's folder) and receives the resolved config. The yielded
    ``report(metrics, baseline)`` sends the results as ``final/``, ``random_init/`` and
    ``delta/`` at the run's last training step, and ``metrics.json`` as an artifact. The loggers
    are closed ``finished``, or ``failed``/``interrupted`` when the evaluation raised.
    """
    configs = {spec.name: _evaluate_config(resolved.logger_config(spec.name), run_dir) for spec in resolved.loggers}
    loggers = build_loggers(resolved.loggers, configs, run_dir) if resolved.loggers else LoggerSet()

    def report(metrics: Mapping[str, float], baseline: Mapping[str, float]) -> None:
        loggers.log_metrics(final_scalars(metrics, baseline), _last_step(run_dir))
        if (run_dir / "metrics.json").exists():
            loggers.log_artifact(run_dir / "metrics.json")

    status = "failed"
    try:
        loggers.log_hyperparams(to_container(resolved.config))
        yield report
        status = "finished"
    except BaseException as exc:
        status = ended_status(exc)
        raise
    finally:
        loggers.close(status)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class RunTracker:
    """Opened around a run by :func:`selfsup.run.run_resolved`; :meth:`start` once the run folder exists."""

    def __init__(self, resolved: ResolvedRun) -> None:
        self.resolved = resolved
        self.run_dir: Path | None = None
        self.loggers = LoggerSet()
        self.step = 0
        unit = str(getattr(resolved.modality, "sample_unit", "samples") or "samples")
        self.progress = ProgressSettings.from_trainer(resolved.config.trainer, unit=unit)
        if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, rank 0 reports
            self.progress = replace(self.progress, mode="off")
        self._status: dict[str, Any] = {}

    def start(self, run_dir: Path) -> None:
        """Rank 0, after ``config.yaml`` is written: mark the run running, start the loggers,
        give them the resolved config. A logger that cannot start is an error here, before training."""
        self.run_dir = run_dir
        self._status = {"status": "running", "started": _now(), "pid": os.getpid(), "host": socket.gethostname()}
        write_status(run_dir, self._status)
        resolved = self.resolved
        configs = {spec.name: resolved.logger_config(spec.name) for spec in resolved.loggers}
        self.loggers = build_loggers(resolved.loggers, configs, run_dir)
        self.loggers.log_hyperparams(to_container(resolved.config))

    def progress_for(self, data: Any) -> ProgressSettings:
        """The progress settings with the data source's own ``sample_unit`` when it has one."""
        unit = getattr(data, "sample_unit", None)
        return replace(self.progress, unit=str(unit)) if unit else self.progress

    def report(self, metrics: Mapping[str, float], baseline: Mapping[str, float], step: int, artifacts: list[Path]) -> None:
        """The final metrics (``final/``, ``random_init/``, ``delta/``) and the run's files, to every logger."""
        self.step = step
        self.loggers.log_metrics(final_scalars(metrics, baseline), step)
        for path in artifacts:
            if path.exists():
                self.loggers.log_artifact(path)

    def end(self, exc: BaseException | None) -> None:
        status = ended_status(exc)
        self.loggers.close(status)
        if self.run_dir is None:
            return
        payload = {**self._status, "status": status, "ended": _now()}
        if exc is not None and status == "failed":
            payload["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if self.loggers.failed:
            payload["logger_failures"] = dict(self.loggers.failed)
        write_status(self.run_dir, payload)

    @contextmanager
    def running(self) -> Iterator[RunTracker]:
        """Progress settings current inside; status and loggers closed on the way out."""
        with use_progress(self.progress):
            try:
                yield self
            except BaseException as exc:
                with suppress(Exception):  # never hide the run's own error
                    self.end(exc)
                raise
            self.end(None)

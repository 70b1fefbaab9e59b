"""``selfsup runs DIR...``: compare runs side by side, as a table, CSV or Markdown.

Each row is one run folder (a folder holding ``config.yaml``; a folder of runs is searched
for them): its key config (modality, objective, encoder, dataset, steps done / planned,
seed), its status, and each metric of ``metrics.json`` with its difference from the
random-init encoder.

A run's status comes from its folder: ``status.json`` (see :mod:`selfsup.tracking`) says
``finished``, ``failed`` or ``interrupted``; ``running`` whose process is gone (same host)
was killed and counts as ``interrupted``. A folder without ``status.json`` (written by an
older selfsup) is ``finished`` when it holds ``metrics.json`` and ``encoder.safetensors``,
and ``interrupted`` otherwise.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .tracking import read_status

__all__ = ["RunSummary", "find_runs", "summarize_run", "run_status", "format_runs", "add_parser", "command", "FORMATS"]

FORMATS = ("table", "csv", "markdown")
_KEY_COLUMNS = ("run", "status", "modality", "objective", "encoder", "dataset", "steps", "seed")


@dataclass
class RunSummary:
    """One row of ``selfsup runs``."""

    path: Path
    status: str
    config: dict[str, Any] = field(default_factory=dict)
    #: The last step in ``log.jsonl`` (0 when none) and the planned ``trainer.max_steps`` (``None``: by epochs).
    steps_done: int = 0
    max_steps: int | None = None
    #: ``{"evaluator/metric": value}`` of the pretrained encoder and of its random-init twin.
    metrics: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)
    error: str = ""

    def cells(self, label: str) -> dict[str, str]:
        """The key columns as text."""
        planned = "?" if self.max_steps is None else str(self.max_steps)
        return {
            "run": label,
            "status": self.status,
            "modality": str(self.config.get("modality") or ""),
            "objective": str(self.config.get("objective") or ""),
            "encoder": str(self.config.get("encoder") or ""),
            "dataset": str(self.config.get("dataset") or ""),
            "steps": f"{self.steps_done}/{planned}",
            "seed": str(self.config.get("seed", "")),
        }


def find_runs(paths: Sequence[str | Path]) -> list[Path]:
    """The run folders named in ``paths``, or found below them (a folder holding ``config.yaml``)."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.is_dir():
            raise ConfigError(f"selfsup runs: {str(path)!r} is not a folder. Give a run folder or a folder of runs, e.g. runs/.")
        if (path / "config.yaml").is_file():
            found.append(path)
            continue
        below = sorted(p.parent for p in path.rglob("config.yaml"))
        kept: list[Path] = []
        for candidate in below:  # a run's own sub-folders (wandb/...) are not runs
            if not any(parent in kept for parent in candidate.parents):
                kept.append(candidate)
        found.extend(kept)
    if not found:
        raise ConfigError(
            f"selfsup runs: no run folders (folders holding config.yaml) in {', '.join(str(p) for p in paths)}. "
            "Give the run_dir of a pretrain run, or the folder holding them (runs/ by default)."
        )
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path.resolve(), None)
    return [Path(p) for p in unique]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def run_status(run_dir: Path) -> tuple[str, str]:
    """``(status, error)`` of a run folder (see the module docstring for the rules)."""
    status = read_status(run_dir)
    if status is None:
        done = (run_dir / "metrics.json").is_file() and (run_dir / "encoder.safetensors").is_file()
        return ("finished" if done else "interrupted"), ""
    state = str(status.get("status", ""))
    if state == "running":
        pid, host = status.get("pid"), status.get("host")
        if isinstance(pid, int) and host == socket.gethostname() and not _process_alive(pid):
            return "interrupted", "the process ended without recording an end (killed)"
        return "running", ""
    if state not in ("finished", "failed", "interrupted"):
        return "unknown", f"status.json says {state!r}"
    return state, str(status.get("error", ""))


def _last_step(log: Path) -> int:
    if not log.is_file():
        return 0
    with log.open("rb") as file:
        file.seek(0, os.SEEK_END)
        file.seek(max(0, file.tell() - 65536))
        lines = [line for line in file.read().splitlines() if line.strip()]
    for line in reversed(lines):
        try:
            return int(json.loads(line)["step"])
        except (ValueError, KeyError, TypeError):
            continue
    return 0


def summarize_run(run_dir: Path) -> RunSummary:
    """Read one run folder (``config.yaml``, ``status.json``, ``log.jsonl``, ``metrics.json``)."""
    from omegaconf import OmegaConf

    from .config import load_user_config

    config = OmegaConf.to_container(load_user_config(run_dir / "config.yaml"), resolve=False)
    assert isinstance(config, dict)
    status, error = run_status(run_dir)
    trainer = config.get("trainer") or {}
    summary = RunSummary(run_dir, status, config, _last_step(run_dir / "log.jsonl"), trainer.get("max_steps"), error=error)
    metrics_path = run_dir / "metrics.json"
    if metrics_path.is_file():
        try:
            evaluations = json.loads(metrics_path.read_text()).get("evaluations", {})
        except ValueError as exc:
            raise ConfigError(f"{metrics_path} is not valid JSON ({exc}). Evaluate the run again: selfsup evaluate run_dir={run_dir}.") from exc
        for name, entry in evaluations.items():
            for label, target in (("pretrained", summary.metrics), ("random_init", summary.baseline)):
                for key, value in (entry.get(label) or {}).items():
                    if isinstance(value, (int, float)):
                        target[f"{name}/{key}"] = float(value)
    return summary


def _labels(runs: Sequence[RunSummary]) -> list[str]:
    """Folder names, or paths relative to the common parent when names repeat."""
    names = [run.path.name for run in runs]
    if len(set(names)) == len(names):
        return names
    common = Path(os.path.commonpath([str(run.path) for run in runs]))
    return [str(run.path.relative_to(common)) or run.path.name for run in runs]


def _number(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.4f}"


def _exact(value: float) -> str:
    return "" if math.isnan(value) else repr(value)


def format_runs(runs: Sequence[RunSummary], fmt: str = "table") -> str:
    """The comparison as ``table`` (aligned text), ``csv`` or ``markdown``.

    Table and Markdown cells read ``pretrained (delta)``; CSV has three columns per metric:
    ``<metric>``, ``<metric> random_init`` and ``<metric> delta``.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"selfsup runs: --format {fmt!r} is not one of {', '.join(FORMATS)}. Use --format markdown.")
    metric_names: list[str] = []
    for run in runs:
        metric_names.extend(k for k in run.metrics if k not in metric_names)
    labels = _labels(runs)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([*_KEY_COLUMNS, *[c for m in metric_names for c in (m, f"{m} random_init", f"{m} delta")], "error"])
        for run, label in zip(runs, labels):
            row = list(run.cells(label).values())
            for metric in metric_names:
                value, base = run.metrics.get(metric, math.nan), run.baseline.get(metric, math.nan)
                row += [_exact(value), _exact(base), _exact(value - base)]
            writer.writerow([*row, run.error])
        return buffer.getvalue()
    header = [*_KEY_COLUMNS, *metric_names]
    rows = []
    for run, label in zip(runs, labels):
        row = list(run.cells(label).values())
        for metric in metric_names:
            value, base = run.metrics.get(metric, math.nan), run.baseline.get(metric, math.nan)
            cell = _number(value)
            if cell and not math.isnan(base):
                cell += f" ({value - base:+.4f})"
            row.append(cell or "-")
        rows.append(row)
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        note = "\nMetric cells: pretrained (difference from the random-init encoder).\n"
        return "\n".join(lines) + "\n" + note
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    failures = [f"{label}: {run.error}" for run, label in zip(runs, labels) if run.error]
    text = "\n".join(lines) + "\n\nMetric cells: pretrained (difference from the random-init encoder).\n"
    return text + ("".join(f"{line}\n" for line in failures) if failures else "")


def add_parser(sub: Any) -> None:
    """Add ``selfsup runs`` to the CLI's sub-parsers."""
    runs = sub.add_parser("runs", help="compare runs: key config, status, metrics and random-init deltas")
    runs.add_argument("dirs", nargs="+", metavar="DIR", help="run folders, or folders holding runs (e.g. runs/)")
    runs.add_argument("--format", default="table", choices=FORMATS, help="table (default), csv or markdown")
    runs.add_argument("--out", help="write to this file instead of printing")


def command(args: argparse.Namespace) -> int:
    """The handler of ``selfsup runs``."""
    runs = [summarize_run(path) for path in find_runs(args.dirs)]
    text = format_runs(runs, args.format)
    if not args.out:
        print(text, end="")
        return 0
    out = Path(args.out)
    if not out.parent.is_dir():
        raise ConfigError(f"selfsup runs: the folder of --out {str(out)!r} does not exist. Create it or choose another path.")
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, out)
    print(f"{len(runs)} run(s) written to {out}")
    return 0

"""The per-step training log: values buffered on the device, one transfer per flush.

``log.jsonl`` gets one line per step; the non-finite-loss check, the progress output and
the experiment loggers (``train/<key>`` metrics) run at each flush (every
``trainer.log_every`` steps). The logger is given what it needs, never the trainer.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..errors import NonFiniteLossError
from ..loggers import LoggerSet
from ..progress import ProgressBar, ProgressSettings, format_rate

__all__ = ["StepLogger", "truncate_log", "loss_postfix"]


def truncate_log(path: Path, step: int) -> list[dict[str, Any]]:
    """Drop log lines written after the checkpoint a run resumes from; return the lines kept."""
    if not path.exists():
        return []
    kept = [line for line in map(_parse_line, path.read_text().splitlines()) if line is not None]
    kept = [line for line in kept if line.get("step", 0) <= step]
    path.write_text("".join(json.dumps(line) + "\n" for line in kept))
    return kept


def _parse_line(text: str) -> dict[str, Any] | None:
    """One log line, or ``None`` for an empty or torn one (a write cut off by a kill)."""
    try:
        line = json.loads(text) if text.strip() else None
    except ValueError:
        return None
    return line if isinstance(line, dict) else None


def loss_postfix(line: dict[str, Any]) -> str:
    """``loss=0.4213`` or, for several phases, ``loss/generator=0.6931  loss/discriminator=1.2040``;
    with the online probe, its accuracy after them."""
    keys = sorted(k for k in line if k == "loss" or k.startswith("loss/"))
    if "online_probe/accuracy" in line:  # trainer.online_probe
        keys.append("online_probe/accuracy")
    return "  ".join(f"{key}={line[key]:.4f}" for key in keys)


class StepLogger:
    """Buffers per-step values on the device; one transfer per flush."""

    def __init__(
        self,
        path: Path | None,
        *,
        total_steps: int,
        start_step: int,
        log_every: int,
        device: torch.device,
        history: list[dict[str, Any]],
        last_checkpoint: Callable[[], Path | None],
        progress: ProgressSettings,
        loggers: LoggerSet | None = None,
    ) -> None:
        """``path``: ``log.jsonl`` (``None``: no file, e.g. on ranks other than 0); ``history``:
        the list lines are appended to; ``last_checkpoint()``: named when the loss diverges."""
        self.log_every, self.device, self.history = log_every, device, history
        self.last_checkpoint = last_checkpoint
        self.loggers = loggers if loggers is not None else LoggerSet()
        self.unit = progress.unit
        self.pending: list[tuple[int, dict[str, Any], int]] = []
        self.window_start = time.perf_counter()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("a") if path is not None else None
        self.bar = ProgressBar("pretrain", total_steps, "steps", settings=progress, initial=start_step)

    def add(self, step: int, record: dict[str, Any], samples: int) -> None:
        self.pending.append((step, record, samples))
        if len(self.pending) >= self.log_every:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        keys = sorted({k for _, r, _ in self.pending for k, v in r.items() if isinstance(v, torch.Tensor)})
        stacked = torch.stack(
            [torch.stack([r.get(k, torch.full((), math.nan, device=self.device)).reshape(()) for k in keys]) for _, r, _ in self.pending]
        ).cpu().tolist()  # the one host-device sync of the window
        elapsed = max(time.perf_counter() - self.window_start, 1e-9)
        samples_per_s = sum(s for _, _, s in self.pending) / elapsed
        for (step, record, _), values in zip(self.pending, stacked, strict=True):
            line: dict[str, Any] = {"step": step}
            line.update({k: v for k, v in zip(keys, values, strict=True) if k in record})  # a skipped phase logs nothing
            line.update({k: v for k, v in record.items() if not isinstance(v, torch.Tensor)})
            line["samples_per_s"] = samples_per_s
            for key in keys:
                if key.startswith("loss") and key in line and not math.isfinite(line[key]):
                    self.pending.clear()
                    checkpoint = self.last_checkpoint()
                    raise NonFiniteLossError(
                        f"The loss became {line[key]} at step {step}. Last good checkpoint: "
                        f"{checkpoint if checkpoint else 'none'}. Lower trainer.lr or set trainer.grad_clip_norm"
                        + (", then continue with trainer.resume=true." if checkpoint else "."),
                        step=step,
                        checkpoint=str(checkpoint) if checkpoint else None,
                    )
            self.history.append(line)
            if self.file is not None:
                self.file.write(json.dumps(line) + "\n")
            self.loggers.log_metrics({f"train/{k}": float(v) for k, v in line.items() if k != "step"}, step)
        if self.file is not None:
            self.file.flush()
        postfix = "  ".join(part for part in (loss_postfix(self.history[-1]), format_rate(samples_per_s, self.unit)) if part)
        self.bar.update(len(self.pending), postfix)
        self.pending.clear()
        self.window_start = time.perf_counter()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        self.bar.close()

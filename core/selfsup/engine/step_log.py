"""The per-step training log: values buffered on the device, one transfer per flush.

``log.jsonl`` gets one line per step; the non-finite-loss check, the progress bar and
TensorBoard run at each flush (every ``trainer.log_every`` steps).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..errors import NonFiniteLossError

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ["StepLogger", "truncate_log"]


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


class StepLogger:
    """Buffers per-step values on the device; one transfer per flush."""

    def __init__(self, trainer: Trainer, total_steps: int, start_step: int) -> None:
        self.trainer = trainer
        self.pending: list[tuple[int, dict[str, Any], int]] = []
        self.window_start = time.perf_counter()
        path = trainer.run_dir / "log.jsonl" if trainer.run_dir and trainer.dist.is_main else None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("a") if path is not None else None
        show = trainer.dist.is_main and (trainer.config.progress == "on" or (trainer.config.progress == "auto" and sys.stderr.isatty()))
        self.bar = None
        if show:
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, initial=start_step, desc="pretrain", dynamic_ncols=True)
        self.tensorboard = None
        if trainer.config.tensorboard and path is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                print("trainer.tensorboard=true but tensorboard is not installed; skipping it.", file=sys.stderr)
            else:
                self.tensorboard = SummaryWriter(str(path.parent / "tensorboard"))

    def add(self, step: int, record: dict[str, Any], samples: int) -> None:
        self.pending.append((step, record, samples))
        if len(self.pending) >= self.trainer.config.log_every:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        keys = sorted({k for _, r, _ in self.pending for k, v in r.items() if isinstance(v, torch.Tensor)})
        stacked = torch.stack(
            [torch.stack([r.get(k, torch.full((), math.nan, device=self.trainer.device)).reshape(()) for k in keys]) for _, r, _ in self.pending]
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
                    checkpoint = self.trainer.last_checkpoint
                    raise NonFiniteLossError(
                        f"The loss became {line[key]} at step {step}. Last good checkpoint: "
                        f"{checkpoint if checkpoint else 'none'}. Lower trainer.lr or set trainer.grad_clip_norm"
                        + (", then continue with trainer.resume=true." if checkpoint else "."),
                        step=step,
                        checkpoint=str(checkpoint) if checkpoint else None,
                    )
            self.trainer.history.append(line)
            if self.file is not None:
                self.file.write(json.dumps(line) + "\n")
            if self.tensorboard is not None:
                for key, value in line.items():
                    if key != "step":
                        self.tensorboard.add_scalar(key, value, step)
        if self.file is not None:
            self.file.flush()
        if self.bar is not None:
            last = self.trainer.history[-1]
            self.bar.set_postfix(loss=f"{last.get('loss', math.nan):.4f}", samples_per_s=f"{samples_per_s:.0f}")
            self.bar.update(len(self.pending))
        self.pending.clear()
        self.window_start = time.perf_counter()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.bar is not None:
            self.bar.close()
        if self.tensorboard is not None:
            self.tensorboard.close()

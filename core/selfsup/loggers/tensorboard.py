"""The ``tensorboard`` logger: event files readable by TensorBoard (``pip install 'selfsup[tensorboard]'``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import flatten
from .configs import TensorBoardConfig

__all__ = ["TensorBoardLogger"]


class TensorBoardLogger:
    """Scalars as ``add_scalar``, the config as TensorBoard hyper-parameters and as text, PNG plots as images."""

    def __init__(self, config: TensorBoardConfig, run_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir = Path(config.log_dir) if config.log_dir else Path(run_dir) / "tensorboard"
        self.writer = SummaryWriter(str(self.log_dir))
        self.step = 0

    def log_hyperparams(self, params: Mapping[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams

        flat = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in flatten(params).items()}
        for summary in hparams(flat, {}):
            self.writer.file_writer.add_summary(summary)
        table = "\n".join(f"| {k} | {v} |" for k, v in flat.items())
        self.writer.add_text("config", "| key | value |\n|---|---|\n" + table, 0)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self.step = step
        for key, value in metrics.items():
            self.writer.add_scalar(key, float(value), step)

    def log_artifact(self, path: Path) -> None:
        if path.suffix.lower() != ".png":
            return  # TensorBoard shows images, not files
        import matplotlib.image

        image = matplotlib.image.imread(str(path))
        self.writer.add_image(f"plots/{path.stem}", image[..., :3], self.step, dataformats="HWC")

    def close(self, status: str) -> None:
        self.writer.add_text("status", status, self.step)
        self.writer.close()

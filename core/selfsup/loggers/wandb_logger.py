"""The ``wandb`` logger: a Weights & Biases run, offline by default (``wandb sync`` uploads it later)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .configs import WandbConfig

__all__ = ["WandbLogger"]

_MODES = ("offline", "online", "disabled")


class WandbLogger:
    """History rows per step, the config, the final metrics in the summary, plots as images and files."""

    def __init__(self, config: WandbConfig, run_dir: Path) -> None:
        if config.mode not in _MODES:
            raise ConfigError(f"logger_config.wandb.mode={config.mode!r} is not one of {', '.join(_MODES)}. Use logger_config.wandb.mode=offline.")
        import wandb

        self.run_dir = Path(run_dir)
        directory = Path(config.dir) if config.dir else self.run_dir
        directory.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            mode=config.mode,
            project=config.project,
            entity=config.entity,
            dir=str(directory),
            name=config.run_name or self.run_dir.name,
            tags=list(config.tags) or None,
            reinit="create_new",
        )
        self.step = 0

    def log_hyperparams(self, params: Mapping[str, Any]) -> None:
        self.run.config.update(dict(params), allow_val_change=True)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self.step = max(self.step, step)
        self.run.log({k: float(v) for k, v in metrics.items()}, step=self.step)
        if any(k.startswith(("final/", "random_init/", "delta/")) for k in metrics):
            self.run.summary.update({k: float(v) for k, v in metrics.items()})

    def log_artifact(self, path: Path) -> None:
        import wandb

        if path.suffix.lower() == ".png":
            self.run.log({f"plots/{path.stem}": wandb.Image(str(path))}, step=self.step)
        self.run.save(str(path), base_path=str(path.parent), policy="now")

    def close(self, status: str) -> None:
        self.run.finish(exit_code=0 if status == "finished" else 1)

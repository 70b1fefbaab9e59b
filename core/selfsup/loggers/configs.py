"""Settings of the built-in loggers (``logger_config.<name>.*``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

__all__ = ["TensorBoardConfig", "MLflowConfig", "WandbConfig"]


@dataclass
class TensorBoardConfig:
    #: Folder for the event files; ``None``: ``<run_dir>/tensorboard``.
    log_dir: Optional[str] = None


@dataclass
class MLflowConfig:
    #: Where runs are stored; ``None``: ``$MLFLOW_TRACKING_URI``, else a local file store
    #: ``mlruns/`` in the working directory (``file:`` URIs and folders are local stores).
    tracking_uri: Optional[str] = None
    #: The MLflow experiment (created when missing).
    experiment: str = "selfsup"
    #: The MLflow run name; ``None``: the run folder's name.
    run_name: Optional[str] = None


@dataclass
class WandbConfig:
    #: ``offline`` (files only; upload later with ``wandb sync``), ``online`` or ``disabled``.
    mode: str = "offline"
    project: str = "selfsup"
    entity: Optional[str] = None
    #: Folder holding ``wandb/``; ``None``: the run folder.
    dir: Optional[str] = None
    #: The W&B run name; ``None``: the run folder's name.
    run_name: Optional[str] = None
    tags: list[str] = field(default_factory=list)

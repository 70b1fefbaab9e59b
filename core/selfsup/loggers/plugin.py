"""The built-in loggers, registered through ``register_loggers`` like any plugin's.

The core's built-in plugin (``selfsup.builtin``) re-exports this hook implementation.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..specs import LoggerSpec
from .configs import MLflowConfig, TensorBoardConfig, WandbConfig

__all__ = ["register_loggers"]


@hookimpl
def register_loggers() -> list[LoggerSpec]:
    return [
        LoggerSpec(
            name="tensorboard",
            factory="selfsup.loggers.tensorboard:TensorBoardLogger",
            config_cls=TensorBoardConfig,
            requires=("tensorboard>=2.15",),
            description="TensorBoard event files in run_dir/tensorboard: scalars, hyper-parameters, plot images.",
        ),
        LoggerSpec(
            name="mlflow",
            factory="selfsup.loggers.mlflow_logger:MLflowLogger",
            config_cls=MLflowConfig,
            requires=("mlflow-skinny>=2.10",),
            description="An MLflow run (local file store ./mlruns by default): params, metrics, plot artifacts.",
        ),
        LoggerSpec(
            name="wandb",
            factory="selfsup.loggers.wandb_logger:WandbLogger",
            config_cls=WandbConfig,
            requires=("wandb>=0.17",),
            description="A Weights & Biases run, offline by default (run_dir/wandb; upload with wandb sync).",
        ),
    ]

"""The ``mlflow`` logger: a run in an MLflow tracking store (a local file store by default)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import flatten
from .configs import MLflowConfig

__all__ = ["MLflowLogger", "tracking_uri"]

_STATUS = {"finished": "FINISHED", "failed": "FAILED", "interrupted": "KILLED"}
_PARAM_LIMIT = 6000  # MLflow's longest parameter value


def tracking_uri(config: MLflowConfig) -> str:
    """The store: ``config.tracking_uri``, else ``$MLFLOW_TRACKING_URI``, else ``./mlruns`` (file store)."""
    uri = config.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or "mlruns"
    if "://" not in uri and not uri.startswith("file:"):  # a folder: a local file store
        uri = Path(uri).resolve().as_uri()
    return uri


class MLflowLogger:
    """Params (the flattened config), metrics with steps, artifacts under ``plots/`` and the run's status."""

    def __init__(self, config: MLflowConfig, run_dir: Path) -> None:
        from mlflow.tracking import MlflowClient

        uri = tracking_uri(config)
        if uri.startswith("file:"):  # MLflow 3 refuses its file store unless opted in; the user asked for it
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(tracking_uri=uri)
        experiment = self.client.get_experiment_by_name(config.experiment)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(config.experiment)
        run = self.client.create_run(
            experiment_id,
            run_name=config.run_name or Path(run_dir).name,
            tags={"selfsup.run_dir": str(Path(run_dir).resolve())},
        )
        self.run_id = run.info.run_id

    def log_hyperparams(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:_PARAM_LIMIT]) for k, v in flatten(params).items()]
        for start in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=items[start : start + 100])

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in metrics.items()])

    def log_artifact(self, path: Path) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path="plots" if path.suffix == ".png" else None)

    def close(self, status: str) -> None:
        self.client.set_terminated(self.run_id, status=_STATUS.get(status, "FAILED"))

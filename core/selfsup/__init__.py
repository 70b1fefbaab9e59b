"""selfsup: one framework for self-supervised pretraining across modalities.

Importing selfsup has no side effects: plugins load on first use.
"""

from __future__ import annotations

from typing import Any

import importlib

from . import errors, specs
from .hookspecs import hookimpl
from .specs import DatasetSpec, EncoderSpec, EvaluatorSpec, FineTuneStrategySpec, LoggerSpec, ModalitySpec, ObjectiveSpec

#: Public names that need torch, imported on first access so that
#: ``import selfsup`` and ``selfsup list`` stay fast.
_LAZY = {
    "pretrain": "run",
    "evaluate": "scoring",
    "load_encoder": "saved_run",
    "PretrainResult": "run",
    "embed": "embed",
    "Embeddings": "embed",
    "list_plugins": "registry",
    "Objective": "interfaces",
    "Phase": "interfaces",
    "DataSource": "interfaces",
    "Evaluator": "interfaces",
    "Batch": "interfaces",
    "DataInfo": "interfaces",
    "StepOutput": "interfaces",
    "Logger": "loggers",
    "CommandSpec": "commands",
}

__all__ = [
    "pretrain",
    "evaluate",
    "load_encoder",
    "PretrainResult",
    "embed",
    "Embeddings",
    "hookimpl",
    "list_plugins",
    "specs",
    "errors",
    "ModalitySpec",
    "EncoderSpec",
    "ObjectiveSpec",
    "EvaluatorSpec",
    "DatasetSpec",
    "LoggerSpec",
    "CommandSpec",
    "FineTuneStrategySpec",
    "Logger",
    "Objective",
    "Phase",
    "DataSource",
    "Evaluator",
    "Batch",
    "DataInfo",
    "StepOutput",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("selfsup")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.0.0"
    raise AttributeError(f"module 'selfsup' has no attribute {name!r}")

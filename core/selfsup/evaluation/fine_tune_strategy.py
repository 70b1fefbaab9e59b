"""The fine-tuning strategy protocol: how ``fine-tune`` trains the encoder copy and predicts.

A strategy is a component (``register_fine_tune_strategies``, :class:`selfsup.specs.FineTuneStrategySpec`)
chosen with ``evaluator_config.fine-tune.strategy=<name>``. The evaluator keeps everything
else (splits, label fraction, optimiser, epochs, model selection, scoring); the strategy says

* which heads sit on the embeddings (:meth:`FineTuneStrategy.build_head`; its parameters get
  ``head_lr``),
* the training loss of one batch (:meth:`FineTuneStrategy.training_loss`),
* the ``[rows, outputs]`` scores of one batch for validation and the report
  (:meth:`FineTuneStrategy.predict`).

It reaches the encoder, the heads and the task's own loss through a :class:`FineTuneRun`.
:class:`CrossEntropy` (``cross-entropy``, the default) is the plain protocol of
:mod:`selfsup.evaluation.fine_tune`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from ..interfaces import Batch

__all__ = ["FineTuneRun", "FineTuneStrategy", "CrossEntropy", "ALL_TASKS"]

#: The fine-tune tasks (``FineTuneConfig.task`` once resolved).
ALL_TASKS = frozenset({"classification", "binary", "regression"})


@dataclass
class FineTuneRun:
    """What a strategy works with during one fine-tuning."""

    #: The encoder copy being fine-tuned.
    encoder: nn.Module
    #: What :meth:`FineTuneStrategy.build_head` returned, on the device.
    head: nn.Module
    #: ``"classification"``, ``"binary"`` or ``"regression"``.
    task: str
    #: Size of the task's output (classes, binary tasks, regression targets).
    outputs: int
    #: The task's plain loss on ``(scores [rows, outputs], labels)`` (cross-entropy for classes).
    task_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    #: ``embed(batch) -> (embeddings [rows, embed_dim], labels)`` of a batch already on the
    #: device; rows outside a full-batch source's ``eval_mask`` are dropped.
    embed: Callable[[Batch], tuple[torch.Tensor, torch.Tensor]]
    #: A seeded generator for the strategy's own randomness (mixing partners, ...).
    generator: torch.Generator
    #: The dataset's name, for messages.
    dataset: str = ""


@runtime_checkable
class FineTuneStrategy(Protocol):
    """See the module docstring."""

    #: The fine-tune tasks it can train (a subset of :data:`ALL_TASKS`).
    tasks: frozenset[str]

    def build_head(self, embed_dim: int, outputs: int) -> nn.Module: ...

    def training_loss(self, run: FineTuneRun, batch: Batch) -> torch.Tensor: ...

    def predict(self, run: FineTuneRun, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]: ...


class CrossEntropy:
    """``cross-entropy``: a linear head on the embeddings, trained with the task's loss
    (cross-entropy, masked binary cross-entropy or masked MSE)."""

    tasks = ALL_TASKS

    def __init__(self, config: Any = None) -> None:
        self.config = config

    def build_head(self, embed_dim: int, outputs: int) -> nn.Module:
        return nn.Linear(embed_dim, outputs)

    def training_loss(self, run: FineTuneRun, batch: Batch) -> torch.Tensor:
        embeddings, labels = run.embed(batch)
        return run.task_loss(run.head(embeddings), labels)

    def predict(self, run: FineTuneRun, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        embeddings, labels = run.embed(batch)
        return run.head(embeddings), labels

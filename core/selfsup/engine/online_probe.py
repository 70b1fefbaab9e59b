"""The online linear probe (``trainer.online_probe=true``): a classifier trained beside the
objective on the evaluation encoder's detached features of each training batch.

After every step, the encoder that is saved and evaluated (``objective.evaluation_encoder()``)
embeds the step's first micro-batch in ``eval()`` mode under ``torch.no_grad()``; a head
``BatchNorm1d(D, affine=False) -> Linear(D, C)`` (MAE's linear-probe head, `main_linprobe.py`
of facebookresearch/mae) takes one AdamW step (``trainer.online_probe_lr``, no weight decay)
on the cross-entropy with the batch's ``label``, over the rows ``eval_mask`` keeps. The
log line of every step gets ``online_probe/loss`` and ``online_probe/accuracy`` (the head's
accuracy on that batch *before* its update, as solo-learn's online classifier reports it).

What it does not change: the encoder gets no gradient from the head, no BatchNorm statistic
of the encoder moves (eval mode), and no random number is drawn (the head is initialised from
the run's seed in a forked generator), so a run with the probe trains
exactly as one without it. It costs one more forward pass of the encoder per step. Its state is
in every checkpoint; a run resumed with the probe newly on starts a fresh head. Under
``torchrun`` each rank trains its own head on its share of the batch and rank 0's is logged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError, DatasetError
from ..interfaces import Batch
from ..tasks import CLASSIFICATION_TASKS, label_task
from .device import autocast_context

__all__ = ["OnlineProbe", "probe_classes"]


def probe_classes(info: Mapping[str, Any], dataset: str) -> int:
    """The class count the online probe predicts; a :class:`ConfigError` before training when
    the data's ``label`` is not a single-label classification."""
    task = label_task(info)
    if task is not None and task.type in CLASSIFICATION_TASKS and task.num_targets == 1 and task.num_classes:
        return int(task.num_classes)
    classes = info.get("num_classes")
    if task is None and isinstance(classes, int) and classes >= 2:
        return classes
    declared = f"declares the task {task.describe()}" if task is not None else "declares no class labels"
    raise ConfigError(
        f"trainer.online_probe=true needs class labels, but dataset {dataset} {declared}. "
        "Set trainer.online_probe=false (evaluate with trainer.eval_every and a regression or other evaluator instead)."
    )


@contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    """Every sub-module in eval mode, each one's own flag restored afterwards."""
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, flag in flags:
            m.training = flag


class OnlineProbe:
    """The head and its optimiser; :meth:`update` is one step on one training batch."""

    def __init__(self, embed_dim: int, num_classes: int, *, lr: float, device: torch.device, dtype: torch.dtype, seed: int = 0) -> None:
        if lr <= 0:
            raise ConfigError(f"trainer.online_probe_lr={lr} must be > 0. Use e.g. trainer.online_probe_lr=1e-2.")
        self.num_classes, self.device, self.dtype = num_classes, device, dtype
        with torch.random.fork_rng(devices=[]):  # initialised from its own seed: the global RNG is not touched
            torch.manual_seed(seed)
            head = nn.Sequential(nn.BatchNorm1d(embed_dim, affine=False), nn.Linear(embed_dim, num_classes))
        self.head = head.to(device)
        self.optimizer = torch.optim.AdamW(self.head.parameters(), lr=lr, weight_decay=0.0)

    def update(self, encoder: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        """One AdamW step of the head on ``encoder``'s detached features of ``batch``; returns the
        batch's loss and accuracy (before the step) as device tensors, for the step's log line (nothing for a
        batch of one row). Rows whose label is outside ``0..C-1`` or that ``eval_mask`` drops are
        left out of the loss and the accuracy (NaN when no row is left); BatchNorm sees every row."""
        if "label" not in batch:
            raise DatasetError(
                "trainer.online_probe=true, but the training batches have no 'label'. "
                "Set trainer.online_probe=false, or use a dataset whose training split is labelled."
            )
        with torch.no_grad(), _eval_mode(encoder), autocast_context(self.device, self.dtype):
            features = encoder(batch)
        labels = batch["label"]
        if not isinstance(features, torch.Tensor) or features.ndim != 2:
            raise ConfigError(
                f"trainer.online_probe=true needs the encoder to return [rows, embed_dim]; it returned "
                f"{tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__}. "
                "Set trainer.online_probe=false."
            )
        if labels.ndim != 1 or labels.shape[0] != features.shape[0]:
            raise ConfigError(
                f"trainer.online_probe=true needs one label per embedding row; the batch has labels of shape "
                f"{tuple(labels.shape)} for {features.shape[0]} rows. Set trainer.online_probe=false."
            )
        if features.shape[0] < 2:  # BatchNorm needs two rows: no update, nothing logged
            return {}
        # weights, not boolean indexing: no host-device synchronisation inside the step
        weight = ((labels >= 0) & (labels < self.num_classes)).float()  # e.g. -1: an unlabelled row
        if "eval_mask" in batch:
            weight = weight * batch["eval_mask"].float()
        count = weight.sum()
        self.head.train()
        logits = self.head(features.float())
        per_row = nn.functional.cross_entropy(logits, labels.long().clamp(0, self.num_classes - 1), reduction="none")
        loss = (per_row * weight).sum() / count.clamp_min(1.0)
        correct = (logits.detach().argmax(dim=1) == labels).float()
        accuracy = torch.where(count > 0, (correct * weight).sum() / count.clamp_min(1.0), torch.nan)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"online_probe/loss": loss.detach(), "online_probe/accuracy": accuracy}

    def training_state(self) -> dict[str, Any]:
        """The head's and its optimiser's state, for the trainer's checkpoint."""
        return {"head": self.head.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_training_state(self, state: Mapping[str, Any]) -> None:
        self.head.load_state_dict(state["head"])
        self.optimizer.load_state_dict(state["optimizer"])

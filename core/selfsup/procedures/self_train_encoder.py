"""Self-training that fine-tunes the encoder (``evaluator_config.self-train.fine_tune_encoder=true``).

The survey's rounds (:func:`selfsup.procedures.self_training.pseudo_label_rounds`; Amini et al.,
arXiv 2202.12040, §2: "retrain the classifier", here the encoder with it) with
:class:`FineTunedEncoder` as the learner: every fit starts again from the pretrained encoder (a
deep copy; the caller's is never changed) and a fresh ``Linear(embed_dim, C)`` head, as the head
of the frozen-feature rounds restarts (Curriculum Labeling), and trains both for ``epochs``
passes over the labelled rows and the admitted pseudo-labelled rows: mean cross-entropy, AdamW
with ``encoder_lr`` on the encoder and ``head_lr`` on the head, batches in a seeded order. The
pseudo-labels of the next round come from this model's softmax on the remaining unlabelled rows,
and each round is scored on the scored split with it.

Items are read from the data source's ``train`` split by index (``__getitems__`` when the split
has it), their ``label`` replaced by the round's labels; a ``full_batch`` source (one graph of
every node) has no separate items and is refused. Dropout inside the encoder draws from a forked
RNG seeded with the run's seed: the global RNG is untouched.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..engine.device import move_to_device
from ..errors import ConfigError
from ..interfaces import Batch, DataSource

__all__ = ["FineTunedEncoder"]


class FineTunedEncoder:
    """A :class:`~selfsup.procedures.self_training.RoundLearner` that fine-tunes a copy of the encoder."""

    def __init__(
        self,
        encoder: nn.Module,
        data: DataSource,
        lab_index: torch.Tensor,
        y_lab: torch.Tensor,
        unl_index: torch.Tensor,
        eval_split: str,
        *,
        num_classes: int,
        epochs: int,
        encoder_lr: float,
        head_lr: float,
        batch_size: int,
        device: torch.device,
        seed: int,
    ) -> None:
        if getattr(data, "full_batch", False):
            raise ConfigError(
                "self-train: fine_tune_encoder=true needs a dataset of separate items, but this one is a single "
                "full batch (e.g. one graph of every node). Use evaluator_config.self-train.fine_tune_encoder=false."
            )
        self.encoder, self.data = encoder, data
        self.train, self.eval = data.split("train"), data.split(eval_split)
        self.lab_index, self.y_lab, self.unl_index = lab_index, y_lab.to(torch.int64), unl_index
        self.num_classes, self.epochs, self.encoder_lr, self.head_lr = num_classes, epochs, encoder_lr, head_lr
        self.batch_size, self.device, self.seed = batch_size, device, seed
        self.model: nn.Module | None = None
        self.head: nn.Module | None = None

    def _batches(self, dataset: torch.utils.data.Dataset, index: torch.Tensor, labels: torch.Tensor | None,
                 order: torch.Generator | None) -> Iterator[tuple[Batch, torch.Tensor]]:
        """Batches of ``dataset[index]`` (shuffled with ``order``), each with its labels: ``labels``
        in the same positions, or the items' own ``label``."""
        positions = torch.randperm(index.numel(), generator=order) if order is not None else torch.arange(index.numel())
        for start in range(0, index.numel(), self.batch_size):
            chosen = positions[start : start + self.batch_size]
            rows = index[chosen].tolist()
            getitems = getattr(dataset, "__getitems__", None)
            batch = dict(self.data.collate(getitems(rows) if getitems is not None else [dataset[i] for i in rows]))
            if labels is not None:  # the round's labels: an unlabelled row's true label never travels with it
                batch["label"] = labels[chosen]
            batch = move_to_device(batch, self.device)
            yield batch, batch["label"].to(torch.int64)

    def _logits(self, batch: Batch) -> torch.Tensor:
        assert self.model is not None and self.head is not None
        return self.head(self.model(batch))

    def fit(self, admitted: torch.Tensor, pseudo: torch.Tensor) -> None:
        index = torch.cat([self.lab_index, self.unl_index[admitted]])
        labels = torch.cat([self.y_lab, pseudo.to(torch.int64)])
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed)
            self.model = copy.deepcopy(self.encoder).to(self.device)
            self.head = nn.Linear(int(self.model.embed_dim), self.num_classes).to(self.device)
            optimizer = torch.optim.AdamW(
                [{"params": [p for p in self.model.parameters() if p.requires_grad], "lr": self.encoder_lr},
                 {"params": list(self.head.parameters()), "lr": self.head_lr}],
                weight_decay=0.0,
            )
            order = torch.Generator().manual_seed(self.seed)
            self.model.train()
            with torch.enable_grad():
                for _ in range(self.epochs):
                    for batch, target in self._batches(self.train, index, labels, order):
                        loss = F.cross_entropy(self._logits(batch), target)
                        optimizer.zero_grad(set_to_none=True)
                        loss.backward()
                        optimizer.step()
            self.model.eval()

    def _predict(self, dataset: torch.utils.data.Dataset, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probs, labels = [], []
        with torch.no_grad():
            hidden = None if dataset is self.eval else torch.full((index.numel(),), -1)  # unlabelled rows: no label
            for batch, target in self._batches(dataset, index, hidden, None):
                probs.append(self._logits(batch).softmax(dim=1).cpu())
                labels.append(target.cpu())
        return torch.cat(probs), torch.cat(labels)

    def unlabelled_probs(self, candidates: torch.Tensor) -> torch.Tensor:
        return self._predict(self.train, self.unl_index[candidates])[0]

    def eval_accuracy(self) -> float:
        probs, labels = self._predict(self.eval, torch.arange(len(self.eval)))  # type: ignore[arg-type]
        return float((probs.argmax(dim=1) == labels).float().mean())

"""Fine-tuning: train a copy of the encoder end to end with a new linear head.

Protocol (:class:`FineTune`):

1. The encoder is deep-copied (the caller's encoder is never changed) and a
   linear head ``Linear(embed_dim, outputs)`` is put on its embeddings;
   ``outputs`` is the number of classes (``task="classification"``), of
   binary tasks (``task="binary"``) or of regression targets (``task="regression"``).
   ``task="auto"`` follows the task the data declares (:mod:`selfsup.tasks`: binary and
   multiclass -> classification, multilabel -> binary, regression -> regression).
2. Training rows: the ``"train"`` split; model-selection rows: the ``"val"``
   split, else a seeded ``val_fraction`` of train (left out of training). A
   full-batch source (one graph holding every node) trains on the rows of its
   train item's ``eval_mask`` and selects on the val item's; without a val split
   it keeps the last epoch.
3. Each epoch visits the training batches in a seeded random order. Loss:
   mean cross-entropy over the rows (classification) or binary cross-entropy
   with logits over the labelled entries only (binary; NaN targets are
   missing and masked out, as in the MoleculeNet protocol of Hu et al., 2020,
   "Strategies for Pre-training Graph Neural Networks", ``chem/finetune.py``).
   Regression: mean squared error over the present (non-NaN) entries of targets
   standardised with the fitting rows' per-target mean and std.
   AdamW with ``lr`` on the encoder and ``head_lr`` on the head.
4. After each epoch the validation score is computed (accuracy, or mean
   ROC-AUC over tasks with both classes present); the parameters of the best
   epoch (strictly better than all before) are kept and training stops after
   ``patience`` epochs without improvement.
5. Report on ``config.split``: ``accuracy`` and ``macro_f1`` (classification)
   or ``roc_auc`` (mean over the tasks with both classes present) and
   ``tasks_scored`` (binary), or ``rmse``, ``mae`` and ``r2`` in the targets' units
   (regression; selection by validation RMSE), plus ``best_epoch``.

Pluggable strategies (:mod:`selfsup.evaluation.fine_tune_strategy`): the heads, the training
loss and the predictions come from ``config.strategy`` (``cross-entropy``, the protocol above,
by default; ``sla``, ``core-tuning`` or a plugin's), bound by :func:`selfsup.strategies.build_evaluator`.
``label_fraction < 1`` keeps a seeded random subset of the fitting rows (before any training).

The global RNG is untouched: shuffling uses a private generator, and dropout
inside the encoder draws from a forked, seeded RNG state, so results are
reproducible for a given ``seed``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..engine.device import move_to_device
from ..errors import ComponentError, ConfigError, DatasetError
from ..interfaces import Batch, DataSource, Evaluator
from . import metrics
from ._common import as_class_indices
from .configs import FineTuneConfig
from .features import _open_split, dataset_name, split_train_val
from .fine_tune_strategy import CrossEntropy, FineTuneRun, FineTuneStrategy

__all__ = ["FineTuneConfig", "FineTune", "binary_task_roc_auc", "masked_binary_cross_entropy", "masked_mse"]

_NAME = "fine-tune"


def masked_binary_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy with logits over the entries whose target is not NaN.

    ``loss = sum_{i,t: y_it labelled} BCE(z_it, y_it) / #labelled``; ``0`` (with a
    gradient path) when no entry is labelled.
    """
    labelled = ~torch.isnan(targets)
    safe_targets = torch.where(labelled, targets, torch.zeros_like(targets))
    per_entry = F.binary_cross_entropy_with_logits(logits, safe_targets, reduction="none")
    count = labelled.sum().clamp_min(1)
    return (per_entry * labelled).sum() / count


def binary_task_roc_auc(targets: torch.Tensor, scores: torch.Tensor) -> tuple[float, int]:
    """Mean ROC-AUC over the columns of ``[N, T]`` targets that hold both classes.

    NaN targets are missing and ignored. Returns ``(mean_auc, tasks_scored)``;
    the mean is NaN when no task has both classes.
    """
    values = []
    for task in range(targets.shape[1]):
        column = targets[:, task]
        labelled = ~torch.isnan(column)
        y = column[labelled]
        if y.numel() == 0 or bool(torch.all(y == y[0])):
            continue
        values.append(metrics.roc_auc(y.to(torch.int64), scores[labelled, task]))
    return (sum(values) / len(values) if values else math.nan), len(values)


#: The fine-tune task for each declared task type (selfsup.tasks).
_BY_DECLARED = {"binary": "classification", "multiclass": "classification", "multilabel": "binary", "regression": "regression"}


def _resolve_task(task: str, labels: torch.Tensor, info: Mapping[str, Any] | None = None) -> str:
    """``config.task`` unless ``auto``; then the task the data declares; a source that declares
    none falls back to the label dtype (float -> binary, integer -> classification)."""
    if task != "auto":
        return task
    from ..tasks import label_task

    declared = label_task(info)
    if declared is not None:
        if declared.type not in _BY_DECLARED:
            raise DatasetError(
                f"{_NAME} needs labels, but the dataset declares none (task 'none'). "
                "Use evaluators=[embedding-stats] for unlabelled data."
            )
        return _BY_DECLARED[declared.type]
    return "binary" if labels.dtype.is_floating_point else "classification"


def _regression_targets(labels: torch.Tensor) -> torch.Tensor:
    y = labels.to(torch.float32)
    return y.unsqueeze(1) if y.ndim == 1 else y


def masked_mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the entries whose target is not NaN (0 with a gradient path when none is)."""
    labelled = ~torch.isnan(targets)
    diff = torch.where(labelled, outputs - torch.nan_to_num(targets), torch.zeros_like(outputs))
    return diff.pow(2).sum() / labelled.sum().clamp_min(1)


def _binary_targets(labels: torch.Tensor, what: str) -> torch.Tensor:
    y = labels.to(torch.float32)
    y = y.unsqueeze(1) if y.ndim == 1 else y
    known = y[~torch.isnan(y)]
    if y.ndim != 2 or not bool(torch.all((known == 0) | (known == 1))):
        raise DatasetError(
            f"{_NAME} with task='binary' needs 0/1 targets (NaN = missing) of shape [N] or [N, T], but the "
            f"{what} labels have shape {tuple(labels.shape)} with values outside {{0, 1}}. "
            "Use task='classification' for class indices."
        )
    return y


class _Scored:
    """Predictions and targets of one split, gathered batch by batch."""

    def __init__(self) -> None:
        self.outputs: list[torch.Tensor] = []
        self.labels: list[torch.Tensor] = []

    def add(self, outputs: torch.Tensor, labels: torch.Tensor) -> None:
        self.outputs.append(outputs.detach().float().cpu())
        self.labels.append(labels.detach().cpu())

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.cat(self.outputs), torch.cat(self.labels)


class FineTune(Evaluator):
    """End-to-end fine-tuning of a copy of the encoder (registered as ``fine-tune``)."""

    config_cls = FineTuneConfig
    config: FineTuneConfig
    hyperparameters = ("best_epoch", "tasks_scored")
    lower_is_better = ("rmse", "mae")
    _target_stats: tuple[torch.Tensor, torch.Tensor] | None = None
    _strategy: FineTuneStrategy | None = None

    # ------------------------------------------------------------------ strategy

    @property
    def strategy_name(self) -> str:
        """The strategy the config names (bound by :func:`selfsup.strategies.build_evaluator`)."""
        return str(getattr(self.config, "strategy", "cross-entropy"))

    @property
    def strategy_config(self) -> Mapping[str, Any]:
        return dict(getattr(self.config, "strategy_config", {}) or {})

    def use_strategy(self, strategy: FineTuneStrategy) -> None:
        """Train and predict with ``strategy`` (what ``config.strategy`` names, built from the registry)."""
        self._strategy = strategy

    @property
    def strategy(self) -> FineTuneStrategy:
        if self._strategy is not None:
            return self._strategy
        if self.strategy_name == "cross-entropy":
            return CrossEntropy()
        raise ConfigError(
            f"{_NAME}: strategy '{self.strategy_name}' was never built for this evaluator. Build the evaluator "
            "with selfsup.strategies.build_evaluator (as pretrain and evaluate do), or call use_strategy()."
        )

    def evaluate(self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        cfg = self.config
        device = torch.device(device)
        train_ds = _open_split(data, "train", _NAME)
        full_batch = bool(getattr(data, "full_batch", False))
        if "val" in tuple(getattr(data, "splits", ())):
            fit_ds, val_ds = train_ds, _open_split(data, "val", _NAME)
        elif full_batch:
            fit_ds, val_ds = train_ds, None
        else:
            fit_idx, val_idx = split_train_val(len(train_ds), cfg.val_fraction, seed)  # type: ignore[arg-type]
            fit_ds = torch.utils.data.Subset(train_ds, fit_idx.tolist())
            val_ds = torch.utils.data.Subset(train_ds, val_idx.tolist())
        if cfg.label_fraction < 1.0 and not full_batch:
            keep = max(1, round(cfg.label_fraction * len(fit_ds)))  # type: ignore[arg-type]
            chosen = torch.randperm(len(fit_ds), generator=torch.Generator().manual_seed(seed + 7919))[:keep]  # type: ignore[arg-type]
            fit_ds = torch.utils.data.Subset(fit_ds, sorted(chosen.tolist()))
        eval_ds = _open_split(data, cfg.split, _NAME)
        strategy = self.strategy

        model = copy.deepcopy(encoder).to(device)
        embed_dim = getattr(model, "embed_dim", None)
        if not isinstance(embed_dim, int) or embed_dim < 1:
            raise ComponentError(
                f"{_NAME}: the encoder {type(encoder).__name__} has no integer embed_dim. "
                "Set encoder.embed_dim to the width of the embeddings it returns."
            )
        first = next(self._batches(data, fit_ds, cfg.batch_size, shuffle=False, generator=None))
        first_labels = self._labels(first, dataset_name(data), "train")
        task = _resolve_task(cfg.task, first_labels, getattr(data, "info", None))
        outputs = self._output_count(task, data, first_labels)
        if task not in strategy.tasks:
            raise ConfigError(
                f"{_NAME}: strategy '{self.strategy_name}' trains {sorted(strategy.tasks)} tasks, but dataset "
                f"{dataset_name(data)} is a {task} task. Use evaluator_config.fine-tune.strategy=cross-entropy."
            )
        self._target_stats = self._standardisation(task, data, fit_ds) if task == "regression" else None

        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            head = strategy.build_head(embed_dim, outputs).to(device)
            run = FineTuneRun(
                encoder=model, head=head, task=task, outputs=outputs,
                task_loss=lambda scores, labels: self._loss(task, scores, labels),
                embed=lambda moved: self._embed(model, moved, device, data),
                generator=torch.Generator().manual_seed(seed), dataset=dataset_name(data),
            )
            optimizer = torch.optim.AdamW(
                [
                    {"params": [p for p in model.parameters() if p.requires_grad], "lr": cfg.lr},
                    {"params": list(head.parameters()), "lr": cfg.head_lr},
                ],
                weight_decay=cfg.weight_decay,
            )
            order = torch.Generator().manual_seed(seed)
            best_score, best_epoch, stale = -math.inf, 0, 0
            best_state = self._snapshot(model, head)
            for epoch in range(1, cfg.epochs + 1):
                model.train()
                head.train()
                with torch.enable_grad():
                    for batch in self._batches(data, fit_ds, cfg.batch_size, shuffle=True, generator=order):
                        loss = strategy.training_loss(run, self._move(batch, device))
                        optimizer.zero_grad(set_to_none=True)
                        loss.backward()
                        optimizer.step()
                if val_ds is None:
                    best_epoch, best_state = epoch, None
                    continue
                score = self._score(task, *self._predict(run, data, val_ds, device), what="val")[0]
                if score > best_score:
                    best_score, best_epoch, stale = score, epoch, 0
                    best_state = self._snapshot(model, head)
                else:
                    stale += 1
                    if stale >= cfg.patience:
                        break
            if best_state is not None:
                model.load_state_dict(best_state[0])
                head.load_state_dict(best_state[1])
            result = self._score(task, *self._predict(run, data, eval_ds, device), what=cfg.split)[1]
        result["best_epoch"] = float(best_epoch)
        return result

    # ------------------------------------------------------------------ pieces

    @staticmethod
    def _snapshot(model: nn.Module, head: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        return (
            {k: v.detach().clone() for k, v in model.state_dict().items()},
            {k: v.detach().clone() for k, v in head.state_dict().items()},
        )

    @staticmethod
    def _batches(
        data: DataSource,
        ds: torch.utils.data.Dataset[Any],
        batch_size: int,
        *,
        shuffle: bool,
        generator: torch.Generator | None,
    ) -> Iterator[Batch]:
        if getattr(data, "full_batch", False):
            yield data.collate([ds[0]])
            return
        loader = torch.utils.data.DataLoader(
            ds,
            batch_size=batch_size,
            shuffle=shuffle,
            collate_fn=data.collate,
            num_workers=0,
            generator=generator if generator is not None else torch.Generator().manual_seed(0),
        )
        yield from loader

    @staticmethod
    def _labels(batch: Any, name: str, split: str) -> torch.Tensor:
        if not isinstance(batch, Mapping) or "label" not in batch:
            raise DatasetError(
                f"{_NAME} needs labels, but split {split!r} of dataset {name} has no 'label' key. "
                "Choose a labelled dataset, or drop this evaluator."
            )
        return torch.as_tensor(batch["label"])

    def _standardisation(
        self, task: str, data: DataSource, ds: torch.utils.data.Dataset[Any]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-target mean and std of the fitting rows (NaN = missing): the head learns standardised targets."""
        chunks = []
        for batch in self._batches(data, ds, self.config.eval_batch_size, shuffle=False, generator=None):
            labels = self._labels(batch, dataset_name(data), "train")
            if "eval_mask" in batch:
                labels = labels[torch.as_tensor(batch["eval_mask"]).to(torch.bool)]
            chunks.append(_regression_targets(labels))
        y = torch.cat(chunks).to(torch.float64)
        known = ~torch.isnan(y)
        count = known.sum(dim=0).clamp_min(1)
        mean = torch.where(known, y, 0.0).sum(dim=0) / count
        std = (torch.where(known, y - mean, 0.0).pow(2).sum(dim=0) / count).sqrt()
        return mean.float(), torch.where(std > 0, std, torch.ones_like(std)).float()

    @staticmethod
    def _output_count(task: str, data: DataSource, labels: torch.Tensor) -> int:
        info = getattr(data, "info", {}) or {}
        if task == "regression":
            return 1 if labels.ndim == 1 else int(labels.shape[1])
        if task == "binary":
            return 1 if labels.ndim == 1 else int(labels.shape[1])
        declared = info.get("num_classes")
        if isinstance(declared, int) and not isinstance(declared, bool) and declared >= 2:
            return declared
        raise DatasetError(
            f"{_NAME}: dataset {dataset_name(data)} does not declare info['num_classes'], which the "
            "classification head needs. Set it in the data source's info."
        )

    @staticmethod
    def _move(batch: Batch, device: torch.device) -> Batch:
        return {key: move_to_device(value, device) for key, value in batch.items()}

    def _embed(
        self, model: nn.Module, moved: Batch, device: torch.device, data: DataSource
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(embeddings, labels)`` of a batch on the device, restricted to its ``eval_mask`` rows."""
        embeddings = model(moved)
        labels = self._labels(moved, dataset_name(data), "train")
        if "eval_mask" in moved:
            mask = torch.as_tensor(moved["eval_mask"]).to(device=embeddings.device, dtype=torch.bool)
            embeddings, labels = embeddings[mask], labels[mask.to(labels.device)]
        return embeddings, labels

    def _loss(self, task: str, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if task == "regression":
            assert self._target_stats is not None
            mean, std = (t.to(logits.device) for t in self._target_stats)
            return masked_mse(logits, (_regression_targets(labels).to(logits.device) - mean) / std)
        if task == "binary":
            return masked_binary_cross_entropy(logits, _binary_targets(labels, "train").to(logits.device))
        targets = as_class_indices(labels, evaluator=_NAME, what="train").to(logits.device)
        return F.cross_entropy(logits, targets)

    def _predict(
        self, run: FineTuneRun, data: DataSource, ds: torch.utils.data.Dataset[Any], device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        run.encoder.eval()
        run.head.eval()
        scored = _Scored()
        with torch.inference_mode():
            for batch in self._batches(data, ds, self.config.eval_batch_size, shuffle=False, generator=None):
                logits, labels = self.strategy.predict(run, self._move(batch, device))
                scored.add(logits, labels)
        return scored.tensors()

    def _score(self, task: str, logits: torch.Tensor, labels: torch.Tensor, *, what: str) -> tuple[float, dict[str, float]]:
        """``(selection score, reported metrics)`` of one split's predictions."""
        if task == "regression":
            assert self._target_stats is not None
            mean, std = self._target_stats
            y = _regression_targets(labels)
            keep = ~torch.isnan(y).any(dim=1)
            pred = (logits * std + mean)[keep]
            y = y[keep]
            error = metrics.rmse(y, pred)
            return -error, {"rmse": error, "mae": metrics.mae(y, pred), "r2": metrics.r2_score(y, pred)}
        if task == "binary":
            auc, tasks = binary_task_roc_auc(_binary_targets(labels, what), logits)
            return (auc if not math.isnan(auc) else -math.inf), {"roc_auc": auc, "tasks_scored": float(tasks)}
        y = as_class_indices(labels, evaluator=_NAME, what=what)
        pred = logits.argmax(dim=1)
        acc = metrics.accuracy(y, pred)
        return acc, {"accuracy": acc, "macro_f1": metrics.macro_f1(y, pred)}

"""The ``self-train`` evaluator: semi-supervised accuracy of a frozen encoder with few labels.

Protocol (:class:`SelfTrain`):

1. Embed ``train`` and ``config.split`` with the frozen encoder
   (:func:`selfsup.evaluation.features.extract_features`).
2. Keep the labels of a seeded stratified subset of train (``labels.fraction``,
   ``labels.per_class`` or ``labels.indices``; :func:`selfsup.procedures.labels.split_labels`);
   the other train rows are unlabelled (their labels are used only to report pseudo-label accuracy).
3. ``method=rounds``: the survey's rounds (:func:`~.self_training.self_train_rounds`), with
   ``fine_tune_encoder`` the encoder fine-tuned with the head each round
   (:mod:`~.self_train_encoder`; the scored split then comes from the fine-tuned model);
   ``mean-teacher`` / ``fst-d`` / ``fst-w``: an EMA-teacher linear head, with FST's look-ahead for
   the last two (:func:`~.self_training.mean_teacher_head`).
4. Report ``accuracy`` (the last round), ``supervised_only`` (round 0: the same head on the
   labelled rows only), ``gain`` (their difference), per round ``round<t>_accuracy``,
   ``round<t>_coverage``, ``round<t>_pseudo_accuracy``, and ``oracle`` (the head on every train
   label). The random-init column of the results table is the same protocol on the
   random-init encoder.
"""

from __future__ import annotations

import torch
from torch import nn

from ..evaluation._common import as_class_indices, count_classes
from ..evaluation.features import extract_features
from ..evaluation.linear_probe import fit_logistic_regression
from ..interfaces import DataSource, Evaluator
from .configs import SelfTrainConfig
from .labels import split_labels
from .self_train_encoder import FineTunedEncoder
from .self_training import mean_teacher_head, pseudo_label_rounds, self_train_rounds

__all__ = ["SelfTrain", "SelfTrainConfig"]

_NAME = "self-train"


class SelfTrain(Evaluator):
    """Self-training with few labels on frozen features (registered as ``self-train``)."""

    config_cls = SelfTrainConfig
    config: SelfTrainConfig
    hyperparameters = ("labelled", "rounds_run")

    def evaluate(self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        cfg = self.config
        x_train, y_train = extract_features(encoder, data, "train", device=device, batch_size=cfg.batch_size, evaluator=_NAME)
        x_eval, y_eval = extract_features(encoder, data, cfg.split, device=device, batch_size=cfg.batch_size, evaluator=_NAME)
        y_train = as_class_indices(y_train, evaluator=_NAME, what="train")
        y_eval = as_class_indices(y_eval, evaluator=_NAME, what=cfg.split)
        classes = max(2, count_classes(y_train, y_eval, declared=(getattr(data, "info", {}) or {}).get("num_classes")))
        lab, unl = split_labels(
            y_train, fraction=cfg.labels.fraction, per_class=cfg.labels.per_class,
            indices=cfg.labels.indices, seed=seed, owner=_NAME,
        )
        args = (x_train[lab], y_train[lab], x_train[unl], x_eval, y_eval)
        rounds = dict(rounds=cfg.rounds, rule=cfg.rule, value=cfg.value, confidence_kind=cfg.confidence,
                      relabel=cfg.relabel, class_balance=cfg.class_balance, y_unl=y_train[unl])
        if cfg.fine_tune_encoder:
            learner = FineTunedEncoder(
                encoder, data, lab, y_train[lab], unl, cfg.split, num_classes=classes, epochs=cfg.epochs,
                encoder_lr=cfg.encoder_lr, head_lr=cfg.head_lr, batch_size=cfg.fine_tune_batch_size, device=device, seed=seed,
            )
            records = pseudo_label_rounds(learner, y_train[lab], int(unl.numel()), num_classes=classes, **rounds)
        elif cfg.method == "rounds":
            records = self_train_rounds(*args, num_classes=classes, l2=cfg.l2, max_iter=cfg.max_iter, **rounds)
        else:
            records = mean_teacher_head(
                *args, num_classes=classes, rounds=cfg.rounds, steps_per_round=cfg.steps_per_round,
                threshold=cfg.threshold, ema=cfg.ema, lookahead_steps=0 if cfg.method == "mean-teacher" else cfg.fst_steps,
                mode="wide" if cfg.method == "fst-w" else "deep", restore_optimizer=cfg.fst_restore_optimizer, seed=seed,
            )
        out: dict[str, float] = {
            "accuracy": records[-1].accuracy,
            "supervised_only": records[0].accuracy,
            "gain": records[-1].accuracy - records[0].accuracy,
            "labelled": float(lab.numel()),
            "rounds_run": float(len(records) - 1),
        }
        for record in records[1:]:
            out[f"round{record.round}_accuracy"] = record.accuracy
            out[f"round{record.round}_coverage"] = record.coverage
            if record.pseudo_accuracy == record.pseudo_accuracy:  # not NaN
                out[f"round{record.round}_pseudo_accuracy"] = record.pseudo_accuracy
        if cfg.oracle:
            model, _ = fit_logistic_regression(x_train, y_train, None, None, l2_grid=(cfg.l2,), max_iter=cfg.max_iter, num_classes=classes)
            with torch.no_grad():
                out["oracle"] = float((model(x_eval).cpu() == y_eval).float().mean())
        return out

"""Configs of the after-pretraining evaluators (torch-free, so registering them is cheap).

Each validates itself on construction and raises :class:`selfsup.errors.ConfigError` naming the
field and a valid example. The protocols are documented in :mod:`.self_train` and :mod:`.lls_eval`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..errors import ConfigError

__all__ = ["LabelsConfig", "SelfTrainConfig", "LLSConfig", "SELF_TRAIN_METHODS"]

#: ``self-train`` methods: the survey's rounds, the mean teacher, FST-D, FST-W.
SELF_TRAIN_METHODS = ("rounds", "mean-teacher", "fst-d", "fst-w")


def _need(ok: bool, owner: str, name: str, value: object, example: str) -> None:
    if not ok:
        raise ConfigError(f"{owner}: {name}={value!r} is invalid. Use e.g. {name}={example}.")


@dataclass
class LabelsConfig:
    """Which training rows keep their labels (exactly one of the three)."""

    #: Share of each class's training rows that keep their label (stratified, seeded).
    fraction: Optional[float] = 0.05
    #: Labelled rows per class instead of a fraction.
    per_class: Optional[int] = None
    #: Explicit list of labelled training-row indices instead of a fraction.
    indices: Optional[list[int]] = None

    def __post_init__(self) -> None:
        if self.per_class is not None or self.indices is not None:
            self.fraction = None if self.fraction == 0.05 else self.fraction


@dataclass
class SelfTrainConfig:
    """Settings of the ``self-train`` evaluator."""

    #: Split scored (the labelled and unlabelled rows come from ``train``).
    split: str = "test"
    #: Labelled subset: ``labels.fraction``, ``labels.per_class`` or ``labels.indices``.
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    #: ``rounds`` (pseudo-label rounds, survey), ``mean-teacher``, ``fst-d`` or ``fst-w`` (FST look-ahead).
    method: str = "rounds"
    #: Pseudo-labelling rounds (``rounds``) or rounds of ``steps_per_round`` steps (teacher methods).
    rounds: int = 5
    #: Admission rule of ``rounds``: ``percentile`` (curriculum), ``topk`` or ``threshold``.
    rule: str = "percentile"
    #: Δ per round (``percentile``), k (``topk``) or θ (``threshold``).
    value: float = 0.2
    #: Confidence: ``margin`` (top-1 minus top-2 probability) or ``max-prob``.
    confidence: str = "margin"
    #: Re-label every unlabelled row each round instead of keeping earlier pseudo-labels.
    relabel: bool = False
    #: Admit pseudo-labels in the labelled class proportions.
    class_balance: bool = False
    #: L2 penalty of the logistic-regression head (``rounds``).
    l2: float = 1e-3
    #: L-BFGS iterations of the head.
    max_iter: int = 200
    #: SGD steps per round (teacher methods).
    steps_per_round: int = 100
    #: Teacher confidence needed for a pseudo-label to count (teacher methods).
    threshold: float = 0.9
    #: EMA momentum bound α of the teacher (teacher methods).
    ema: float = 0.99
    #: Virtual future steps K of FST (``fst-d``, ``fst-w``; the paper's 3).
    fst_steps: int = 3
    #: Restore the optimiser state after FST's virtual steps (the official code does not).
    fst_restore_optimizer: bool = False
    #: Also report the head fitted on every training label (the ceiling).
    oracle: bool = True
    #: Batch size for embedding the data.
    batch_size: int = 1024
    #: ``rounds`` only: fine-tune the encoder with the head each round (from the pretrained
    #: weights every round), instead of a head on frozen features.
    fine_tune_encoder: bool = False
    #: With ``fine_tune_encoder``: passes over the labelled and admitted rows per round.
    epochs: int = 10
    #: With ``fine_tune_encoder``: AdamW learning rates of the encoder and of the linear head.
    encoder_lr: float = 1e-4
    head_lr: float = 1e-3
    #: With ``fine_tune_encoder``: the training batch size.
    fine_tune_batch_size: int = 64

    def __post_init__(self) -> None:
        o = "self-train"
        _need(self.method in SELF_TRAIN_METHODS, o, "method", self.method, "rounds")
        _need(self.rule in ("percentile", "topk", "threshold"), o, "rule", self.rule, "percentile")
        _need(self.confidence in ("margin", "max-prob"), o, "confidence", self.confidence, "margin")
        _need(isinstance(self.rounds, int) and self.rounds >= 1, o, "rounds", self.rounds, "5")
        _need(self.value > 0, o, "value", self.value, "0.2")
        _need(self.l2 >= 0, o, "l2", self.l2, "1e-3")
        _need(0 < self.threshold <= 1, o, "threshold", self.threshold, "0.9")
        _need(0 <= self.ema < 1, o, "ema", self.ema, "0.99")
        _need(isinstance(self.fst_steps, int) and self.fst_steps >= 1, o, "fst_steps", self.fst_steps, "3")
        _need(self.steps_per_round >= 1, o, "steps_per_round", self.steps_per_round, "100")
        _need(not self.fine_tune_encoder or self.method == "rounds", o, "method", self.method, "rounds (fine_tune_encoder=true runs the rounds)")
        _need(isinstance(self.epochs, int) and self.epochs >= 1, o, "epochs", self.epochs, "10")
        _need(self.encoder_lr > 0, o, "encoder_lr", self.encoder_lr, "1e-4")
        _need(self.head_lr > 0, o, "head_lr", self.head_lr, "1e-3")
        _need(isinstance(self.fine_tune_batch_size, int) and self.fine_tune_batch_size >= 1, o, "fine_tune_batch_size", self.fine_tune_batch_size, "64")
        given = [n for n in ("fraction", "per_class", "indices") if getattr(self.labels, n) is not None]
        _need(len(given) == 1, o, "labels", given, "labels.fraction=0.05 (exactly one of fraction, per_class, indices)")


@dataclass
class LLSConfig:
    """Settings of the ``lls`` evaluator (DDFA under latent label shift)."""

    #: Split whose rows are re-partitioned into domains.
    split: str = "test"
    #: Number of domains D (must be >= the number of classes K).
    n_domains: int = 15
    #: Dirichlet concentration α of each domain's label proportions p(y|d) ~ Dir(α·1/K·K) (smaller: sharper shift).
    alpha: float = 0.5
    #: Largest condition number of the D×K matrix p(y|d) accepted by the rejection sampler.
    max_condition_number: float = 8.0
    #: Bins m of the discretisation (k-means on p(d|x)); ``None``: 3·K.
    n_bins: Optional[int] = None
    #: Share of the domain rows used to fit the discriminator (the rest are scored).
    fit_fraction: float = 0.5
    #: L2 penalty of the logistic-regression domain discriminator (1e-2: MNIST test, DDFA 0.63 vs 0.46 at 1e-3).
    l2: float = 1e-2
    #: NMF restarts (the best reconstruction is kept).
    nmf_restarts: int = 5
    #: Refuse (ConfigError) when the estimated cond(p(y|d)) exceeds this.
    refuse_condition_number: float = 1e3
    #: Batch size for embedding the data.
    batch_size: int = 1024

    def __post_init__(self) -> None:
        o = "lls"
        _need(isinstance(self.n_domains, int) and self.n_domains >= 2, o, "n_domains", self.n_domains, "15")
        _need(self.alpha > 0, o, "alpha", self.alpha, "0.5")
        _need(self.max_condition_number >= 1, o, "max_condition_number", self.max_condition_number, "8")
        _need(self.n_bins is None or self.n_bins >= 2, o, "n_bins", self.n_bins, "30")
        _need(0 < self.fit_fraction < 1, o, "fit_fraction", self.fit_fraction, "0.5")
        _need(self.nmf_restarts >= 1, o, "nmf_restarts", self.nmf_restarts, "5")

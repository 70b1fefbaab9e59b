"""Self-training on frozen features: the survey's rounds, and a mean-teacher/FST head.

**Rounds** (:func:`self_train_rounds`; Amini et al., "Self-training: A Survey", arXiv 2202.12040,
§2, the reference algorithm; no official code):

1. Round 0: fit the head on the labelled rows L (this is *supervised-only*).
2. Round t = 1..T: predict the candidate rows (the unlabelled rows not yet admitted, or all of
   them with ``relabel``), admit the confident ones (:func:`~.pseudo_label.select_confident`),
   refit the head from scratch on L ∪ P (Curriculum Labeling's restart), score the eval rows.
3. Stop early when a round admits nothing new.

The head is the core's L-BFGS logistic regression
(:func:`selfsup.evaluation.linear_probe.fit_logistic_regression`, one ``l2``, standardised with
the fitting rows' statistics), deterministic given its rows. :func:`pseudo_label_rounds` is the
loop over any :class:`RoundLearner`; with ``fine_tune_encoder`` the learner fine-tunes the
encoder too (:mod:`selfsup.procedures.self_train_encoder`).

**Mean teacher with FST** (:func:`mean_teacher_head`): a linear head (student) trained by SGD on
``CE(student(x_l), y_l) + λ_u · mean_i[1{conf_i ≥ θ} · CE(student(drop(x_u,i)), ŷ_i)]`` with
``ŷ``/``conf`` from the EMA teacher on the clean features and feature dropout as the student's
noise; with ``lookahead > 0`` each real step is preceded by FST's look-ahead
(:func:`selfsup.procedures.fst.lookahead`, ``deep``/``wide``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from ..engine.ema import ema_update, make_target
from ..evaluation.linear_probe import fit_logistic_regression
from .fst import ema_momentum, lookahead
from .pseudo_label import admission_count, confidence, select_confident

__all__ = ["RoundLearner", "RoundRecord", "mean_teacher_head", "pseudo_label_rounds", "self_train_rounds"]


@dataclass(frozen=True)
class RoundRecord:
    """One round: eval accuracy, admitted pseudo-labels, their accuracy (when true labels are known)."""

    round: int
    accuracy: float
    admitted: int
    coverage: float
    pseudo_accuracy: float

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def _accuracy(pred: torch.Tensor, y: torch.Tensor) -> float:
    return float((pred.cpu() == y.cpu()).float().mean()) if y.numel() else float("nan")


class RoundLearner(Protocol):
    """What the rounds refit each round: a frozen-feature head, or the encoder and a head
    (:class:`selfsup.procedures.self_train_encoder.FineTunedEncoder`)."""

    def fit(self, admitted: torch.Tensor, pseudo: torch.Tensor) -> None:
        """Fit from scratch on the labelled rows and the unlabelled rows ``admitted`` with labels ``pseudo``."""

    def unlabelled_probs(self, candidates: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``[len(candidates), C]`` of those unlabelled rows."""

    def eval_accuracy(self) -> float:
        """Accuracy on the scored split."""


class _FrozenFeatureHead:
    """The survey's head on frozen features: the core's L-BFGS logistic regression."""

    def __init__(self, x_lab: torch.Tensor, y_lab: torch.Tensor, x_unl: torch.Tensor, x_eval: torch.Tensor,
                 y_eval: torch.Tensor, *, num_classes: int, l2: float, max_iter: int) -> None:
        self.x_lab, self.y_lab, self.x_unl, self.x_eval, self.y_eval = x_lab, y_lab, x_unl, x_eval, y_eval
        self.num_classes, self.l2, self.max_iter = num_classes, l2, max_iter
        self.model: Any = None

    def fit(self, admitted: torch.Tensor, pseudo: torch.Tensor) -> None:
        x = torch.cat([self.x_lab, self.x_unl[admitted]]) if admitted.numel() else self.x_lab
        y = torch.cat([self.y_lab, pseudo]) if admitted.numel() else self.y_lab
        self.model, _ = fit_logistic_regression(x, y, None, None, l2_grid=(self.l2,), max_iter=self.max_iter, num_classes=self.num_classes)

    def unlabelled_probs(self, candidates: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.model.logits(self.x_unl[candidates]).softmax(dim=1).cpu()

    def eval_accuracy(self) -> float:
        return _accuracy(self.model(self.x_eval), self.y_eval)


def self_train_rounds(
    x_lab: torch.Tensor,
    y_lab: torch.Tensor,
    x_unl: torch.Tensor,
    x_eval: torch.Tensor,
    y_eval: torch.Tensor,
    *,
    num_classes: int,
    l2: float = 1e-3,
    max_iter: int = 200,
    **rounds: Any,
) -> list[RoundRecord]:
    """:func:`pseudo_label_rounds` with a logistic-regression head on frozen features."""
    head = _FrozenFeatureHead(x_lab, y_lab.to(torch.int64), x_unl, x_eval, y_eval, num_classes=num_classes, l2=l2, max_iter=max_iter)
    return pseudo_label_rounds(head, y_lab, x_unl.shape[0], num_classes=num_classes, **rounds)


def pseudo_label_rounds(
    learner: RoundLearner,
    y_lab: torch.Tensor,
    n_unl: int,
    *,
    num_classes: int,
    rounds: int = 5,
    rule: str = "percentile",
    value: float = 0.2,
    confidence_kind: str = "margin",
    relabel: bool = False,
    class_balance: bool = False,
    y_unl: torch.Tensor | None = None,
) -> list[RoundRecord]:
    """Run the rounds; return one :class:`RoundRecord` per round (round 0 = supervised-only).

    ``y_unl`` (the hidden true labels of the unlabelled rows) is used only to report
    ``pseudo_accuracy``; it never reaches the fit.
    """
    y_lab = y_lab.to(torch.int64)
    ratio = torch.bincount(y_lab, minlength=num_classes).double() / y_lab.numel() if class_balance else None
    admitted = torch.zeros(n_unl, dtype=torch.bool)
    pseudo = torch.full((n_unl,), -1, dtype=torch.int64)

    def fit() -> None:
        rows = torch.nonzero(admitted).flatten()
        learner.fit(rows, pseudo[rows])

    fit()
    records = [RoundRecord(0, learner.eval_accuracy(), 0, 0.0, float("nan"))]
    for t in range(1, rounds + 1):
        candidates = torch.arange(n_unl) if relabel else torch.nonzero(~admitted).flatten()
        if candidates.numel() == 0:
            break
        pred, conf = confidence(learner.unlabelled_probs(candidates), confidence_kind)
        step_rule, step_value = rule, value
        if rule == "percentile":  # the curriculum counts over all of U: top min(1, t·Δ) of it admitted in all
            step_rule = "topk"
            step_value = admission_count(n_unl, "percentile", value, t) - (0 if relabel else int(admitted.sum()))
        keep = select_confident(conf, pred, rule=step_rule, value=step_value, round_index=t, class_ratio=ratio)
        if relabel:
            admitted[:] = False
        new = candidates[keep]
        if not relabel and new.numel() == 0:
            break
        admitted[new] = True
        pseudo[new] = pred[keep]
        fit()
        rows = torch.nonzero(admitted).flatten()
        pseudo_acc = _accuracy(pseudo[rows], y_unl[rows]) if y_unl is not None and rows.numel() else float("nan")
        records.append(RoundRecord(t, learner.eval_accuracy(), int(rows.numel()), rows.numel() / max(n_unl, 1), pseudo_acc))
    return records


def mean_teacher_head(
    x_lab: torch.Tensor,
    y_lab: torch.Tensor,
    x_unl: torch.Tensor,
    x_eval: torch.Tensor,
    y_eval: torch.Tensor,
    *,
    num_classes: int,
    rounds: int = 5,
    steps_per_round: int = 100,
    batch_size: int = 256,
    lr: float = 0.05,
    weight_decay: float = 1e-4,
    threshold: float = 0.9,
    unlabelled_weight: float = 1.0,
    dropout: float = 0.3,
    ema: float = 0.99,
    lookahead_steps: int = 0,
    mode: str = "deep",
    restore_optimizer: bool = False,
    seed: int = 0,
) -> list[RoundRecord]:
    """Train a linear student/EMA-teacher pair; the teacher is scored after each round of steps.

    ``lookahead_steps = 0`` is the mean teacher; ``> 0`` is FST-D (``mode="deep"``) or FST-W
    (``"wide"``) with K = ``lookahead_steps``. Round 0 records the teacher after training on the
    labelled rows alone for one round (the supervised-only reference of this head). Features are
    standardised with the labelled ∪ unlabelled statistics (no labels involved).
    """
    generator = torch.Generator().manual_seed(int(seed))
    both = torch.cat([x_lab, x_unl]).float()
    mean, std = both.mean(0), both.std(0, correction=0).clamp_min(1e-6)
    x_lab, x_unl, x_eval = ((x.float() - mean) / std for x in (x_lab, x_unl, x_eval))
    y_lab = y_lab.to(torch.int64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        student = nn.Linear(x_lab.shape[1], num_classes)
    teacher = make_target(student)
    optimizer = torch.optim.SGD(student.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay, nesterov=True)

    def draw(x: torch.Tensor) -> torch.Tensor:
        return x[torch.randint(0, x.shape[0], (min(batch_size, x.shape[0]),), generator=generator)]

    def draw_labelled() -> tuple[torch.Tensor, torch.Tensor]:
        rows = torch.randint(0, x_lab.shape[0], (min(batch_size, x_lab.shape[0]),), generator=generator)
        return x_lab[rows], y_lab[rows]

    def noise_mask(shape: torch.Size) -> torch.Tensor:
        keep = (torch.rand(shape, generator=generator) >= dropout).float()
        return keep / (1.0 - dropout) if dropout > 0 else keep

    def make_batch(use_unlabelled: bool) -> tuple[torch.Tensor, ...]:
        xl, yl = draw_labelled()
        xu = draw(x_unl) if use_unlabelled else x_unl[:0]
        return xl, yl, xu, noise_mask(xl.shape), noise_mask(xu.shape)

    def loss_fn(net: nn.Module, tea: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        xl, yl, xu, ml, mu = batch
        loss = F.cross_entropy(net(xl * ml), yl)
        if xu.shape[0]:
            with torch.no_grad():
                probs = tea(xu).softmax(dim=1)
            conf, target = probs.max(dim=1)
            per_row = F.cross_entropy(net(xu * mu), target, reduction="none")
            loss = loss + unlabelled_weight * (per_row * (conf >= threshold).float()).mean()
        return loss

    def score() -> float:
        with torch.no_grad():
            return _accuracy(teacher(x_eval).argmax(1), y_eval)

    step = 0
    records: list[RoundRecord] = []
    for r in range(rounds + 1):
        use_unl = r > 0
        for _ in range(steps_per_round):
            batch = make_batch(use_unl)
            if use_unl and lookahead_steps > 0 and step > 0:
                futures = [batch] if mode == "deep" else [make_batch(True) for _ in range(lookahead_steps)]
                lookahead(
                    student, teacher, optimizer, loss_fn, futures, mode=mode, steps=lookahead_steps,
                    momentum=ema_momentum(step, ema), restore_optimizer=restore_optimizer,
                )
            optimizer.zero_grad(set_to_none=True)
            loss_fn(student, teacher, batch).backward()
            optimizer.step()
            step += 1
            if not (use_unl and lookahead_steps > 0 and mode == "deep"):  # FST-D: the next look-ahead does it
                ema_update(teacher, student, ema_momentum(step, ema))
        with torch.no_grad():
            covered = float((teacher(x_unl).softmax(1).max(1).values >= threshold).float().mean()) if use_unl else 0.0
        records.append(RoundRecord(r, score(), int(round(covered * x_unl.shape[0])), covered, float("nan")))
    return records

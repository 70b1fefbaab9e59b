"""Pseudo-label confidence and admission rules of self-training (pure functions).

Follows the reference algorithm of Amini et al., "Self-training: A Survey" (arXiv 2202.12040,
§2: margin-based selection; no official code accompanies the survey) and the curriculum rule
of Cascante-Bonilla et al. (2021, "Curriculum Labeling", admit the top ``t·Δ`` % in round t).

Margin of a row with class probabilities ``p`` (sorted ``p_(1) >= p_(2) >= ...``):

* ``"margin"``: ``m = p_(1) - p_(2)`` (the multi-class margin of the survey; two classes:
  ``|2 p_1 - 1|``);
* ``"max-prob"``: ``m = p_(1)`` (scikit-learn's ``SelfTrainingClassifier`` criterion).

Admission (:func:`select_confident`), over the candidate rows:

* ``"threshold"``: ``m >= θ``;
* ``"topk"``: the ``k`` largest margins;
* ``"percentile"``: in round ``t`` (1-based) the ``min(1, t·Δ)`` share of the candidates with the
  largest margins (the curriculum).

Ties: ``topk``/``percentile`` compute the cut-off ``c`` = the k-th largest margin and admit
every row with ``m >= c``, so rows of equal confidence are never split by their order in the
data (the admitted count can exceed ``k`` by the number of ties at the cut-off). With
``class_balance`` the rule is applied within each predicted class with a quota proportional to
the labelled class ratio (``k_c = round(k · π_c)``), so the admitted pseudo-labels follow it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..errors import ConfigError

__all__ = ["RULES", "CONFIDENCES", "confidence", "select_confident", "admission_count"]

#: Admission rules.
RULES = ("threshold", "topk", "percentile")
#: Confidence measures.
CONFIDENCES = ("margin", "max-prob")


def confidence(probs: torch.Tensor, kind: str = "margin") -> tuple[torch.Tensor, torch.Tensor]:
    """``(predicted class [N], confidence [N])`` of class probabilities ``probs`` ``[N, C]``."""
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ConfigError(f"confidence: expected probabilities [N, C>=2], got shape {tuple(probs.shape)}. Pass softmax outputs.")
    top = probs.topk(2, dim=1)
    pred = top.indices[:, 0]
    if kind == "margin":
        return pred, top.values[:, 0] - top.values[:, 1]
    if kind == "max-prob":
        return pred, top.values[:, 0]
    raise ConfigError(f"confidence: unknown kind {kind!r}. Use one of {list(CONFIDENCES)}.")


def admission_count(n_candidates: int, rule: str, value: float, round_index: int) -> int:
    """How many of ``n_candidates`` the ``topk``/``percentile`` rule admits in 1-based ``round_index``."""
    if rule == "topk":
        return min(n_candidates, int(value))
    if rule == "percentile":
        return min(n_candidates, int(round(min(1.0, round_index * float(value)) * n_candidates)))
    raise ConfigError(f"admission_count: rule {rule!r} has no count. Use 'topk' or 'percentile'.")


def _top_with_ties(conf: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask of the rows whose confidence is >= the k-th largest (all ties at the cut-off)."""
    mask = torch.zeros(conf.shape[0], dtype=torch.bool, device=conf.device)
    if k <= 0 or conf.numel() == 0:
        return mask
    cutoff = conf.topk(min(k, conf.numel())).values[-1]
    return conf >= cutoff


def select_confident(
    conf: torch.Tensor,
    pred: torch.Tensor,
    *,
    rule: str,
    value: float,
    round_index: int = 1,
    class_ratio: Sequence[float] | torch.Tensor | None = None,
) -> torch.Tensor:
    """Boolean mask ``[N]`` of the candidate rows admitted with their pseudo-label ``pred``.

    ``conf`` are the candidates' confidences, ``value`` is θ (``threshold``), k (``topk``) or Δ
    (``percentile``). ``class_ratio`` (the labelled class proportions, length C) switches on the
    per-class quota (see the module docstring); with ``threshold`` it caps each class at its
    share of the rows above θ.
    """
    if rule not in RULES:
        raise ConfigError(f"select_confident: unknown rule {rule!r}. Use one of {list(RULES)}.")
    if conf.shape != pred.shape or conf.ndim != 1:
        raise ConfigError(f"select_confident: conf {tuple(conf.shape)} and pred {tuple(pred.shape)} must be equal 1-D shapes.")
    if rule == "threshold":
        above = conf >= float(value)
        if class_ratio is None:
            return above
        total = int(above.sum())
    else:
        total = admission_count(conf.numel(), rule, value, round_index)
        if class_ratio is None:
            return _top_with_ties(conf, total)
        above = torch.ones_like(conf, dtype=torch.bool)
    ratio = torch.as_tensor(class_ratio, dtype=torch.float64)
    mask = torch.zeros_like(above)
    for cls in range(ratio.numel()):
        rows = torch.nonzero((pred == cls) & above).flatten()
        quota = int(round(total * float(ratio[cls])))
        if rows.numel() and quota > 0:
            keep = _top_with_ties(conf[rows], quota)
            mask[rows[keep]] = True
    return mask

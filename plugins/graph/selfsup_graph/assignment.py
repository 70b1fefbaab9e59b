"""SCGC's official evaluation: the argmax of Q before each update, the best epoch per metric.

``gayanku/SCGC:train.py`` (``train_scgc``, ``train_scgc_trim``) evaluates at the top of every
epoch, before that epoch's optimiser step::

    _, tmp_q, pred, z, _, _ = model(data, adj)
    res1 = tmp_q.cpu().numpy().argmax(1)                        # Q
    eva(y, res1, str(epoch) + 'Q', kmeans_Q, NMI_Q, ARI_Q, F1_Q)
    ...
    return ..., (np.max(kmeans_Q), np.max(NMI_Q), np.max(ARI_Q), np.max(F1_Q), ...)

so epoch 0 scores the k-means-initialised centres, epoch 199 the weights after 199 updates
(the 200th update is never scored), every node of the graph is scored (``y = dataset.y``), and
each reported metric is its own maximum over the epochs (ACC's best epoch need not be NMI's).
``gayanku/SCGC:evaluation.py`` (``eva``): ACC and macro-F1 after the Munkres matching of clusters
to classes, NMI with the arithmetic normalisation, ARI.

:func:`argmax_q` is that prediction; :func:`score_assignment` the four metrics with the core's
implementations (:mod:`selfsup.evaluation.metrics`, the same as the ``clustering`` evaluator's;
NMI arithmetic as scikit-learn's, ARI as scikit-learn's); :func:`best_per_metric` the official
per-metric maximum over a run's logged lines. One deliberate difference: when fewer clusters
are used than there are classes, the official ``cluster_acc`` overwrites the first nodes'
predictions with the unused classes before matching (it mutates its input); here a class left
without a cluster simply scores zero (rectangular Hungarian matching).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from selfsup.evaluation import metrics

from .losses.dec import student_t_assignment

__all__ = ["ASSIGN_CHOICES", "ARGMAX_Q_KEYS", "argmax_q", "score_assignment", "best_per_metric"]

#: ``objective_config.assign`` values of SCGC/SCGC*.
ASSIGN_CHOICES = ("kmeans", "argmax-q")
#: The metrics logged at every main step with ``assign=argmax-q`` (``log.jsonl``).
ARGMAX_Q_KEYS = ("q_acc", "q_nmi", "q_ari", "q_macro_f1")


def argmax_q(z: torch.Tensor, centers: torch.Tensor, dof: float = 1.0) -> torch.Tensor:
    """``argmax_j q_ij`` of the Student-t soft assignment of ``z`` [N, D] to ``centers`` [K, D]:
    int64 [N] (equivalently the nearest centre, since q falls with the distance)."""
    return student_t_assignment(z.detach(), centers.detach(), dof).argmax(dim=1)


def score_assignment(labels: Any, clusters: Any) -> dict[str, float]:
    """``eva``'s four numbers for ``clusters`` against ``labels`` (both [N] integers):
    ``q_acc`` and ``q_macro_f1`` after the Hungarian cluster-to-class matching, ``q_nmi``
    (arithmetic), ``q_ari``."""
    y = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).astype(np.int64).ravel()
    c = np.asarray(clusters.cpu() if isinstance(clusters, torch.Tensor) else clusters).astype(np.int64).ravel()
    aligned = metrics.align_clusters(y, c, unmatched=-1)
    return {
        "q_acc": metrics.cluster_accuracy(y, c),
        "q_nmi": metrics.normalized_mutual_info(y, c),
        "q_ari": metrics.adjusted_rand_index(y, c),
        "q_macro_f1": metrics.macro_f1(y, aligned, labels=np.unique(y)),
    }


def best_per_metric(lines: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """The official report from a run's log lines (``log.jsonl`` or ``PretrainResult.history``):
    ``{"best": {metric: max over steps}, "best_step": {metric: first step reaching it},
    "final": {metric: last logged value}}`` for the :data:`ARGMAX_Q_KEYS` present. Empty when
    no line has them (a run without ``assign=argmax-q``)."""
    best: dict[str, float] = {}
    best_step: dict[str, float] = {}
    final: dict[str, float] = {}
    for line in lines:
        for key in ARGMAX_Q_KEYS:
            if key not in line:
                continue
            value = float(line[key])
            final[key] = value
            if key not in best or value > best[key]:
                best[key], best_step[key] = value, float(line.get("step", -1))
    return {"best": best, "best_step": best_step, "final": final} if best else {}

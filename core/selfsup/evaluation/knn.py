"""Weighted k-nearest-neighbour classifier on cosine similarity of frozen features.

Protocol (:class:`KNN`), as in InstDisc (Wu et al. 2018) and DINO (Caron et al. 2021):

1. The memory bank is the L2-normalised ``"train"`` features; queries are the
   L2-normalised ``config.split`` features.
2. For each query ``q``, take the ``k`` bank rows with the largest cosine
   similarity ``s_j = <q, b_j>``.
3. Class scores ``score_c = sum_j w_j 1[y_j = c]`` with ``w_j = exp(s_j / T)``
   (``weighting="exp"``) or ``w_j = 1`` (``weighting="uniform"``, a majority
   vote); predict ``argmax_c score_c`` (ties: the smallest class index).
4. Report ``accuracy`` and ``macro_f1``.

Similarities are computed in query blocks (``block * N_bank`` floats bounded to
about 64 MiB), never with a Python loop over samples. When the scored split is
``"train"`` itself, every query finds itself among its neighbours.
There is no randomness, so the result does not depend on the seed.

Checked against DINO's official ``knn_classifier``
(``facebookresearch/dino@7c446df:eval_knn.py``) on one fixed input: the same top-1
(``tests/test_knn_dino_protocol.py``). The only deviation: the weights are computed as
``exp((s - s_max) / T)``, the same vote up to a per-query constant, so small ``T`` cannot
overflow.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ComponentError, ConfigError
from ..interfaces import DataSource, Evaluator
from . import metrics
from ._common import as_class_indices, count_classes
from .configs import KNN_WEIGHTINGS, KNNConfig
from .features import extract_features

__all__ = ["KNNConfig", "KNN", "knn_predict"]

_NAME = "knn"
_BLOCK_ELEMENTS = 1 << 24  # similarities per block: 16M floats = 64 MiB


def knn_predict(
    bank: torch.Tensor,
    bank_labels: torch.Tensor,
    queries: torch.Tensor,
    *,
    k: int = 20,
    temperature: float = 0.07,
    weighting: str = "exp",
    num_classes: int | None = None,
) -> torch.Tensor:
    """Predict a class for each query by a (weighted) vote of its ``k`` most cosine-similar bank rows.

    ``bank`` is ``[N, D]`` with int64 ``bank_labels`` ``[N]``; ``queries`` is
    ``[M, D]``; returns int64 predictions ``[M]`` on ``queries``' device. Rows
    are L2-normalised here. ``k`` must not exceed ``N``.
    """
    if weighting not in KNN_WEIGHTINGS:
        raise ConfigError(f"knn_predict: weighting must be one of {list(KNN_WEIGHTINGS)}, got {weighting!r}.")
    if bank.ndim != 2 or queries.ndim != 2 or bank.shape[1] != queries.shape[1]:
        raise ComponentError(
            f"knn_predict: bank {tuple(bank.shape)} and queries {tuple(queries.shape)} must be [N, D] and "
            "[M, D] with the same D. Embed both with the same encoder."
        )
    if bank_labels.shape != bank.shape[:1]:
        raise ComponentError(
            f"knn_predict: {bank_labels.shape[0] if bank_labels.ndim else 0} labels for {bank.shape[0]} bank rows. "
            "Pass one label per bank row."
        )
    if not 1 <= k <= bank.shape[0]:
        raise ConfigError(f"knn_predict: k={k} must be in [1, {bank.shape[0]}] (the bank size). Lower k.")
    device = queries.device
    bank_n = F.normalize(bank.to(device, torch.float32), dim=1)
    labels = bank_labels.to(device, torch.int64)
    classes = count_classes(labels, declared=num_classes)
    block = max(1, _BLOCK_ELEMENTS // bank_n.shape[0])
    predictions = []
    for start in range(0, queries.shape[0], block):
        q = F.normalize(queries[start : start + block].to(torch.float32), dim=1)
        sim, idx = (q @ bank_n.T).topk(k, dim=1)  # [B, k]
        weights = torch.ones_like(sim) if weighting == "uniform" else torch.exp((sim - sim[:, :1]) / temperature)
        # exp((s - s_max)/T) = exp(s/T) * const per query: same vote, and no overflow or
        # all-zero underflow for any T (the nearest neighbour always weighs 1).
        votes = torch.zeros(q.shape[0], classes, device=device, dtype=torch.float32)
        votes.scatter_add_(1, labels[idx], weights)
        predictions.append(votes.argmax(dim=1))
    return torch.cat(predictions)


class KNN(Evaluator):
    """Weighted k-NN accuracy of frozen features (registered as ``knn``)."""

    config_cls = KNNConfig
    config: KNNConfig

    def evaluate(self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        del seed  # deterministic
        cfg = self.config
        x_bank, y_bank = extract_features(
            encoder, data, "train", device=device, batch_size=cfg.batch_size, evaluator=_NAME
        )
        if cfg.split == "train":
            x_query, y_query = x_bank, y_bank
        else:
            x_query, y_query = extract_features(
                encoder, data, cfg.split, device=device, batch_size=cfg.batch_size, evaluator=_NAME
            )
        y_bank = as_class_indices(y_bank, evaluator=_NAME, what="train")
        y_query = as_class_indices(y_query, evaluator=_NAME, what=cfg.split)
        k = cfg.k
        if k > x_bank.shape[0]:
            warnings.warn(
                f"{_NAME}: k={k} exceeds the {x_bank.shape[0]} training rows; using k={x_bank.shape[0]}.",
                stacklevel=2,
            )
            k = x_bank.shape[0]
        pred = knn_predict(
            x_bank,
            y_bank,
            x_query.to(device),
            k=k,
            temperature=cfg.temperature,
            weighting=cfg.weighting,
            num_classes=count_classes(y_bank, y_query),
        ).cpu()
        return {"accuracy": metrics.accuracy(y_query, pred), "macro_f1": metrics.macro_f1(y_query, pred)}

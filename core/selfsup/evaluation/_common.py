"""Small helpers shared by the evaluators (private; not part of the public API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..errors import DatasetError

__all__ = [
    "Standardizer",
    "as_class_indices",
    "count_classes",
]


@dataclass(frozen=True)
class Standardizer:
    """``(x - mean) / std`` with statistics of a reference set; constant columns keep scale 1."""

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, x: torch.Tensor) -> Standardizer:
        mean = x.mean(dim=0)
        std = x.std(dim=0, correction=0)
        floor = 1e-6 * float(std.max()) if std.numel() and float(std.max()) > 0 else 0.0
        std = torch.where(std > floor, std, torch.ones_like(std))
        return cls(mean=mean, std=std)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x.to(self.mean.device, self.mean.dtype) - self.mean) / self.std


def as_class_indices(y: torch.Tensor, *, evaluator: str, what: str) -> torch.Tensor:
    """Return ``y`` as a 1-D ``int64`` tensor of non-negative class indices, or raise.

    Single-task ``[N, 1]`` labels are read as ``[N]``.
    """
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DatasetError(
            f"{evaluator} needs one class index per row, but the {what} labels have shape "
            f"{tuple(y.shape)}. Use a classification dataset or a regression evaluator."
        )
    if y.dtype.is_floating_point or y.dtype.is_complex:
        if not bool(torch.all(y == torch.round(y))):
            raise DatasetError(
                f"{evaluator} needs integer class labels, but the {what} labels are non-integer "
                f"{y.dtype} values. Use 'regression-probe' for continuous targets."
            )
    y = y.to(torch.int64)
    if y.numel() and int(y.min()) < 0:
        raise DatasetError(
            f"{evaluator} needs class indices >= 0, but the {what} labels contain {int(y.min())}. "
            "Encode classes as 0..num_classes-1 (rows without a label belong outside the split)."
        )
    return y


def count_classes(*labels: torch.Tensor, declared: Any = None) -> int:
    """``max(label) + 1`` over all label tensors, at least ``declared`` (``data.info["num_classes"]``)."""
    count = max((int(y.max()) + 1 for y in labels if y.numel()), default=0)
    if isinstance(declared, int) and not isinstance(declared, bool):
        count = max(count, declared)
    return count

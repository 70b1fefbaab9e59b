"""Semantic-segmentation metrics from a confusion matrix (ScanNet / S3DIS benchmark definitions).

With ``C[i, j]`` the number of points of true class ``i`` predicted as ``j``:

* IoU of class ``c``: ``C[c, c] / (Σ_j C[c, j] + Σ_i C[i, c] − C[c, c])`` (TP / (TP + FP + FN));
* mIoU: the mean IoU over classes whose union is non-empty (a class absent from both
  the ground truth and the predictions is not counted, as in the ScanNet evaluator);
* overall accuracy: ``trace(C) / ΣC``;
* mean accuracy: the mean over classes present in the ground truth of ``C[c, c] / Σ_j C[c, j]``.
"""

from __future__ import annotations

import torch

from selfsup.errors import ComponentError

__all__ = ["confusion_matrix", "segmentation_scores"]


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``C`` (int64 ``[num_classes, num_classes]``); rows are true classes. Labels must be in ``[0, num_classes)``."""
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ComponentError(f"confusion_matrix: y_true {tuple(y_true.shape)} and y_pred {tuple(y_pred.shape)} must be equal 1-D.")
    if y_true.numel() and (int(y_true.min()) < 0 or int(max(y_true.max(), y_pred.max())) >= num_classes or int(y_pred.min()) < 0):
        raise ComponentError(
            f"confusion_matrix: labels must lie in [0, {num_classes}). Drop ignored points (label -1) first."
        )
    flat = y_true.long() * num_classes + y_pred.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def segmentation_scores(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> dict[str, float]:
    """``{"miou", "overall_accuracy", "mean_accuracy"}`` as defined in the module docstring."""
    matrix = confusion_matrix(y_true.cpu(), y_pred.cpu(), num_classes).double()
    tp = matrix.diagonal()
    truth, predicted = matrix.sum(1), matrix.sum(0)
    union = truth + predicted - tp
    iou = tp[union > 0] / union[union > 0]
    recall = tp[truth > 0] / truth[truth > 0]
    total = matrix.sum()
    return {
        "miou": float(iou.mean()) if iou.numel() else 0.0,
        "overall_accuracy": float(tp.sum() / total) if total > 0 else 0.0,
        "mean_accuracy": float(recall.mean()) if recall.numel() else 0.0,
    }

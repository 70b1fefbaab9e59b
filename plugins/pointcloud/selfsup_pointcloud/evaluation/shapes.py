"""``shape-linear-probe``: shape classification (ModelNet) from pooled per-point features.

Every scene's per-point features (``encoder(batch)``, or the multi-resolution ones) are
pooled into one row, ``[mean ‖ max]`` over the scene's points (PointNet's global feature
with both poolings), and the core's L-BFGS logistic regression
(:func:`selfsup.evaluation.linear_probe.fit_logistic_regression`) is fitted on the train
split's rows, ``l2`` chosen on ``val`` or a seeded held-out fraction of train. Reports
``accuracy`` (overall) and ``mean_accuracy`` (mean per-class recall, ModelNet's "mAcc").
"""

from __future__ import annotations

import torch
from torch import nn

from selfsup.errors import ConfigError, DatasetError
from selfsup.engine.device import move_to_device
from selfsup.evaluation.linear_probe import fit_logistic_regression
from selfsup.interfaces import DataSource, Evaluator

from ..configs import FEATURE_SETS, ShapeLinearProbeConfig
from .metrics import segmentation_scores

__all__ = ["pooled_features", "ShapeLinearProbe"]


@torch.no_grad()
def pooled_features(
    encoder: nn.Module, data: DataSource, split: str, feature_set: str, *, device: torch.device, batch_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``([scenes, 2 D] mean ‖ max pooled features, [scenes] labels)`` of one split."""
    dataset = data.split(split)
    was_training = encoder.training
    encoder.eval()
    rows, labels = [], []
    for start in range(0, len(dataset), batch_size):  # type: ignore[arg-type]
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]  # type: ignore[arg-type]
        batch, scenes = data.collate(items), len(items)
        if "label" not in batch or tuple(batch["label"].shape) != (scenes,):
            raise DatasetError(f"shape-linear-probe: split {split!r} has no per-shape labels. Use dataset=modelnet.")
        batch = move_to_device(batch, device)
        points = encoder.multires(batch) if feature_set == "multires" and hasattr(encoder, "multires") else encoder(batch)
        index = batch["batch"][:, None].expand(-1, points.shape[1])
        total = points.new_zeros(scenes, points.shape[1]).index_add_(0, batch["batch"], points)
        count = torch.bincount(batch["batch"], minlength=scenes).clamp_min(1)[:, None]
        peak = points.new_full((scenes, points.shape[1]), float("-inf")).scatter_reduce(0, index, points, "amax")
        rows.append(torch.cat([total / count, peak], dim=1).float().cpu())
        labels.append(batch["label"].cpu())
    encoder.train(was_training)
    return torch.cat(rows), torch.cat(labels)


class ShapeLinearProbe(Evaluator):
    """Shape-classification linear probe on pooled features (registered as ``shape-linear-probe``)."""

    config_cls = ShapeLinearProbeConfig
    config: ShapeLinearProbeConfig

    def evaluate(self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        cfg = self.config
        if cfg.feature_set not in FEATURE_SETS:
            raise ConfigError(f"shape-linear-probe: feature_set={cfg.feature_set!r} must be one of {list(FEATURE_SETS)}.")
        x_train, y_train = pooled_features(encoder, data, "train", cfg.feature_set, device=device, batch_size=cfg.batch_size)
        x_eval, y_eval = pooled_features(encoder, data, cfg.split, cfg.feature_set, device=device, batch_size=cfg.batch_size)
        if "val" in data.splits and cfg.split != "val":
            x_val, y_val = pooled_features(encoder, data, "val", cfg.feature_set, device=device, batch_size=cfg.batch_size)
            x_fit, y_fit = x_train, y_train
        else:
            order = torch.randperm(y_train.numel(), generator=torch.Generator().manual_seed(seed))
            cut = max(1, int(round(cfg.val_fraction * y_train.numel())))
            x_val, y_val, x_fit, y_fit = x_train[order[:cut]], y_train[order[:cut]], x_train[order[cut:]], y_train[order[cut:]]
        classes = max(int(data.info.get("num_classes", 0)), int(max(y_train.max(), y_eval.max())) + 1)
        model, l2 = fit_logistic_regression(
            x_fit.to(device), y_fit, x_val, y_val, l2_grid=list(cfg.l2_grid), max_iter=cfg.max_iter, seed=seed, num_classes=classes
        )
        with torch.no_grad():
            predicted = model(x_eval.to(device)).cpu()
        scores = segmentation_scores(y_eval, predicted, classes)
        return {"accuracy": scores["overall_accuracy"], "mean_accuracy": scores["mean_accuracy"], "l2": float(l2)}

"""``seg-linear-probe`` and ``seg-knn``: per-point semantic segmentation on frozen features.

Both protocols of the 3-D papers (methods-3d.md §1.2, §2.2, "protocol warning"):

* ``last``: the encoder's last decoder layer at every point (``encoder(batch)``,
  GaussianCross's linear probe);
* ``multires``: every decoder level trilinearly sampled at every point and concatenated
  (``encoder.multires(batch)``, MSM's 928-d-style feature). Encoders without ``multires``
  report ``last`` only.

Training points are a seeded random subset (``max_train_points``) of the labelled points of
the train split; every labelled point of ``split`` is scored. The linear probe is the core's
L-BFGS multinomial logistic regression (:func:`selfsup.evaluation.linear_probe.fit_logistic_regression`,
standardised features, ``l2`` chosen on the ``val`` split or a held-out fraction of the
training points); the k-NN is the core's temperature-weighted cosine vote
(:func:`selfsup.evaluation.knn.knn_predict`). Metrics per feature set ``f``: ``miou_f``,
``overall_accuracy_f``, ``mean_accuracy_f`` (:mod:`.metrics`).
"""

from __future__ import annotations

import torch
from torch import nn

from selfsup.errors import ConfigError, DatasetError
from selfsup.engine.device import move_to_device
from selfsup.evaluation.features import computed_once
from selfsup.evaluation.knn import knn_predict
from selfsup.evaluation.linear_probe import fit_logistic_regression
from selfsup.interfaces import DataSource, Evaluator
from selfsup.progress import track

from ..configs import FEATURE_SETS, SegKNNConfig, SegLinearProbeConfig
from .metrics import segmentation_scores

__all__ = ["PointFeatures", "point_features", "SegLinearProbe", "SegKNN"]

PointFeatures = dict[str, torch.Tensor]


def _feature_sets(encoder: nn.Module, requested: list[str], evaluator: str) -> list[str]:
    unknown = [name for name in requested if name not in FEATURE_SETS]
    if unknown or not requested:
        raise ConfigError(f"{evaluator}: feature_sets={requested} must be a non-empty subset of {list(FEATURE_SETS)}.")
    return [name for name in requested if name == "last" or hasattr(encoder, "multires")]


def point_features(
    encoder: nn.Module, data: DataSource, split: str, feature_sets: list[str], *, device: torch.device, batch_size: int
) -> tuple[PointFeatures, torch.Tensor]:
    """Features of every labelled point of ``split`` per feature set, and their labels (int64 ``[P]``).

    Computed once per encoder for both evaluators of a run (the core's
    :func:`~selfsup.evaluation.features.computed_once`): ``seg-linear-probe`` and ``seg-knn`` with
    the same feature sets and batch size share them. Read-only."""
    key = ("pointcloud.point_features", split, tuple(feature_sets), str(device), batch_size)
    return computed_once(
        encoder, data, key, lambda: _point_features(encoder, data, split, feature_sets, device=device, batch_size=batch_size)
    )


@torch.no_grad()
def _point_features(
    encoder: nn.Module, data: DataSource, split: str, feature_sets: list[str], *, device: torch.device, batch_size: int
) -> tuple[PointFeatures, torch.Tensor]:
    try:
        dataset = data.split(split)
    except KeyError as exc:
        raise DatasetError(
            f"split {split!r} is not in the dataset (it has {list(data.splits)}). Set the evaluator's split."
        ) from exc
    was_training = encoder.training
    encoder.eval()
    collected: dict[str, list[torch.Tensor]] = {name: [] for name in feature_sets}
    labels = []
    starts = range(0, len(dataset), batch_size)  # type: ignore[arg-type]
    for start in track(starts, f"evaluate: point features ({split})", unit="batches"):
        batch = data.collate([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])  # type: ignore[arg-type]
        if "label" not in batch or batch["label"].shape[0] != batch["coord"].shape[0]:
            raise DatasetError(
                f"split {split!r} has no per-point labels. Use a segmentation dataset (procedural-rooms, s3dis, scannet)."
            )
        keep = batch["label"] >= 0
        batch = move_to_device(batch, device)
        if hasattr(encoder, "feature_sets"):
            computed = encoder.feature_sets(batch)
        else:
            computed = {name: encoder(batch) if name == "last" else encoder.multires(batch) for name in feature_sets}
        for name in feature_sets:
            collected[name].append(computed[name].float().cpu()[keep])
        labels.append(batch["label"].cpu()[keep])
    encoder.train(was_training)
    return {name: torch.cat(values) for name, values in collected.items()}, torch.cat(labels)


def _subset(count: int, limit: int, seed: int) -> torch.Tensor:
    if count <= limit:
        return torch.arange(count)
    return torch.randperm(count, generator=torch.Generator().manual_seed(seed))[:limit].sort().values


def _num_classes(data: DataSource, *labels: torch.Tensor) -> int:
    declared = getattr(data, "info", {}).get("num_classes")
    seen = max(int(y.max()) + 1 for y in labels if y.numel())
    return max(int(declared or 0), seen)


class SegLinearProbe(Evaluator):
    """Per-point linear-probe segmentation (registered as ``seg-linear-probe``)."""

    config_cls = SegLinearProbeConfig
    config: SegLinearProbeConfig

    def evaluate(self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        cfg = self.config
        sets = _feature_sets(encoder, list(cfg.feature_sets), "seg-linear-probe")
        x_train, y_train = point_features(encoder, data, "train", sets, device=device, batch_size=cfg.batch_size)
        x_eval, y_eval = point_features(encoder, data, cfg.split, sets, device=device, batch_size=cfg.batch_size)
        if y_train.numel() < 2:
            raise DatasetError("seg-linear-probe: the train split has fewer than 2 labelled points. Use more scenes.")
        chosen = _subset(y_train.numel(), cfg.max_train_points, seed)
        if "val" in data.splits and cfg.split != "val":
            x_val, y_val = point_features(encoder, data, "val", sets, device=device, batch_size=cfg.batch_size)
            fit, val = chosen, None
        else:
            order = torch.randperm(chosen.numel(), generator=torch.Generator().manual_seed(seed + 1))
            cut = max(1, int(round(cfg.val_fraction * chosen.numel())))
            val, fit = chosen[order[:cut]], chosen[order[cut:]]
            x_val, y_val = {name: x_train[name][val] for name in sets}, y_train[val]
        val_keep = _subset(y_val.numel(), cfg.max_train_points, seed + 2)
        classes = _num_classes(data, y_train, y_eval, y_val)
        results: dict[str, float] = {}
        for name in sets:
            model, l2 = fit_logistic_regression(
                x_train[name][fit].to(device),
                y_train[fit],
                x_val[name][val_keep],
                y_val[val_keep],
                l2_grid=list(cfg.l2_grid),
                max_iter=cfg.max_iter,
                seed=seed,
                num_classes=classes,
            )
            with torch.no_grad():
                predicted = model(x_eval[name].to(device)).cpu()
            for metric, value in segmentation_scores(y_eval, predicted, classes).items():
                results[f"{metric}_{name}"] = value
            results[f"l2_{name}"] = float(l2)
        return results


class SegKNN(Evaluator):
    """Per-point k-NN segmentation (registered as ``seg-knn``)."""

    config_cls = SegKNNConfig
    config: SegKNNConfig

    def evaluate(self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        cfg = self.config
        sets = _feature_sets(encoder, list(cfg.feature_sets), "seg-knn")
        bank, bank_labels = point_features(encoder, data, "train", sets, device=device, batch_size=cfg.batch_size)
        queries, y_eval = point_features(encoder, data, cfg.split, sets, device=device, batch_size=cfg.batch_size)
        chosen = _subset(bank_labels.numel(), cfg.max_train_points, seed)
        if chosen.numel() < cfg.k:
            raise DatasetError(f"seg-knn: {chosen.numel()} labelled train points, fewer than k={cfg.k}. Lower k.")
        classes = _num_classes(data, bank_labels, y_eval)
        results: dict[str, float] = {}
        for name in sets:
            predicted = knn_predict(
                bank[name][chosen].to(device),
                bank_labels[chosen],
                queries[name].to(device),
                k=cfg.k,
                temperature=cfg.temperature,
                num_classes=classes,
            ).cpu()
            for metric, value in segmentation_scores(y_eval, predicted, classes).items():
                results[f"{metric}_{name}"] = value
        return results

"""Segmentation metrics against scikit-learn, the evaluators' feature sets, and an end-to-end pretrain."""

from __future__ import annotations

import pytest
import torch
from sklearn.metrics import accuracy_score, balanced_accuracy_score, jaccard_score

from selfsup import pretrain
from selfsup.errors import ComponentError
from selfsup_pointcloud.configs import PointUNetConfig, ProceduralRoomsConfig, SegKNNConfig
from selfsup_pointcloud.datasets.procedural import ProceduralRooms
from selfsup_pointcloud.encoders.unet import build_point_unet
from selfsup_pointcloud.evaluation.metrics import confusion_matrix, segmentation_scores
from selfsup_pointcloud.evaluation.segmentation import SegKNN, point_features


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_scores_match_sklearn_on_random_labels() -> None:
    g = torch.Generator().manual_seed(0)
    y_true = torch.randint(0, 5, (400,), generator=g)
    y_pred = torch.where(torch.rand(400, generator=g) < 0.6, y_true, torch.randint(0, 6, (400,), generator=g))
    scores = segmentation_scores(y_true, y_pred, num_classes=7)  # classes 6 absent from both: not counted
    present = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    assert scores["miou"] == pytest.approx(jaccard_score(y_true, y_pred, labels=present, average="macro"))
    assert scores["overall_accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert scores["mean_accuracy"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))


def test_confusion_matrix_by_hand_and_bad_labels() -> None:
    matrix = confusion_matrix(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 1, 1]), 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]
    # IoU: class 0 = 1/2, class 1 = 1/3, class 2 = 0/1 -> mean 5/18
    assert segmentation_scores(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 1, 1]), 3)["miou"] == pytest.approx(5 / 18)
    with pytest.raises(ComponentError, match="Drop ignored"):
        confusion_matrix(torch.tensor([-1, 0]), torch.tensor([0, 0]), 3)


def test_feature_sets_have_the_documented_widths() -> None:
    data = ProceduralRooms(ProceduralRoomsConfig(train_scenes=1, val_scenes=0, test_scenes=1, points_per_m2=60, grid_size=0.15))
    encoder = build_point_unet(PointUNetConfig(grid_size=0.2, channels=[8, 16, 16], decoder_channels=[8, 12, 16]), data.info)
    features, labels = point_features(encoder, data, "test", ["last", "multires"], device=torch.device("cpu"), batch_size=1)
    assert features["last"].shape == (labels.shape[0], 8) and features["multires"].shape == (labels.shape[0], 36)
    # the finest multires block is the trilinear sample of the same level "last" reads at the voxel
    assert torch.corrcoef(torch.stack([features["last"][:, 0], features["multires"][:, 0]]))[0, 1] > 0.5
    scores = SegKNN(SegKNNConfig(max_train_points=500)).evaluate(encoder, data, device=torch.device("cpu"), seed=0)
    assert {"miou_last", "miou_multires", "overall_accuracy_last", "mean_accuracy_multires"} <= set(scores)


def test_the_two_segmentation_evaluators_embed_each_split_once_per_encoder(monkeypatch) -> None:
    """Inside the run's shared-features block, seg-linear-probe and seg-knn share the per-point
    features (same feature sets and batch size), with the same scores as when each embeds alone."""
    from selfsup.evaluation.features import shared_features
    from selfsup_pointcloud.configs import SegLinearProbeConfig
    from selfsup_pointcloud.evaluation import segmentation
    from selfsup_pointcloud.evaluation.segmentation import SegLinearProbe

    data = ProceduralRooms(ProceduralRoomsConfig(train_scenes=2, val_scenes=1, test_scenes=1, points_per_m2=60, grid_size=0.15))
    encoder = build_point_unet(PointUNetConfig(grid_size=0.2, channels=[8, 16, 16], decoder_channels=[8, 12, 16]), data.info)
    calls: list[str] = []
    embed = segmentation._point_features
    monkeypatch.setattr(segmentation, "_point_features", lambda enc, d, split, *a, **k: calls.append(split) or embed(enc, d, split, *a, **k))
    evaluators = [SegLinearProbe(SegLinearProbeConfig(max_train_points=500, max_iter=20)), SegKNN(SegKNNConfig(max_train_points=500))]
    alone = [e.evaluate(encoder, data, device=torch.device("cpu"), seed=0) for e in evaluators]
    assert sorted(calls) == ["test", "test", "train", "train", "val"]
    calls.clear()
    with shared_features():
        shared = [e.evaluate(encoder, data, device=torch.device("cpu"), seed=0) for e in evaluators]
    assert sorted(calls) == ["test", "train", "val"]
    assert shared == alone


def test_pretrain_runs_end_to_end_beside_random_init(tmp_path) -> None:
    result = pretrain(
        modality="pointcloud",
        run_dir=tmp_path / "run",
        seed=0,
        data={"train_scenes": 4, "val_scenes": 1, "test_scenes": 1, "points_per_m2": 60, "grid_size": 0.15},
        encoder_config={"grid_size": 0.2, "channels": [8, 16, 16], "decoder_channels": [8, 8, 16]},
        trainer={"max_steps": 6, "progress": "off", "log_every": 3, "batch_size": 2},
        evaluator_config={"seg-linear-probe": {"max_train_points": 2000, "max_iter": 20}, "seg-knn": {"max_train_points": 2000}},
    )
    assert result.config["objective"] == "msm" and result.config["evaluators"] == ["seg-linear-probe", "seg-knn"]
    for key in ("seg-linear-probe/miou_multires", "seg-knn/miou_last"):
        assert 0.0 <= result.metrics[key] <= 1.0 and key in result.random_init_metrics
    losses = [line["loss/main"] if "loss/main" in line else line["loss"] for line in result.history]
    assert len(losses) == 6 and all(v == v for v in losses)


@pytest.mark.slow
def test_msm_pretraining_beats_random_init_on_multires_linear_probe(tmp_path) -> None:
    """Quality on small generated rooms (20 steps; the random-init twin has the same seed and architecture).

    Measured with this exact configuration over seeds 0/1/2 (2026-12-07, CPU): multires mIoU
    pretrained 0.560/0.546/0.574 vs random init 0.377/0.324/0.364, paired gains +0.184/+0.221/+0.210
    (mean 0.205, sample sd 0.019, range 0.037). The margin asked, 0.15, lies below the smallest gain
    and more than 5 sd above zero; the floor 0.5 lies below every pretrained score and above every
    random init.
    """
    result = pretrain(
        modality="pointcloud",
        run_dir=tmp_path / "run",
        seed=1,
        data={"train_scenes": 6, "val_scenes": 1, "test_scenes": 2, "points_per_m2": 100, "grid_size": 0.15},
        encoder_config={"grid_size": 0.15, "channels": [16, 32, 32], "decoder_channels": [16, 16, 32]},
        trainer={"max_steps": 20, "progress": "off", "log_every": 10, "batch_size": 2},
        evaluators=["seg-linear-probe"],
        evaluator_config={
            "seg-linear-probe": {"max_train_points": 3000, "l2_grid": [1e-2], "max_iter": 50, "feature_sets": ["multires"]}
        },
    )
    pretrained = result.metrics["seg-linear-probe/miou_multires"]
    baseline = result.random_init_metrics["seg-linear-probe/miou_multires"]
    assert pretrained > baseline + 0.15, (pretrained, baseline)
    assert pretrained > 0.5, pretrained

"""The point-cloud components pass selfsup's conformance kits (built through the registry)."""

from __future__ import annotations

from selfsup.testing import DatasetContract, EvaluatorContract, ObjectiveContract, PluginImportContract

TINY_ROOMS = {"train_scenes": 3, "val_scenes": 1, "test_scenes": 1, "points_per_m2": 60, "grid_size": 0.15}
TINY_UNET = {"grid_size": 0.2, "channels": [8, 16, 16], "decoder_channels": [8, 8, 16]}


class TestProceduralRoomsContract(DatasetContract):
    modality = "pointcloud"
    dataset = "procedural-rooms"
    dataset_config = TINY_ROOMS
    batch_size = 2


class TestMSMContract(ObjectiveContract):
    modality = "pointcloud"
    dataset = "procedural-rooms"
    dataset_config = TINY_ROOMS
    batch_size = 2
    encoder = "point-unet"
    encoder_config = TINY_UNET
    objective = "msm"


class TestSegLinearProbeContract(EvaluatorContract):
    modality = "pointcloud"
    dataset = "procedural-rooms"
    dataset_config = TINY_ROOMS
    encoder = "point-unet"
    encoder_config = TINY_UNET
    evaluator = "seg-linear-probe"
    evaluator_config = {"max_train_points": 2000, "max_iter": 30}


class TestSegKNNContract(EvaluatorContract):
    modality = "pointcloud"
    dataset = "procedural-rooms"
    dataset_config = TINY_ROOMS
    encoder = "point-unet"
    encoder_config = TINY_UNET
    evaluator = "seg-knn"
    evaluator_config = {"max_train_points": 2000}


class TestPointCloudPluginImport(PluginImportContract):
    plugin_module = "selfsup_pointcloud.plugin"
    heavy_modules = ("torch", "open3d", "numpy", "sklearn")

"""The point-cloud plugin's entry point: hook implementations returning specs, nothing else.

Factories are lazy ``"module:attribute"`` paths and the configs are standard-library
dataclasses (:mod:`selfsup_pointcloud.configs`), so registering imports neither torch
nor open3d.
"""

from __future__ import annotations

from selfsup import DatasetSpec, EncoderSpec, EvaluatorSpec, ModalitySpec, ObjectiveSpec, hookimpl

from .configs import (
    ModelNetConfig,
    MSMConfig,
    PointFilesConfig,
    PointUNetConfig,
    ProceduralRoomsConfig,
    S3DISConfig,
    ScanNetConfig,
    SegKNNConfig,
    SegLinearProbeConfig,
    ShapeLinearProbeConfig,
)
from .gaussians.config import GaussianCrossConfig

__all__ = [
    "POINTCLOUD",
    "register_modalities",
    "register_encoders",
    "register_objectives",
    "register_datasets",
    "register_evaluators",
]

#: Every point-cloud dataset's "files -> batch" transform (``selfsup embed`` / ``export``).
POINT_INPUTS = "selfsup_pointcloud.datasets.inputs:point_inputs"

POINTCLOUD = frozenset({"pointcloud"})

#: MSM's pretraining schedule is unpublished (methods-3d.md §1.3); AdamW with a short warm-up
#: and cosine decay, as in Pointcept's MSC/PTv3 pretraining configs, scaled to small scenes.
MSM_TRAINER_DEFAULTS = {
    "optimizer": "adamw",
    "lr": 2e-3,
    "weight_decay": 0.05,
    "schedule": "cosine",
    "warmup_fraction": 0.05,
    "batch_size": 4,
}


#: GaussianCross's pretraining recipe is unreleased (methods-3d.md §2.1): AdamW with warm-up and
#: cosine decay as in Pointcept's pretraining configs, scaled to small scenes; batch 2 scenes
#: because every scene is rendered from several views.
GAUSSIAN_CROSS_TRAINER_DEFAULTS = {
    "optimizer": "adamw",
    "lr": 1e-3,
    "weight_decay": 0.05,
    "schedule": "cosine",
    "warmup_fraction": 0.05,
    "batch_size": 2,
}


@hookimpl
def register_modalities() -> list[ModalitySpec]:
    return [
        ModalitySpec(
            name="pointcloud",
            sample_unit="scenes",
            description="3-D point clouds and indoor scenes; per-point semantic segmentation probes.",
            default_encoder="point-unet",
            default_objective="msm",
            default_dataset="procedural-rooms",
            default_evaluators=("seg-linear-probe", "seg-knn"),
            # unlabelled point files have only a train split: embedding statistics read it
            overrides={
                "trainer": {"max_steps": 300, "batch_size": 4, "eval_batch_size": 4},
                "evaluator_config": {"embedding-stats": {"split": "train"}},
            },
        )
    ]


@hookimpl
def register_encoders() -> list[EncoderSpec]:
    return [
        EncoderSpec(
            name="point-unet",
            modality="pointcloud",
            factory="selfsup_pointcloud.encoders.unet:build_point_unet",
            config_cls=PointUNetConfig,
            description="Voxel U-Net in pure torch: sparse 3x3x3 convolutions by neighbour gather, "
            "grid pooling by scatter; per-point features, every decoder level exposed.",
        )
    ]


@hookimpl
def register_objectives() -> list[ObjectiveSpec]:
    return [
        ObjectiveSpec(
            name="msm",
            modalities=POINTCLOUD,
            factory="selfsup_pointcloud.objectives.msm:MSM",
            config_cls=MSMConfig,
            description="Masked Scene Modeling (Hermosilla et al., CVPR 2025): cross-view EMA-teacher "
            "feature regression of masked voxels at every decoder level, coarsest first.",
            encoders=("point-unet",),  # reads every decoder level
            trainer_defaults=MSM_TRAINER_DEFAULTS,
        ),
        ObjectiveSpec(
            name="gaussian-cross",
            modalities=POINTCLOUD,
            factory="selfsup_pointcloud.objectives.gaussian_cross:GaussianCross",
            config_cls=GaussianCrossConfig,
            description="GaussianCross (Yao et al., ACM MM 2025): masked scene -> one Gaussian per unit-cube voxel, "
            "splatted into posed RGB-D views; L1 colour + L1 depth + cosine distillation of a frozen 2-D teacher. "
            "Needs a dataset with views (procedural-rooms: data.views_per_scene>0).",
            default_dataset="procedural-rooms",
            data_defaults={"views_per_scene": 4},  # posed RGB-D views to render into
            trainer_defaults=GAUSSIAN_CROSS_TRAINER_DEFAULTS,
        ),
    ]


@hookimpl
def register_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name="procedural-rooms",
            modality="pointcloud",
            input_transform=POINT_INPUTS,
            factory="selfsup_pointcloud.datasets.procedural:ProceduralRooms",
            config_cls=ProceduralRoomsConfig,
            description="Generated rooms (floor, walls, tables, chairs, cabinets, sofas), coloured, labelled "
            "per point, with optional posed RGB-D views; needs no files.",
        ),
        DatasetSpec(
            name="s3dis",
            modality="pointcloud",
            input_transform=POINT_INPUTS,
            factory="selfsup_pointcloud.datasets.s3dis:S3DIS",
            config_cls=S3DISConfig,
            description="S3DIS rooms from root/Area_N/<room>/Annotations/*.txt (13 classes; one area is the test split).",
        ),
        DatasetSpec(
            name="scannet",
            modality="pointcloud",
            input_transform=POINT_INPUTS,
            factory="selfsup_pointcloud.datasets.scannet:ScanNet",
            config_cls=ScanNetConfig,
            description="ScanNet v2 scenes, raw *_vh_clean_2.ply + .labels.ply or preprocessed npy/pth (20 classes).",
        ),
        DatasetSpec(
            name="modelnet",
            modality="pointcloud",
            input_transform=POINT_INPUTS,
            factory="selfsup_pointcloud.datasets.modelnet:ModelNet",
            config_cls=ModelNetConfig,
            description="ModelNet10/40 OFF meshes in class folders, sampled to points (one label per shape).",
        ),
        DatasetSpec(
            name="point-files",
            modality="pointcloud",
            input_transform=POINT_INPUTS,
            factory="selfsup_pointcloud.datasets.files:PointFiles",
            config_cls=PointFilesConfig,
            description="Every point cloud (.ply .pcd .xyz .pts) or mesh (.obj .off .stl) under root; unlabelled.",
        ),
    ]


@hookimpl
def register_evaluators() -> list[EvaluatorSpec]:
    return [
        EvaluatorSpec(
            name="seg-linear-probe",
            modalities=POINTCLOUD,
            factory="selfsup_pointcloud.evaluation.segmentation:SegLinearProbe",
            tasks=frozenset({"binary", "multiclass"}),
            label_level="point",
            config_cls=SegLinearProbeConfig,
            description="Per-point linear probe for semantic segmentation (mIoU, overall accuracy) on last-layer "
            "and multi-resolution features.",
        ),
        EvaluatorSpec(
            name="seg-knn",
            modalities=POINTCLOUD,
            factory="selfsup_pointcloud.evaluation.segmentation:SegKNN",
            tasks=frozenset({"binary", "multiclass"}),
            label_level="point",
            config_cls=SegKNNConfig,
            description="Per-point k-NN semantic segmentation (mIoU, overall accuracy) on last-layer and "
            "multi-resolution features.",
        ),
        EvaluatorSpec(
            name="shape-linear-probe",
            modalities=POINTCLOUD,
            factory="selfsup_pointcloud.evaluation.shapes:ShapeLinearProbe",
            tasks=frozenset({"binary", "multiclass"}),
            label_level="shape",
            config_cls=ShapeLinearProbeConfig,
            description="Shape classification (ModelNet) by a linear probe on [mean, max]-pooled per-point features.",
        ),
    ]

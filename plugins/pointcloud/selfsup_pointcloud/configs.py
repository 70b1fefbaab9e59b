"""Config dataclasses of the point-cloud plugin's components.

Standard library only, so that ``plugin.py`` registers every component without
importing torch or open3d. Fields are OmegaConf structured-config compatible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

__all__ = [
    "ProceduralRoomsConfig",
    "S3DISConfig",
    "ScanNetConfig",
    "ModelNetConfig",
    "PointFilesConfig",
    "PointUNetConfig",
    "MSMConfig",
    "SegLinearProbeConfig",
    "SegKNNConfig",
    "ShapeLinearProbeConfig",
    "FEATURE_SETS",
]

#: Feature sets the segmentation evaluators read: the last decoder layer, or every decoder level concatenated.
FEATURE_SETS = ("last", "multires")


@dataclass
class ProceduralRoomsConfig:
    """``procedural-rooms``: seeded rooms (floor, walls, tables, chairs, cabinets, sofas), coloured, labelled per point.

    Needs no files. Colours are drawn per object from one palette shared by every
    class, so the class of a point follows from geometry and context, not colour.
    """

    root: Optional[str] = None
    train_scenes: int = 24
    val_scenes: int = 4
    test_scenes: int = 8
    #: Room side lengths are drawn uniformly from this range (metres).
    room_size: list[float] = field(default_factory=lambda: [3.0, 5.0])
    #: Surface sampling density before grid sampling (points per square metre).
    points_per_m2: float = 300.0
    #: Furniture pieces per room, drawn uniformly from this range.
    furniture: list[int] = field(default_factory=lambda: [3, 7])
    #: Voxel side of the grid sampling applied to every scene (metres).
    grid_size: float = 0.1
    #: Standard deviation of the position noise added to sampled points (metres).
    noise: float = 0.005
    #: Posed RGB-D views rendered per scene from its dense points (0: none). GaussianCross needs them.
    views_per_scene: int = 0
    #: Height and width of each rendered view (pixels).
    view_size: list[int] = field(default_factory=lambda: [60, 80])
    #: Horizontal field of view of the view cameras (degrees).
    view_fov: float = 75.0
    seed: int = 0


@dataclass
class S3DISConfig:
    """``s3dis``: Stanford indoor scenes from ``root/Area_N/<room>/Annotations/<class>_<i>.txt``.

    Area ``test_area`` is the test split (the common Area-5 protocol), the others train.
    """

    root: Optional[str] = None
    test_area: int = 5
    grid_size: float = 0.05
    #: Estimate normals with open3d and append them to the colour features.
    normals: bool = True
    #: Read at most this many rooms per split (``None``: all).
    max_scenes: Optional[int] = None


@dataclass
class ScanNetConfig:
    """``scannet``: ScanNet v2 scenes, raw (``scans/<scene>/<scene>_vh_clean_2.ply`` + ``.labels.ply``)
    or Pointcept-preprocessed (``<split>/<scene>/coord.npy, color.npy, normal.npy, segment20.npy``).

    Labels are the 20 ScanNet benchmark classes (NYU40 ids mapped; others ignored).
    """

    root: Optional[str] = None
    grid_size: float = 0.05
    normals: bool = True
    max_scenes: Optional[int] = None


@dataclass
class ModelNetConfig:
    """``modelnet``: ModelNet10/40 meshes ``root/<class>/{train,test}/<name>.off``, sampled to points.

    Each mesh is sampled uniformly (``oversample * num_points`` points, open3d),
    then reduced to ``num_points`` by farthest-point sampling, and scaled into the unit sphere.
    """

    root: Optional[str] = None
    num_points: int = 1024
    oversample: int = 4
    grid_size: float = 0.02
    normals: bool = True
    max_per_class: Optional[int] = None
    seed: int = 0


@dataclass
class PointFilesConfig:
    """``point-files``: every point cloud (``.ply .pcd .xyz .pts``) or mesh (``.obj .off .stl``) under ``root``.

    Unlabelled (for pretraining and smoke tests, e.g. the Stanford bunny). Meshes
    are sampled to ``mesh_points`` points; ``.ply`` files with faces are meshes.
    """

    root: Optional[str] = None
    grid_size: float = 0.005
    mesh_points: int = 20000
    normals: bool = True
    #: Scale every cloud so that its bounding-box diagonal is this long (``None``: keep the file's units).
    normalize_extent: Optional[float] = None
    seed: int = 0


@dataclass
class PointUNetConfig:
    """``point-unet``: a voxel U-Net of submanifold sparse convolutions in pure torch (sized for CPU).

    Level ``l`` has voxels of side ``grid_size * 2**l``. The encoder has one
    stage per entry of ``channels``; the decoder returns one feature map per
    level (``decoder_channels``, finest first). ``embed_dim`` is ``decoder_channels[0]``.
    """

    grid_size: float = 0.1
    channels: list[int] = field(default_factory=lambda: [16, 32, 64, 96])
    decoder_channels: list[int] = field(default_factory=lambda: [32, 32, 64, 96])
    #: Residual blocks (two 3x3x3 sparse convolutions each) per encoder stage and per decoder level.
    blocks: int = 1


@dataclass
class MSMConfig:
    """``msm``: Masked Scene Modeling (Hermosilla, Stippel, Sick, CVPR 2025; arXiv 2504.06719).

    Two augmented, cropped views of each scene; the student encodes the visible
    voxels of a view; its decoder re-inserts a learned mask token for the masked
    voxels at every level, coarsest first, and a head per level regresses the EMA
    teacher's features of the other view at the masked voxels.
    """

    #: Fraction of mask patches hidden from the student (paper: best at about 0.4).
    mask_ratio: float = 0.4
    #: Level whose voxels are the mask patches (``-1``: the coarsest). Finer voxels inherit their patch's mask.
    mask_level: int = -1
    #: Decoder levels that contribute to the loss (``None``: all; 0 is the finest).
    loss_levels: Optional[list[int]] = None
    #: Each view keeps the points inside a random axis-aligned box of this fraction of the scene's x/y extent.
    crop_fraction: list[float] = field(default_factory=lambda: [0.6, 0.9])
    #: Random rotation about z of each view, in degrees: uniform in [-rotation, rotation].
    rotation: float = 180.0
    scale: list[float] = field(default_factory=lambda: [0.9, 1.1])
    flip: float = 0.5
    jitter: float = 0.005
    #: Standard deviation of additive colour noise on the normalised colour channels.
    color_jitter: float = 0.05
    #: EMA momentum of the teacher, linear from ``momentum`` to ``momentum_end`` over the run.
    momentum: float = 0.99
    momentum_end: float = 1.0


@dataclass
class SegLinearProbeConfig:
    """``seg-linear-probe``: per-point logistic regression on frozen features; mIoU, overall and mean accuracy."""

    split: str = "test"
    #: ``last`` (last decoder layer, GaussianCross's protocol) and/or ``multires`` (every decoder level, MSM's).
    feature_sets: list[str] = field(default_factory=lambda: ["last", "multires"])
    l2_grid: list[float] = field(default_factory=lambda: [1e-4, 1e-3, 1e-2])
    max_iter: int = 100
    #: Training points used for the fit (a seeded random subset of the train split's labelled points).
    max_train_points: int = 20000
    val_fraction: float = 0.1
    #: Scenes per feature-extraction batch.
    batch_size: int = 4


@dataclass
class SegKNNConfig:
    """``seg-knn``: per-point weighted k-NN on cosine similarity of frozen features; mIoU, overall and mean accuracy."""

    split: str = "test"
    feature_sets: list[str] = field(default_factory=lambda: ["last", "multires"])
    k: int = 20
    temperature: float = 0.07
    #: Memory-bank size: a seeded random subset of the train split's labelled points.
    max_train_points: int = 20000
    batch_size: int = 4


@dataclass
class ShapeLinearProbeConfig:
    """``shape-linear-probe``: logistic regression on [mean ‖ max]-pooled per-point features (ModelNet); accuracy."""

    split: str = "test"
    #: ``last`` or ``multires`` per-point features, pooled per shape.
    feature_set: str = "last"
    l2_grid: list[float] = field(default_factory=lambda: [1e-4, 1e-3, 1e-2])
    max_iter: int = 200
    val_fraction: float = 0.1
    batch_size: int = 16

"""``gaussian-cross``'s config (standard library only, so that ``plugin.py`` imports no torch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

__all__ = ["GaussianCrossConfig", "TEACHERS"]

#: Built-in 2-D teachers; any other value is a ``"package.module:factory"`` path.
TEACHERS = ("none", "resnet18")


@dataclass
class GaussianCrossConfig:
    """``gaussian-cross``: GaussianCross (Yao, Wang, Zhang, Liu, Chau, ACM MM 2025; arXiv 2508.02172).

    The scene is masked (``mask_ratio`` of the ``mask_cells``³ cells of its unit cube) and
    encoded; per-point features are averaged into the occupied voxels of a
    ``resolution``³ lattice over the scene's unit cube (masked voxels get a learned
    token), refined by a dense 3-D CNN, and decoded by MLP heads into one Gaussian per
    voxel (offset, rotation, scale, colour, opacity, feature). Gaussians with opacity
    ≤ ``prune_opacity`` are pruned; the rest are splatted into ``num_views`` posed RGB-D
    views of the scene, with L1 colour, L1 depth and cosine feature-distillation losses.
    The paper's weights λ, lattice size, Δ and feature width are unpublished: these
    defaults are scaled to CPU-sized procedural rooms.
    """

    mask_ratio: float = 0.5
    #: The mask patches: a ``mask_cells``³ partition of the unit cube; ``mask_ratio`` of each scene's occupied cells are hidden.
    mask_cells: int = 4
    #: Anchor lattice side: the unit cube holds ``resolution``³ voxels (the paper's X×Y×Z).
    resolution: int = 16
    #: ``occupied``: one anchor per voxel holding points of the (unmasked) scene; ``lattice``: every
    #: voxel of the lattice, as in the paper (``resolution``³ per scene; opacity pruning removes empty space).
    anchors: str = "occupied"
    #: Channels and 3x3x3 layers of the dense refinement CNN (the paper's E_θ^den).
    dense_channels: int = 32
    dense_layers: int = 2
    #: Width of the Gaussians' semantic feature f.
    feature_dim: int = 16
    #: Maximal offset Δ of a Gaussian from its voxel centre, in voxels (μ = ν + tanh(·)·Δ).
    offset_voxels: float = 1.0
    #: Gaussian scales are sigmoid(·) · ``max_scale_voxels`` voxels.
    max_scale_voxels: float = 1.5
    #: Anchors with opacity ≤ τ are pruned (paper: τ = 0.3).
    prune_opacity: float = 0.3
    #: Posed views rendered per scene and step (paper: M = 5); drawn from those the dataset gives.
    num_views: int = 2
    color_weight: float = 1.0
    depth_weight: float = 1.0
    #: Weight of the feature-distillation term; 0 turns it (and the teacher) off.
    feature_weight: float = 0.5
    #: The frozen 2-D teacher: ``none``, ``resnet18`` (torchvision, its first ``teacher_stages`` stages),
    #: or ``"package.module:factory"`` returning a module mapping ``[B, 3, H, W]`` images in 0..1 to
    #: ``[B, C, h, w]`` feature maps (e.g. a selfsup-vision encoder's trunk).
    teacher: str = "resnet18"
    #: A local state-dict file for the teacher (``None``: the seeded random initialisation).
    teacher_weights: Optional[str] = None
    teacher_stages: int = 1
    #: Colour of empty space in renders (0..1 RGB).
    background: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    #: ``auto`` (gsplat on CUDA when installed, else pure torch), ``torch`` or ``gsplat``.
    renderer: str = "auto"

    def __post_init__(self) -> None:
        from selfsup.factories import check_config_factory

        # a "package.module:factory" teacher must be on the allow-list: refused before any data is built
        check_config_factory(self.teacher, key="objective_config.teacher", builtin=TEACHERS)

"""``gaussian-cross``: GaussianCross (Yao, Wang, Zhang, Liu, Chau, "GaussianCross: Cross-modal
Self-supervised 3D Representation Learning via Gaussian Splatting", ACM MM 2025,
arXiv 2508.02172; official repo ``RayYoh/GaussianCross``, whose pretraining code is unreleased,
so this follows the paper and its project page ``docs/index.html``; methods-3d.md §2).

One step on a batch of scenes with posed RGB-D views (``intrinsics``, ``world_to_camera``,
``image``, ``depth``, see :mod:`selfsup_pointcloud.datasets.base`):

1. every scene is mapped into its unit cube and voxelised at ``resolution``³; each occupied
   voxel is a Gaussian anchor (:mod:`selfsup_pointcloud.gaussians.anchors`);
2. ``mask_ratio`` of the scene's ``mask_cells``³ patches are hidden and the encoder (the
   transferred backbone, e.g. ``point-unet``) encodes the visible points;
3. :class:`~selfsup_pointcloud.gaussians.heads.GaussianHeads` pools the features into the
   anchors (mask token for hidden ones), refines them with a dense 3-D CNN and decodes one
   Gaussian per anchor; Gaussians with opacity ≤ τ are pruned;
4. the Gaussians are splatted (:mod:`selfsup_pointcloud.gaussians.renderer`) into
   ``num_views`` of the scene's views, drawn at random each step;
5. loss :math:`\\lambda_1 L_{img} + \\lambda_2 L_{dep} + \\lambda_3 L_{sem}` (L1 colour, L1 depth on
   valid pixels, 1 - cos between the projected rendered features and a frozen 2-D
   teacher's features of the real image, rendered features average-pooled to the teacher's
   resolution).

Deviations (paper details unpublished or scaled down): by default the anchors are the
*occupied* voxels of the full scene (``anchors="lattice"`` gives the paper's whole lattice);
λ, R, Δ, the feature width and the optimiser are not published (defaults in :class:`~selfsup_pointcloud.gaussians.config.GaussianCrossConfig`);
RADIOv2.5 is replaced by a configurable local image encoder.

On CPU each scene's surviving Gaussians are selected by boolean indexing before rendering
(CPU has no host-device sync); on CUDA pruned and other scenes' Gaussians get opacity 0
instead, so that the step has static shapes and no sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from selfsup.errors import ConfigError, DatasetError
from selfsup.interfaces import Batch, Objective, Phase, StepOutput

from ..gaussians.anchors import lattice_anchors, patch_mask, unit_cube, voxel_anchors
from ..gaussians.config import GaussianCrossConfig
from ..gaussians.heads import GaussianHeads, GaussianSet
from ..gaussians.renderer import RenderOutput, render_gaussians
from ..gaussians.teacher import build_teacher
from ..losses.gaussian_cross_color import gaussian_cross_color_loss
from ..losses.gaussian_cross_depth import gaussian_cross_depth_loss
from ..losses.gaussian_cross_feature import gaussian_cross_feature_loss

__all__ = ["GaussianCross", "GaussianCrossConfig", "VIEW_KEYS"]

#: The batch keys of posed views: ``intrinsics [B, V, 3, 3]``, ``world_to_camera [B, V, 4, 4]``,
#: ``image [B, V, 3, H, W]`` (0..1), ``depth [B, V, H, W]`` (metres, 0 = no reading).
VIEW_KEYS = ("intrinsics", "world_to_camera", "image", "depth")


def _validate(config: GaussianCrossConfig) -> None:
    problems = []
    if not 0.0 <= config.mask_ratio < 1.0:
        problems.append(f"mask_ratio={config.mask_ratio} must be in [0, 1)")
    if config.resolution < 2 or config.mask_cells < 1:
        problems.append(f"resolution={config.resolution} must be >= 2 and mask_cells={config.mask_cells} >= 1")
    if config.num_views < 1 or config.feature_dim < 1 or config.dense_channels < 1 or config.dense_layers < 0:
        problems.append("num_views, feature_dim and dense_channels must be >= 1, dense_layers >= 0")
    if min(config.color_weight, config.depth_weight, config.feature_weight) < 0:
        problems.append("loss weights must be >= 0")
    if not 0.0 <= config.prune_opacity < 1.0:
        problems.append(f"prune_opacity={config.prune_opacity} must be in [0, 1)")
    if len(config.background) != 3:
        problems.append(f"background={list(config.background)} must be 3 values (RGB in 0..1)")
    if config.anchors not in ("occupied", "lattice"):
        problems.append(f"anchors={config.anchors!r} must be 'occupied' or 'lattice'")
    if config.renderer not in ("auto", "torch", "gsplat"):
        problems.append(f"renderer={config.renderer!r} must be 'auto', 'torch' or 'gsplat'")
    if config.feature_weight > 0 and config.teacher == "none":
        problems.append("feature_weight > 0 needs a teacher (teacher='none' given)")
    if problems:
        raise ConfigError(
            "gaussian-cross: " + "; ".join(problems) + ". Fix those objective_config values "
            "(defaults: mask_ratio=0.5 resolution=16 prune_opacity=0.3 teacher=resnet18)."
        )


class GaussianCross(Objective):
    """The ``gaussian-cross`` objective; see the module docstring."""

    def __init__(self, config: GaussianCrossConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder)
        _validate(config)
        self.config = config
        self.heads = GaussianHeads(
            int(encoder.embed_dim),
            channels=config.dense_channels,
            dense_layers=config.dense_layers,
            feature_dim=config.feature_dim,
            offset_voxels=config.offset_voxels,
            max_scale_voxels=config.max_scale_voxels,
        )
        self.distil = config.feature_weight > 0
        self.teacher: nn.Module | None = None
        self.projection: nn.Module | None = None
        if self.distil:
            self.teacher = build_teacher(config.teacher, config.teacher_weights, config.teacher_stages)
            with torch.no_grad():
                channels = int(self.teacher(torch.zeros(1, 3, 32, 32)).shape[1])
            self.projection = nn.Linear(config.feature_dim, channels)  # P_ψ
        self.register_buffer("background", torch.tensor(list(config.background), dtype=torch.float32), persistent=False)

    def train(self, mode: bool = True) -> GaussianCross:
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()  # frozen: its batch-norm statistics never move
        return self

    def phases(self) -> list[Phase]:
        phases = super().phases()
        if not self.distil:  # the feature head is unused without distillation
            unused = {id(p) for p in self.heads.feature.parameters()}
            phases[0].parameters = [p for p in phases[0].parameters if id(p) not in unused]
        return phases

    # -- pieces ----------------------------------------------------------------------------------
    def _views(self, batch: Batch) -> dict[str, torch.Tensor]:
        missing = [key for key in VIEW_KEYS if key not in batch]
        if missing:
            raise DatasetError(
                f"gaussian-cross needs posed RGB-D views in every batch; it lacks {missing}. Use a dataset with "
                "views, e.g. data=procedural-rooms with data.views_per_scene=4."
            )
        views = {key: batch[key] for key in VIEW_KEYS}
        available = views["image"].shape[1]
        if available > self.config.num_views:
            scenes = views["image"].shape[0]
            pick = torch.rand(scenes, available, device=views["image"].device).argsort(dim=1)[:, : self.config.num_views]
            views = {
                key: value.gather(1, pick.view(scenes, -1, *([1] * (value.ndim - 2))).expand(-1, -1, *value.shape[2:]))
                for key, value in views.items()
            }
        return views

    def gaussians(self, batch: Batch) -> tuple[GaussianSet, torch.Tensor]:
        """Encode the masked scenes and decode their Gaussians (in metres) and the visibility mask."""
        coord, scene = batch["coord"], batch["batch"]
        num_scenes = batch["image"].shape[0] if "image" in batch else int(scene.max()) + 1
        cube = unit_cube(coord, scene, num_scenes)
        if self.config.anchors == "lattice":
            anchors = lattice_anchors(cube.unit, scene, num_scenes, self.config.resolution)
        else:
            anchors = voxel_anchors(cube.unit, scene, self.config.resolution)
        visible = patch_mask(cube.unit, scene, num_scenes, self.config.mask_cells, self.config.mask_ratio)
        masked = {key: batch[key][visible] for key in ("coord", "feat", "batch")}
        features = self.encoder(masked)
        return self.heads(features, visible, anchors, num_scenes).to_world(cube), visible

    def _render_scene(self, gaussians: GaussianSet, index: int, intrinsics: torch.Tensor,
                      world_to_camera: torch.Tensor, height: int, width: int) -> RenderOutput:
        mine = (gaussians.batch == index) & gaussians.keep(self.config.prune_opacity)
        features = gaussians.features if self.distil else None
        if gaussians.means.device.type == "cpu":
            select = mine.nonzero().squeeze(1)
            parts = [gaussians.means, gaussians.quats, gaussians.scales, gaussians.opacities, gaussians.colors]
            means, quats, scales, opacities, colors = (t[select] for t in parts)
            features = None if features is None else features[select]
        else:
            means, quats, scales, colors = gaussians.means, gaussians.quats, gaussians.scales, gaussians.colors
            opacities = gaussians.opacities * mine.to(gaussians.opacities.dtype)
        return render_gaussians(
            means, quats, scales, opacities, colors, intrinsics, world_to_camera, height, width,
            features=features, background=self.background.to(means.dtype), backend=self.config.renderer,
        )

    # -- the step ----------------------------------------------------------------------------------
    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        views = self._views(batch)
        gaussians, visible = self.gaussians(batch)
        images = views["image"]  # [B, V, 3, H, W]
        num_scenes, num_views, _, height, width = images.shape
        renders = [
            self._render_scene(gaussians, b, views["intrinsics"][b], views["world_to_camera"][b], height, width)
            for b in range(num_scenes)
        ]
        color = torch.stack([r.color for r in renders])  # [B, V, H, W, 3]
        depth = torch.stack([r.depth for r in renders])
        loss_color = gaussian_cross_color_loss(color, images.permute(0, 1, 3, 4, 2))
        loss_depth = gaussian_cross_depth_loss(depth, views["depth"])
        loss = self.config.color_weight * loss_color + self.config.depth_weight * loss_depth
        out: StepOutput = {"color_l1": loss_color.detach(), "depth_l1": loss_depth.detach()}
        if self.distil:
            assert self.teacher is not None and self.projection is not None
            with torch.no_grad():
                target = self.teacher(images.flatten(0, 1))  # [B·V, C, h, w]
            rendered = torch.stack([r.features for r in renders]).flatten(0, 1).permute(0, 3, 1, 2)
            pooled = nn.functional.adaptive_avg_pool2d(rendered, target.shape[-2:])
            predicted = self.projection(pooled.permute(0, 2, 3, 1))
            loss_feature = gaussian_cross_feature_loss(predicted, target.permute(0, 2, 3, 1))
            loss = loss + self.config.feature_weight * loss_feature
            out["feature_cos"] = loss_feature.detach()
        out["visible_fraction"] = visible.float().mean().detach()
        out["kept_fraction"] = gaussians.keep(self.config.prune_opacity).float().mean().detach()
        out["loss"] = loss
        return out

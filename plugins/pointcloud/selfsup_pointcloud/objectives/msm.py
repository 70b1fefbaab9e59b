"""``msm``: Masked Scene Modeling (Hermosilla, Stippel, Sick, CVPR 2025; arXiv 2504.06719).

One training step, for a batch of scenes (methods-3d.md §1.3):

1. Two views per scene: a random x/y crop, rotation about z, scale, flip, jitter and colour
   noise each (:func:`~selfsup_pointcloud.transforms.augmented_view`); each view is voxelised
   into the encoder's octree.
2. Masking: a fraction ``mask_ratio`` of the voxels of level ``mask_level`` (the coarsest by
   default) is drawn without replacement; every point inside a masked voxel is removed from
   the student's input. The student encodes the remaining (visible) voxels only, on the same
   lattice as the whole view.
3. Decoding bottom-up: at every level, coarsest first, the voxels the student never saw are
   re-inserted into the decoder's skip input as that level's learnable mask token; the
   decoder then runs on the full view's voxels.
4. Targets: an EMA teacher (a copy of the encoder, never masked) decodes the *other* view;
   the target of a level-``l`` voxel is the mean teacher feature, at level ``l`` of the other
   view, of the voxels holding the same source points. Voxels with no point in the other
   view's crop get no target.
5. Loss: per level, a linear head maps the student's decoder feature to the teacher's
   feature space; :func:`~selfsup_pointcloud.losses.msm.msm_loss` averages the cosine
   distance over the masked voxels that have a target, then over the levels in
   ``loss_levels``; the two views' losses are averaged.

The teacher follows the student by EMA after every optimiser step, its momentum linear from
``momentum`` to ``momentum_end`` over the run. The voxel structures have data-dependent
sizes, so building them reads sizes back from the device (``unique``, ``nonzero``); the
loss itself does not.
"""

from __future__ import annotations

from typing import Any

import torch
from selfsup.engine.ema import ema_update, make_target, momentum_schedule
from selfsup.errors import ComponentError, ConfigError
from selfsup.interfaces import Batch, Objective, StepOutput
from torch import nn

from ..configs import MSMConfig
from ..encoders.unet import PointUNet
from ..losses.msm import msm_loss
from ..ops import GridHierarchy, lookup_keys
from ..transforms import ViewAugmentation, augmented_view

__all__ = ["MSM", "MaskedView", "mask_voxels", "cross_view_targets"]


class MaskedView:
    """One augmented view: its points, full octree, visible octree and per-level masks."""

    def __init__(
        self,
        index: torch.Tensor,
        coord: torch.Tensor,
        feat: torch.Tensor,
        batch: torch.Tensor,
        hierarchy: GridHierarchy,
        visible_points: torch.Tensor,
        visible: GridHierarchy,
        positions: list[torch.Tensor],
        masked: list[torch.Tensor],
    ) -> None:
        self.index, self.coord, self.feat, self.batch = index, coord, feat, batch
        self.hierarchy, self.visible_points, self.visible = hierarchy, visible_points, visible
        #: ``positions[l]``: the full-view row of every visible level-``l`` voxel.
        self.positions = positions
        #: ``masked[l]``: bool per full-view level-``l`` voxel, true where the student saw no point.
        self.masked = masked


def mask_voxels(num_voxels: int, ratio: float, generator: torch.Generator | None = None, device: Any = None) -> torch.Tensor:
    """A bool mask over ``num_voxels`` with exactly ``round(ratio * num_voxels)`` true entries, drawn uniformly.

    At least one voxel always stays visible.
    """
    count = min(int(round(ratio * num_voxels)), num_voxels - 1)
    order = torch.randperm(num_voxels, generator=generator, device=device)
    mask = torch.zeros(num_voxels, dtype=torch.bool, device=device)
    mask[order[:count]] = True
    return mask


def cross_view_targets(
    source_size: int,
    index_a: torch.Tensor,
    voxel_a: torch.Tensor,
    rows_a: int,
    index_b: torch.Tensor,
    voxel_b: torch.Tensor,
    features_b: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets for view A's voxels from view B's features, matched through shared source points.

    ``index_*`` name each view point's source point (``< source_size``); ``voxel_*`` give each
    view point's voxel row. Returns ``(targets [rows_a, D], has_target [rows_a])``: the mean of
    ``features_b`` over the B voxels of the source points that fall in each A voxel.
    """
    position_b = torch.full((source_size,), -1, dtype=torch.long, device=index_b.device)
    position_b[index_b] = torch.arange(index_b.shape[0], device=index_b.device)
    shared = position_b[index_a]
    common = shared >= 0
    rows = voxel_a[common]
    values = features_b[voxel_b[shared[common]]]
    sums = features_b.new_zeros(rows_a, features_b.shape[1]).index_add_(0, rows, values)
    counts = features_b.new_zeros(rows_a).index_add_(0, rows, torch.ones_like(rows, dtype=features_b.dtype))
    return sums / counts.clamp_min(1.0)[:, None], counts > 0


class MSM(Objective):
    """See the module docstring. ``encoder`` must be a :class:`~selfsup_pointcloud.encoders.unet.PointUNet`."""

    def __init__(self, config: MSMConfig, encoder: nn.Module, data_info: Any) -> None:
        super().__init__(encoder)
        if not isinstance(encoder, PointUNet):
            raise ConfigError(
                f"msm needs the point-unet encoder (a hierarchical voxel U-Net), got {type(encoder).__name__}. "
                "Use encoder=point-unet."
            )
        if not 0.0 < config.mask_ratio < 1.0:
            raise ConfigError(f"msm: mask_ratio={config.mask_ratio} must be in (0, 1). Use e.g. 0.4 (the paper's best).")
        levels = encoder.num_levels
        self.mask_level = config.mask_level % levels if -levels <= config.mask_level < levels else None
        if self.mask_level is None:
            raise ConfigError(f"msm: mask_level={config.mask_level} is not a level of the {levels}-level encoder.")
        loss_levels = list(range(levels)) if config.loss_levels is None else sorted(set(config.loss_levels))
        if not loss_levels or any(not 0 <= level < levels for level in loss_levels):
            raise ConfigError(
                f"msm: loss_levels={config.loss_levels} must be a non-empty subset of 0..{levels - 1} (0 = finest). "
                "Use null for every level."
            )
        if not 0.0 <= config.momentum <= config.momentum_end <= 1.0:
            raise ConfigError("msm: need 0 <= momentum <= momentum_end <= 1. Use e.g. momentum=0.99 momentum_end=1.0.")
        self.config = config
        self.loss_levels = loss_levels
        self.augmentation = ViewAugmentation(
            crop_fraction=(float(config.crop_fraction[0]), float(config.crop_fraction[1])),
            rotation=config.rotation,
            scale=(float(config.scale[0]), float(config.scale[1])),
            flip=config.flip,
            jitter=config.jitter,
            color_jitter=config.color_jitter,
        )
        self.teacher = make_target(encoder)
        self.mask_tokens = nn.ParameterList(
            [nn.Parameter(torch.nn.init.trunc_normal_(torch.empty(1, c), std=0.02)) for c in encoder.channels]
        )
        self.heads = nn.ModuleDict(
            {str(level): nn.Linear(encoder.decoder_channels[level], encoder.decoder_channels[level]) for level in loss_levels}
        )
        self.register_buffer("momentum", torch.tensor(float(config.momentum)))

    # -- views --------------------------------------------------------------------------------
    def make_view(self, batch: Batch) -> MaskedView:
        encoder: PointUNet = self.encoder  # type: ignore[assignment]
        index, coord, feat, view_batch = augmented_view(batch["coord"], batch["feat"], batch["batch"], self.augmentation)
        if index.numel() == 0:
            raise ComponentError("msm: a view has no points. Check that the batch's scenes are not empty.")
        hierarchy = encoder.voxelize(coord, view_batch)
        level = hierarchy.levels[self.mask_level]
        masked_patch = mask_voxels(level.size, self.config.mask_ratio, device=coord.device)
        visible_points = (~masked_patch[hierarchy.voxel_of_points(self.mask_level)]).nonzero()[:, 0]
        visible = encoder.voxelize(coord[visible_points], view_batch[visible_points], origin=hierarchy.origin)
        positions, masked = [], []
        for full_level, seen_level in zip(hierarchy.levels, visible.levels):
            position = lookup_keys(full_level.keys, seen_level.keys)
            flags = torch.ones(full_level.size, dtype=torch.bool, device=coord.device)
            flags[position] = False
            positions.append(position)
            masked.append(flags)
        return MaskedView(index, coord, feat, view_batch, hierarchy, visible_points, visible, positions, masked)

    # -- networks -----------------------------------------------------------------------------
    def student_levels(self, view: MaskedView) -> list[torch.Tensor]:
        """The student's decoder features of the full view, mask tokens where it saw nothing."""
        encoder: PointUNet = self.encoder  # type: ignore[assignment]
        seen = encoder.encode(encoder.embed_voxels(view.feat[view.visible_points], view.visible), view.visible)
        skips = []
        for level, (features, token) in enumerate(zip(seen, self.mask_tokens)):
            full = token.expand(view.hierarchy.levels[level].size, -1)
            skips.append(full.index_copy(0, view.positions[level], features))
        return encoder.decode(skips, view.hierarchy)

    @torch.no_grad()
    def teacher_levels(self, view: MaskedView) -> list[torch.Tensor]:
        teacher: PointUNet = self.teacher  # type: ignore[assignment]
        return teacher.decode(teacher.encode(teacher.embed_voxels(view.feat, view.hierarchy), view.hierarchy), view.hierarchy)

    def _view_loss(
        self, source_size: int, view: MaskedView, student: list[torch.Tensor], other: MaskedView, teacher: list[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        predictions, targets, masks = [], [], []
        for level in self.loss_levels:
            target, has_target = cross_view_targets(
                source_size,
                view.index,
                view.hierarchy.voxel_of_points(level),
                view.hierarchy.levels[level].size,
                other.index,
                other.hierarchy.voxel_of_points(level),
                teacher[level],
            )
            predictions.append(self.heads[str(level)](student[level]))
            targets.append(target)
            masks.append(view.masked[level] & has_target)
        loss, per_level = msm_loss(predictions, targets, masks)
        fraction = masks[0].float().mean()
        return loss, per_level, fraction

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        source_size = batch["coord"].shape[0]
        view_a, view_b = self.make_view(batch), self.make_view(batch)
        teacher_a, teacher_b = self.teacher_levels(view_a), self.teacher_levels(view_b)
        loss_a, levels_a, fraction_a = self._view_loss(source_size, view_a, self.student_levels(view_a), view_b, teacher_b)
        loss_b, levels_b, fraction_b = self._view_loss(source_size, view_b, self.student_levels(view_b), view_a, teacher_a)
        out: StepOutput = {
            "loss": 0.5 * (loss_a + loss_b),
            "masked_fraction": 0.5 * (fraction_a + fraction_b),
            "teacher_std": teacher_a[0].std(dim=0).mean().detach(),
            "momentum": self.momentum.detach().clone(),
        }
        for position, level in enumerate(self.loss_levels):
            out[f"loss_level{level}"] = (0.5 * (levels_a[position] + levels_b[position])).detach()
        return out

    @torch.no_grad()
    def on_step_end(self, *, step: int, max_steps: int) -> None:
        """``teacher <- m teacher + (1 - m) student`` (buffers copied), with ``m`` linear from
        ``momentum`` at the first step to ``momentum_end`` at the last (the core's EMA helpers)."""
        start, end = float(self.config.momentum), float(self.config.momentum_end)
        ema_update(self.teacher, self.encoder, momentum_schedule(step - 1, max_steps, start, end), buffers="copy")
        self.momentum.fill_(momentum_schedule(step, max_steps, start, end))  # the next step's, logged with it

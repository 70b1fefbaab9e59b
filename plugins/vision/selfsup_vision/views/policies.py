"""Crop sets and augmentation policies, and the SimCLR / BYOL / DINO / SwAV / OBoW presets.

Torch-free. Sizes are *relative* to the data's image side (1.0 = the image side), so one
preset serves 32 px CIFAR and 224 px ImageNet: DINO's 224/96 px crops are 1.0 / 0.43.

Preset sources (official files):

* ``simclr``: ``google-research/simclr:data_util.py`` (``preprocess_for_train``; CIFAR: crop
  scale (0.08, 1), flip, colour jitter strength 0.5 → (0.4, 0.4, 0.4, 0.1) with p 0.8,
  grey p 0.2, no blur at 32 px);
* ``byol``: ``deepmind/deepmind-research:byol/utils/augmentations.py`` (two asymmetric views:
  jitter (0.4, 0.4, 0.2, 0.1) p 0.8, grey 0.2, blur p 1.0 / 0.1, solarize p 0 / 0.2);
* ``dino``: ``facebookresearch/dino:main_dino.py`` (``DataAugmentationDINO``: 2 global crops,
  scale (0.4, 1) (the ViT default ``global_crops_scale``), blur 1.0 / 0.1, solarize 0 / 0.2; 8
  local crops of 96/224 of the side, scale (0.05, 0.4), blur 0.5);
* ``swav``: ``facebookresearch/swav:src/multicropdataset.py`` (2×224 scale (0.14, 1) + 6×96 scale
  (0.05, 0.14), jitter strength 1 → (0.8, 0.8, 0.8, 0.2) p 0.8, grey 0.2, blur p 0.5);
* ``g-simclr``: ``ariG23498/G-SimCLR:CIFAR10/SimCLR_Pseudo_Labels/SimCLR_Pseudo_Labels_Training.ipynb``
  (``CustomAugment``): no crop (the whole image), flip p 0.5, colour jitter strength s = 0.2 →
  (0.16, 0.16, 0.16, 0.04) with p 0.5, and no grey: the notebook's ``_color_drop`` returns its
  input unchanged. Its brightness is TensorFlow's additive ``random_brightness`` (± 0.16); here it
  is torchvision's multiplicative factor in [0.84, 1.16].
* ``obow``: ``valeoai/obow:obow/datasets.py`` with ``config/ImageNet20/ResNet18_OBoW_full.yaml``
  (relative to the teacher's 224-px image): 2 crops of 160 px, scale (0.08, 0.6), jitter
  (0.4, 0.4, 0.4, 0.1) p 0.8, grey 0.2, blur p 0.5, flip; 5 patches of 96 px, no blur. The
  official patches are 5 of the 9 cells of a jittered 3×3 grid over a 256-px crop of scale
  (0.6, 1) (one jitter/grey/flip per image); here they are 5 independent random crops whose area
  is a grid cell's, (96/256)²·(0.6, 1) = (0.084, 0.141) of the image, each with its own jitter.
  Both crop sets are smaller than the image, so ``local_crops``/``local_scale``/``local_size``
  override both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["ViewPolicy", "CropSet", "PRESETS", "preset"]


@dataclass(frozen=True)
class ViewPolicy:
    """One crop set's photometric augmentation; every probability is per sample."""

    flip_p: float = 0.5
    jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    gray_p: float = 0.2
    blur_p: float = 0.0
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    solarize_p: float = 0.0


@dataclass(frozen=True)
class CropSet:
    """``count`` crops of side ``size`` (relative to the image side), area ``scale``, aspect ``ratio``."""

    count: int
    size: float
    scale: tuple[float, float]
    policy: ViewPolicy
    ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0)


_SIMCLR = ViewPolicy()
_BYOL_1 = ViewPolicy(saturation=0.2, blur_p=1.0)
_BYOL_2 = ViewPolicy(saturation=0.2, blur_p=0.1, solarize_p=0.2)
_DINO_LOCAL = ViewPolicy(saturation=0.2, blur_p=0.5)
_SWAV = ViewPolicy(brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2, blur_p=0.5)
_G_SIMCLR = ViewPolicy(jitter_p=0.5, brightness=0.16, contrast=0.16, saturation=0.16, hue=0.04, gray_p=0.0)

#: name -> crop sets, in the order the views are returned (global crops first).
PRESETS: dict[str, tuple[CropSet, ...]] = {
    "simclr": (CropSet(2, 1.0, (0.08, 1.0), _SIMCLR),),
    "byol": (CropSet(1, 1.0, (0.08, 1.0), _BYOL_1), CropSet(1, 1.0, (0.08, 1.0), _BYOL_2)),
    "dino": (
        CropSet(1, 1.0, (0.4, 1.0), _BYOL_1),
        CropSet(1, 1.0, (0.4, 1.0), _BYOL_2),
        CropSet(8, 96 / 224, (0.05, 0.4), _DINO_LOCAL),
    ),
    "swav": (CropSet(2, 1.0, (0.14, 1.0), _SWAV), CropSet(6, 96 / 224, (0.05, 0.14), _SWAV)),
    "g-simclr": (CropSet(2, 1.0, (1.0, 1.0), _G_SIMCLR, ratio=(1.0, 1.0)),),
    "obow": (
        CropSet(2, 160 / 224, (0.08, 0.6), ViewPolicy(blur_p=0.5)),
        CropSet(5, 96 / 224, ((96 / 256) ** 2 * 0.6, (96 / 256) ** 2), ViewPolicy()),
    ),
}


def preset(
    name: str,
    *,
    local_crops: int | None = None,
    global_scale: tuple[float, float] | None = None,
    local_scale: tuple[float, float] | None = None,
    local_size: float | None = None,
    blur: bool = True,
) -> tuple[CropSet, ...]:
    """A preset's crop sets with optional overrides of the local crops (the sets after the
    global ones, i.e. ``size < 1``) and the global crops' scale. ``blur=False`` drops the
    Gaussian blur (SimCLR's CIFAR setting; blurring 32 px images destroys them)."""
    from selfsup.errors import ConfigError

    if name not in PRESETS:
        raise ConfigError(f"views={name!r} is not a view preset. Use one of {sorted(PRESETS)}.")
    sets = []
    for crop in PRESETS[name]:
        is_local = crop.size < 1.0
        if is_local:
            if local_crops is not None:
                crop = replace(crop, count=local_crops)
            if local_scale is not None:
                crop = replace(crop, scale=tuple(local_scale))
            if local_size is not None:
                crop = replace(crop, size=local_size)
        elif global_scale is not None:
            crop = replace(crop, scale=tuple(global_scale))
        if not blur:
            crop = replace(crop, policy=replace(crop.policy, blur_p=0.0))
        if crop.count > 0:
            sets.append(crop)
    if local_crops and not any(c.size < 1.0 for c in sets):
        sets.append(CropSet(local_crops, local_size or 96 / 224, tuple(local_scale or (0.05, 0.4)), _DINO_LOCAL))
    return tuple(sets)

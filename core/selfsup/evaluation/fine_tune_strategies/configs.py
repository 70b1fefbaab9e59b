"""Settings of the built-in fine-tuning strategies (torch-free, for registration)."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import ConfigError

__all__ = ["CrossEntropyConfig", "SLAConfig", "SLASDConfig", "CoreTuningConfig", "SLA_TRANSFORMS"]

#: SLA's rotation sets (``hankook/SLA:augmentations.py``): name -> quarter turns.
SLA_TRANSFORMS = {"rotation": (0, 1, 2, 3), "rotation2": (0, 2)}


@dataclass
class CrossEntropyConfig:
    """``cross-entropy``: the plain protocol (a linear head and the task's loss); no settings."""


@dataclass
class SLAConfig:
    """``sla``: self-supervised label augmentation (Lee et al., ICML 2020), ``hankook/SLA:trainers.py``."""

    #: ``rotation`` (M = 4 quarter turns, the paper's main setting) or ``rotation2`` (0° and 180°).
    transform: str = "rotation"
    #: The batch key holding the images ``[N, C, H, W]`` (square) that are rotated.
    input_key: str = "x"
    #: Scores used for validation and the report: ``aggregated`` (SLA+AG: the mean over the M
    #: rotations of each rotation's own class logits), ``single`` (SLA+SI: the unrotated image's
    #: identity-rotation logits) or ``distilled`` (SLA+SD's single head; needs self_distillation).
    inference: str = "aggregated"
    #: Add SLA+SD's single head: CE on the unrotated image plus T²·KL from the aggregated scores.
    self_distillation: bool = False
    #: SLA+SD's distillation temperature T.
    temperature: float = 1.0
    #: ``--with-large-loss``: the joint loss times M (a sum over rotations instead of a mean).
    large_loss: bool = False

    def __post_init__(self) -> None:
        if self.transform not in SLA_TRANSFORMS:
            raise ConfigError(f"sla: transform={self.transform!r} is not one of {list(SLA_TRANSFORMS)}. Use transform=rotation.")
        if self.inference not in ("aggregated", "single", "distilled"):
            raise ConfigError(f"sla: inference={self.inference!r} is not aggregated, single or distilled. Use inference=aggregated.")
        if self.inference == "distilled" and not self.self_distillation:
            raise ConfigError("sla: inference=distilled needs the distilled head. Set self_distillation=true (or use strategy=sla-sd).")
        if not self.temperature > 0:
            raise ConfigError(f"sla: temperature={self.temperature} must be > 0. Use temperature=1.0.")


@dataclass
class SLASDConfig(SLAConfig):
    """``sla-sd``: SLA with self-distillation (SLA+SD), scored with its single distilled head."""

    inference: str = "distilled"
    self_distillation: bool = True


@dataclass
class CoreTuningConfig:
    """``core-tuning``: contrast-regularised fine-tuning (Zhang et al., NeurIPS 2021), ``Vanint/Core-tuning``."""

    #: Weight η of the focal supervised-contrastive term (the README's 0.1; the script's default is 10).
    eta: float = 0.1
    #: Beta(α, α) of the mixing coefficients.
    alpha: float = 1.0
    #: Temperature τ of the focal SupCon loss.
    temperature: float = 0.07
    #: Output width of the contrastor (Linear d→d, ReLU, Linear d→contrast_dim, L2-normalised).
    contrast_dim: int = 256
    #: Hard negatives: the random partner's weight is at least this (the code's 0.8).
    negative_min_weight: float = 0.8

    def __post_init__(self) -> None:
        if self.eta < 0 or not self.alpha > 0 or not self.temperature > 0 or self.contrast_dim < 1:
            raise ConfigError(
                f"core-tuning: eta={self.eta}, alpha={self.alpha}, temperature={self.temperature}, contrast_dim="
                f"{self.contrast_dim} must be eta >= 0, alpha > 0, temperature > 0, contrast_dim >= 1. Use the defaults."
            )
        if not 0.0 <= self.negative_min_weight <= 1.0:
            raise ConfigError(f"core-tuning: negative_min_weight={self.negative_min_weight} is not in [0, 1]. Use 0.8.")

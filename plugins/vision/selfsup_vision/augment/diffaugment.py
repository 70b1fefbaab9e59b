"""DiffAugment (Zhao et al., NeurIPS 2020) returning its parameters ω, as AugSelf-GAN needs.

Follows ``liang-hou/augself-gan:augself-biggan/DiffAugment_pytorch.py`` (the AugSelf
fork of ``mit-han-lab/data-efficient-gans``): every op is differentiable in the image,
draws its randomness per sample from the global torch RNG, works on images in [−1, 1]
and returns the parameters it drew, normalised to [0, 1]. Policies run in the order
given; ω of a policy concatenates the parameters of its ops:

=============  ===  =================================================================  ===========================
policy         dim  op (per sample)                                                    ω
=============  ===  =================================================================  ===========================
``color``      3    brightness x + (r₁ − ½)·s_b                                        r₁ ~ U[0, 1]
                    saturation (x − x̄_c)·((2r₂ − 1)·s_s + 1) + x̄_c (x̄_c: channel mean)  r₂ ~ U[0, 1]
                    contrast (x − x̄)·((r₃ − ½)·s_c + 1) + x̄ (x̄: image mean)           r₃ ~ U[0, 1]
``translation`` 2   out[i, j] = x[i + t_h, j + t_w], zero outside; t ~ U{−S..S},        t/(2S) + ½ per axis
                    S = round(side·ratio)
``cutout``     2    zero a k×k square (k = round(side·ratio)) whose centre row/col is   o/(side − k mod 2)
                    o ~ U{0 .. side − k mod 2}, clipped at the border
=============  ===  =================================================================  ===========================

With a strength of 0 an op is the identity (its ω is still drawn and returned), which
the tests use to invert one op at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from selfsup.errors import ConfigError

__all__ = ["AugmentStrengths", "POLICY_DIMS", "diff_augment", "parse_policies",
           "brightness", "saturation", "contrast", "translation", "cutout"]

#: ω dimension of each policy (``AUGMENT_DIM`` in the reference).
POLICY_DIMS = {"color": 3, "translation": 2, "cutout": 2}


@dataclass(frozen=True)
class AugmentStrengths:
    """The strength hyper-parameters (the fork's ``--brightness`` … ``--cutout`` flags)."""

    brightness: float = 1.0
    saturation: float = 1.0
    contrast: float = 1.0
    translation: float = 0.125
    cutout: float = 0.5


def parse_policies(text: str, *, key: str = "policy") -> tuple[str, ...]:
    """``"color,translation"`` -> ``("color", "translation")``; unknown names are a ``ConfigError``."""
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in names if p not in POLICY_DIMS]
    if unknown:
        raise ConfigError(
            f"objective_config.{key} names unknown augmentation(s) {unknown}. "
            f"Use a comma-separated subset of {', '.join(POLICY_DIMS)}."
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"objective_config.{key}='{text}' repeats a policy. Name each of {', '.join(POLICY_DIMS)} once.")
    return names


def _uniform(x: torch.Tensor) -> torch.Tensor:
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device)


def brightness(x: torch.Tensor, strength: float) -> tuple[torch.Tensor, torch.Tensor]:
    r = _uniform(x)
    return x + (r - 0.5) * strength, r.view(-1, 1)


def saturation(x: torch.Tensor, strength: float) -> tuple[torch.Tensor, torch.Tensor]:
    r = _uniform(x)
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * ((2.0 * r - 1.0) * strength + 1.0) + mean, r.view(-1, 1)


def contrast(x: torch.Tensor, strength: float) -> tuple[torch.Tensor, torch.Tensor]:
    r = _uniform(x)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * ((r - 0.5) * strength + 1.0) + mean, r.view(-1, 1)


def _shift_axis(x: torch.Tensor, shift: torch.Tensor, dim: int) -> torch.Tensor:
    """out[..., i, ...] = x[..., i + shift_n, ...] along ``dim`` (2 or 3), zero where out of range."""
    n, size = x.shape[0], x.shape[dim]
    source = torch.arange(size, device=x.device).view(1, size) + shift.view(n, 1)  # [N, size]
    valid = (source >= 0) & (source < size)
    source = source.clamp(0, size - 1)
    if dim == 2:
        index = source.view(n, 1, size, 1).expand(-1, x.shape[1], -1, x.shape[3])
        mask = valid.view(n, 1, size, 1)
    else:
        index = source.view(n, 1, 1, size).expand(-1, x.shape[1], x.shape[2], -1)
        mask = valid.view(n, 1, 1, size)
    return torch.gather(x, dim, index) * mask.to(x.dtype)


def translation(x: torch.Tensor, ratio: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer shift with zero fill; ω = t/(2S) + ½ per axis (rows, then columns)."""
    limit_h, limit_w = int(x.shape[2] * ratio + 0.5), int(x.shape[3] * ratio + 0.5)
    n = x.shape[0]
    t_h = torch.randint(-limit_h, limit_h + 1, (n,), device=x.device)
    t_w = torch.randint(-limit_w, limit_w + 1, (n,), device=x.device)
    out = _shift_axis(_shift_axis(x, t_h, 2), t_w, 3)
    omega = torch.stack([_normalise_shift(t_h, limit_h), _normalise_shift(t_w, limit_w)], dim=1).to(x.dtype)
    return out, omega


def _normalise_shift(shift: torch.Tensor, limit: int) -> torch.Tensor:
    if limit == 0:
        return torch.full(shift.shape, 0.5, device=shift.device)
    return shift.float() / limit / 2.0 + 0.5


def cutout(x: torch.Tensor, ratio: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero a square per sample; ω = centre offset / (side − k mod 2) per axis."""
    n, height, width = x.shape[0], x.shape[2], x.shape[3]
    size_h, size_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    o_h = torch.randint(0, height + 1 - size_h % 2, (n,), device=x.device)
    o_w = torch.randint(0, width + 1 - size_w % 2, (n,), device=x.device)
    rows = torch.arange(height, device=x.device).view(1, height)
    cols = torch.arange(width, device=x.device).view(1, width)
    start_h, start_w = (o_h - size_h // 2).view(n, 1), (o_w - size_w // 2).view(n, 1)
    inside_h = (rows >= start_h) & (rows < start_h + size_h)  # [N, H]
    inside_w = (cols >= start_w) & (cols < start_w + size_w)  # [N, W]
    keep = ~(inside_h.view(n, 1, height, 1) & inside_w.view(n, 1, 1, width))
    omega = torch.stack(
        [o_h.float() / max(height - size_h % 2, 1), o_w.float() / max(width - size_w % 2, 1)], dim=1
    ).to(x.dtype)
    return x * keep.to(x.dtype), omega


def diff_augment(
    x: torch.Tensor, policies: Sequence[str], strengths: AugmentStrengths = AugmentStrengths()
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Apply ``policies`` in order; return the augmented batch and ``{policy: ω [N, dim]}``."""
    omegas: dict[str, torch.Tensor] = {}
    for policy in policies:
        if policy == "color":
            x, r1 = brightness(x, strengths.brightness)
            x, r2 = saturation(x, strengths.saturation)
            x, r3 = contrast(x, strengths.contrast)
            omegas[policy] = torch.cat([r1, r2, r3], dim=1)
        elif policy == "translation":
            x, omegas[policy] = translation(x, strengths.translation)
        elif policy == "cutout":
            x, omegas[policy] = cutout(x, strengths.cutout)
        else:
            raise ConfigError(f"Unknown augmentation policy '{policy}'. Use {', '.join(POLICY_DIMS)}.")
    return x.contiguous(), omegas

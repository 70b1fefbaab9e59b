"""GMML corruption (group masked model learning), SiT's input corruption
(``Sara-Ahmed/SiT@7f22e9c:datasets/datasets_utils.py``, ``GMML_drop_rand_patches`` and
``GMML_replace_list``; ``main.py::collate_batch``).

Per image ``[C, H, W]`` (:func:`gmml_blocks`): draw a target area ``a ~ U[min(0.5, p), p]·H·W``
and add random rectangles until the mask covers at least ``a`` pixels. A rectangle's corner is
``(⌊r/align⌋·align, ⌊c/align⌋·align)`` with ``r ~ U{0..H−align−1}``; its height is
``round(min(U{align..⌊0.3·H⌋−1}, H − row)/align)·align`` (the same for the width). The covered
pixels are set to zero (``drop_type`` zeros, the official default), or copied from a
replacement image at the same place.

:func:`gmml_corrupt` corrupts a batch (zeros, fraction ``drop_perc``); :func:`gmml_replace`
is the collate step: with probability ½ an image's corruption is redone from its *clean*
version with blocks pasted from a random image of the batch (fraction ``drop_replace``, 0.3),
and its mask is that new corruption's. As the official code, the random image may be the image
itself (then the "corrupted" pixels are unchanged).

Deviations: randomness comes from a ``torch.Generator`` (seeded, reproducible) instead of the
unseeded numpy/``random`` global state; the upper bounds are exclusive as numpy's ``randint``.
"""

from __future__ import annotations

from typing import Optional

import torch

__all__ = ["gmml_blocks", "gmml_corrupt", "gmml_replace"]


def _randint(low: int, high: int, gen: Optional[torch.Generator]) -> int:
    """``U{low..high−1}`` (numpy's ``randint``); ``low`` when the range is empty."""
    if high <= low:
        return low
    return int(torch.randint(low, high, (1,), generator=gen).item())


def gmml_blocks(height: int, width: int, max_replace: float, *, align: int = 1, max_block_sz: float = 0.3,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """A ``[H, W]`` bool mask of random rectangles covering ``≥ U[min(0.5, p), p]·H·W`` pixels."""
    lo = min(0.5, max_replace)
    frac = lo + (max_replace - lo) * float(torch.rand((), generator=generator))
    n_drop = frac * height * width
    align = max(1, int(align))
    mx_h, mx_w = max(int(height * max_block_sz), align + 1), max(int(width * max_block_sz), align + 1)
    mask = torch.zeros(height, width, dtype=torch.bool)
    while mask.sum() < n_drop:
        r = (_randint(0, height - align, generator) // align) * align
        c = (_randint(0, width - align, generator) // align) * align
        h = round(min(_randint(align, mx_h, generator), height - r) / align) * align
        w = round(min(_randint(align, mx_w, generator), width - c) / align) * align
        mask[r:r + h, c:c + w] = True
    return mask


def gmml_corrupt(images: torch.Tensor, drop_perc: float = 0.5, *, align: int = 1,
                 generator: Optional[torch.Generator] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero random blocks of each image of ``[N, C, H, W]``; returns ``(corrupted, mask)``,
    ``mask`` ``[N, 1, H, W]`` float (1 = corrupted). ``drop_perc <= 0`` corrupts nothing."""
    n, _, h, w = images.shape
    if drop_perc <= 0:
        return images.clone(), images.new_zeros(n, 1, h, w)
    masks = torch.stack([gmml_blocks(h, w, drop_perc, align=align, generator=generator) for _ in range(n)])
    masks = masks.unsqueeze(1).to(images.device)
    return images.masked_fill(masks, 0.0), masks.to(images.dtype)


def gmml_replace(clean: torch.Tensor, corrupted: torch.Tensor, mask: torch.Tensor, max_replace: float = 0.3, *,
                 align: int = 1, prob: float = 0.5,
                 generator: Optional[torch.Generator] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The collate-time replacement (see the module docstring); returns new ``(corrupted, mask)``."""
    if max_replace <= 0:
        return corrupted, mask
    n, _, h, w = clean.shape
    out, out_mask = corrupted.clone(), mask.clone()
    for i in range(n):
        j = _randint(0, n, generator)
        if float(torch.rand((), generator=generator)) < prob:
            blocks = gmml_blocks(h, w, max_replace, align=align, generator=generator).to(clean.device)
            out[i] = torch.where(blocks, clean[j], clean[i])
            out_mask[i] = blocks.to(mask.dtype)
    return out, out_mask

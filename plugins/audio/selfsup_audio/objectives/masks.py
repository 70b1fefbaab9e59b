"""SSAST masking, vectorised over the batch.

Cluster masking (YuanGongND/ssast @ a1a3eec, ``src/models/ast_models.py``
``gen_maskid_patch``), per clip: draw C uniformly from {3, 4, 5}; repeatedly draw a
start s ∈ [0, N) and add the C×C block {s + i·T' + j : 0 ≤ i, j < C} (only indices
0 < idx < N are kept, so index 0 is never masked and blocks may wrap along time)
until more than N_m unique indices are collected; then keep N_m of them. The released
code keeps ``list(set(ids))[:N_m]``, which for small ints is the N_m *smallest* indices;
this is reproduced. Frame masking (``gen_maskid_frame``): N_m distinct indices uniformly.

Here all clips are drawn at once: K starts per clip, ``first[b, n]`` = the first draw
covering index n, the union size after draw k = #{n : first ≤ k}; the stopping draw is
the first k where it exceeds N_m.
"""

from __future__ import annotations

import torch

__all__ = ["cluster_mask", "uniform_mask"]


def uniform_mask(batch: int, num_patches: int, num_masked: int, *, device: torch.device | None = None) -> torch.Tensor:
    """``[batch, num_masked]`` distinct indices per row, uniformly at random (global torch RNG)."""
    return torch.rand(batch, num_patches, device=device).argsort(dim=1)[:, :num_masked]


def cluster_mask(
    batch: int,
    grid: tuple[int, int],
    num_masked: int,
    *,
    min_cluster: int = 3,
    max_cluster: int = 5,
    device: torch.device | None = None,
) -> torch.Tensor:
    """``[batch, num_masked]`` sorted masked indices per row, as SSAST's ``gen_maskid_patch``."""
    n_freq, n_time = grid
    n = n_freq * n_time
    if not 0 < num_masked <= n - 2:
        raise ValueError(f"cluster masking needs 0 < num_masked <= N - 2 = {n - 2}, got {num_masked}")
    sizes = torch.randint(min_cluster, max_cluster + 1, (batch,), device=device)  # C per clip
    i = torch.arange(max_cluster, device=device)
    offsets = (i[:, None] * n_time + i[None, :]).reshape(-1)  # [Cmax²]
    in_block = ((i[:, None] < sizes[:, None, None]) & (i[None, :] < sizes[:, None, None])).reshape(batch, -1)
    draws = max(16, 4 * num_masked // (min_cluster * min_cluster) + 16)
    while True:
        starts = torch.randint(0, n, (batch, draws), device=device)
        ids = starts[:, :, None] + offsets[None, None, :]  # [B, K, Cmax²]
        ok = in_block[:, None, :] & (ids > 0) & (ids < n)
        draw_id = torch.arange(draws, device=device)[None, :, None].expand_as(ids)
        first = torch.full((batch, n), draws, device=device, dtype=torch.long)
        first.scatter_reduce_(1, ids.clamp(0, n - 1).reshape(batch, -1),
                              torch.where(ok, draw_id, draws).reshape(batch, -1), reduce="amin")
        counts = (first[:, :, None] <= torch.arange(draws, device=device)[None, None, :]).sum(1)  # [B, K]
        done = counts > num_masked
        if bool(done.any(1).all()):
            break
        draws *= 2
    stop = done.float().argmax(1)  # first draw whose union exceeds N_m
    chosen = first <= stop[:, None]
    key = torch.where(chosen, torch.arange(n, device=device)[None, :], n + torch.arange(n, device=device)[None, :])
    return key.sort(dim=1).values[:, :num_masked]

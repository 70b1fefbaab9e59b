r"""A differentiable 3D Gaussian splatting renderer in pure torch (dense and tile-free).

Follows 3D Gaussian Splatting (Kerbl, Kopanas, Leimkühler, Drettakis, SIGGRAPH 2023,
arXiv 2308.04079, sec. 4 and 6) with gsplat's conventions (nerfstudio-project/gsplat,
``gsplat/rendering.py`` ``rasterization`` and ``gsplat/cuda/csrc`` projection: quaternions
``(w, x, y, z)``, world-to-camera ``viewmats``, ``eps2d = 0.3``, pixel centres at
``(u + 0.5, v + 0.5)``, alpha clamp 0.99, alpha threshold 1/255, near plane 0.01).

For a Gaussian with mean μ, rotation R(q), scales s, opacity o and attributes a (colour,
feature), seen by a camera with intrinsics K = (f_x, f_y, c_x, c_y) and extrinsics (W, t):

* 3D covariance: :math:`\Sigma = R S S^\top R^\top`, S = diag(s);
* camera coordinates :math:`(x, y, z) = W\mu + t`; image mean
  :math:`\mu' = (f_x x/z + c_x,\; f_y y/z + c_y)`;
* EWA projection (Zwicker et al. 2002): with the Jacobian of the perspective map
  :math:`J = \begin{pmatrix} f_x/z & 0 & -f_x x/z^2 \\ 0 & f_y/z & -f_y y/z^2 \end{pmatrix}`
  (x/z, y/z clamped to 1.3 × the half field of view, z to the near plane, as in 3DGS/gsplat),
  :math:`\Sigma' = J W \Sigma W^\top J^\top + \epsilon I` (ε = ``eps2d``, a low-pass filter);
* at pixel centre p: :math:`\alpha = \min(0.99,\; o \exp(-\tfrac12 (p-\mu')^\top \Sigma'^{-1} (p-\mu')))`,
  set to 0 below ``min_alpha``;
* Gaussians sorted by z (front to back), transmittance :math:`T_i = \prod_{j<i} (1-\alpha_j)`,
  weights :math:`w_i = \alpha_i T_i`; rendered attribute :math:`A(p) = \sum_i w_i a_i + (1 - \sum_i w_i)\, b`
  (b: background), accumulated depth :math:`D(p) = \sum_i w_i z_i`, alpha :math:`\sum_i w_i`.

The sum runs over every Gaussian at every pixel at once (tensors ``[pixels, gaussians]``,
chunked over pixels to bound memory): no loop over pixels or Gaussians. Cost is
O(V·H·W·G), fine at small resolution. On CPU, Gaussians whose alpha stays below the
threshold at every pixel are culled per view, and the rest are binned into pixel tiles
(``tile_size``, as gsplat's tiles, vectorised over tiles × pixels × the most crowded tile's
Gaussians); the image is the same. When gsplat is importable and the tensors are on
CUDA, :func:`render_gaussians` hands the same inputs to ``gsplat.rasterization``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import torch

from selfsup.errors import ComponentError

__all__ = [
    "RenderOutput",
    "quaternion_to_rotation",
    "covariance_3d",
    "project_gaussians",
    "render_gaussians",
    "render_gaussians_torch",
    "gsplat_available",
]

#: gsplat's defaults (``gsplat.rasterization``).
EPS_2D = 0.3
NEAR_PLANE = 0.01
MAX_ALPHA = 0.99
MIN_ALPHA = 1.0 / 255.0


@dataclass
class RenderOutput:
    """Rendered maps per view: ``color`` ``[V, H, W, 3]``, ``depth`` (accumulated, Σ w z)
    ``[V, H, W]``, ``alpha`` (Σ w) ``[V, H, W]``, ``features`` ``[V, H, W, F]`` or ``None``."""

    color: torch.Tensor
    depth: torch.Tensor
    alpha: torch.Tensor
    features: torch.Tensor | None = None

    def expected_depth(self, eps: float = 1e-6) -> torch.Tensor:
        """Alpha-normalised depth ``D / max(alpha, eps)`` (gsplat's ``"ED"`` render mode)."""
        return self.depth / self.alpha.clamp_min(eps)


def quaternion_to_rotation(quats: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``[..., 3, 3]`` of quaternions ``(w, x, y, z)`` ``[..., 4]`` (normalised here)."""
    q = quats / quats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(-1)
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    )
    return torch.stack(rows, dim=-1).reshape(*q.shape[:-1], 3, 3)


def covariance_3d(quats: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Σ = R S Sᵀ Rᵀ, ``[G, 3, 3]``, from quaternions ``[G, 4]`` and (positive) scales ``[G, 3]``."""
    m = quaternion_to_rotation(quats) * scales[..., None, :]
    return m @ m.transpose(-1, -2)


def project_gaussians(
    means: torch.Tensor,
    covariances: torch.Tensor,
    intrinsics: torch.Tensor,
    world_to_camera: torch.Tensor,
    *,
    eps2d: float = EPS_2D,
    near_plane: float = NEAR_PLANE,
    image_size: tuple[int, int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """EWA projection into every view.

    ``means [G, 3]``, ``covariances [G, 3, 3]``, ``intrinsics [V, 3, 3]``,
    ``world_to_camera [V, 4, 4]`` → image means ``[V, G, 2]``, 2D covariances
    ``[V, G, 2, 2]`` (with ``eps2d`` added on the diagonal) and camera depths z ``[V, G]``.

    Depths below ``near_plane`` are clamped to it (such Gaussians are invisible; the clamp
    keeps their values, and so every gradient, finite). With ``image_size = (H, W)`` the
    Jacobian uses x/z and y/z clamped to 1.3 times the half field of view, as 3DGS's
    ``computeCov2D`` and gsplat do for Gaussians far outside the image.
    """
    rotation, translation = world_to_camera[:, :3, :3], world_to_camera[:, :3, 3]
    cam = torch.einsum("vij,gj->vgi", rotation, means) + translation[:, None, :]
    x, y, z = cam.unbind(-1)
    safe_z = z.clamp_min(near_plane)
    fx, fy = intrinsics[:, 0, 0, None], intrinsics[:, 1, 1, None]
    cx, cy = intrinsics[:, 0, 2, None], intrinsics[:, 1, 2, None]
    tx, ty = x / safe_z, y / safe_z
    mean2d = torch.stack((fx * tx + cx, fy * ty + cy), dim=-1)
    if image_size is not None:
        height, width = image_size
        limit_x = 1.3 * 0.5 * width / fx
        limit_y = 1.3 * 0.5 * height / fy
        tx = torch.maximum(torch.minimum(tx, limit_x), -limit_x)
        ty = torch.maximum(torch.minimum(ty, limit_y), -limit_y)
    zeros = torch.zeros_like(z)
    jacobian = torch.stack(
        (
            torch.stack((fx / safe_z, zeros, -fx * tx / safe_z), dim=-1),
            torch.stack((zeros, fy / safe_z, -fy * ty / safe_z), dim=-1),
        ),
        dim=-2,
    )  # [V, G, 2, 3]
    cov_cam = rotation[:, None] @ covariances[None] @ rotation[:, None].transpose(-1, -2)
    cov2d = jacobian @ cov_cam @ jacobian.transpose(-1, -2)
    cov2d = cov2d + eps2d * torch.eye(2, dtype=cov2d.dtype, device=cov2d.device)
    return mean2d, cov2d, z


def _check_inputs(means: torch.Tensor, quats: torch.Tensor, scales: torch.Tensor, opacities: torch.Tensor,
                  colors: torch.Tensor, features: torch.Tensor | None, intrinsics: torch.Tensor,
                  world_to_camera: torch.Tensor, height: int, width: int) -> None:
    g = means.shape[0]
    expected = {"means": (means, (g, 3)), "quats": (quats, (g, 4)), "scales": (scales, (g, 3)),
                "opacities": (opacities, (g,)), "colors": (colors, (g, colors.shape[-1]))}
    for name, (tensor, shape) in expected.items():
        if tuple(tensor.shape) != shape:
            raise ComponentError(
                f"render_gaussians: {name} has shape {tuple(tensor.shape)}, expected {shape} for {g} Gaussians. "
                "Give one row per Gaussian."
            )
    if features is not None and (features.ndim != 2 or features.shape[0] != g):
        raise ComponentError(
            f"render_gaussians: features have shape {tuple(features.shape)}, expected [{g}, F]. Give one row per Gaussian."
        )
    v = intrinsics.shape[0] if intrinsics.ndim == 3 else -1
    if intrinsics.shape[-2:] != (3, 3) or intrinsics.ndim != 3 or tuple(world_to_camera.shape) != (v, 4, 4):
        raise ComponentError(
            f"render_gaussians: intrinsics {tuple(intrinsics.shape)} and world_to_camera "
            f"{tuple(world_to_camera.shape)} must be [V, 3, 3] and [V, 4, 4]. Stack one matrix per view."
        )
    if height < 1 or width < 1:
        raise ComponentError(f"render_gaussians: image size {height}x{width} must be positive. Use e.g. 48x64.")


def render_gaussians_torch(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    opacities: torch.Tensor,
    colors: torch.Tensor,
    intrinsics: torch.Tensor,
    world_to_camera: torch.Tensor,
    height: int,
    width: int,
    *,
    features: torch.Tensor | None = None,
    background: torch.Tensor | None = None,
    eps2d: float = EPS_2D,
    near_plane: float = NEAR_PLANE,
    min_alpha: float = MIN_ALPHA,
    max_alpha: float = MAX_ALPHA,
    max_elements: int = 1 << 22,
    tile_size: int = 8,
) -> RenderOutput:
    """The pure-torch renderer (see the module docstring); differentiable in every Gaussian input.

    ``max_elements`` bounds pixels × Gaussians per chunk (the chunks are runs of pixels or tiles).
    On CPU with ``min_alpha > 0``, Gaussians are binned into ``tile_size``² pixel tiles by the
    box of pixels where their alpha can reach ``min_alpha`` (``tile_size=0``: every pixel
    against every Gaussian of the view); both give the same image.
    """
    _check_inputs(means, quats, scales, opacities, colors, features, intrinsics, world_to_camera, height, width)
    num_views = intrinsics.shape[0]
    mean2d, cov2d, depth = project_gaussians(means, covariance_3d(quats, scales), intrinsics, world_to_camera,
                                             eps2d=eps2d, near_plane=near_plane, image_size=(height, width))
    a, b, c = cov2d[..., 0, 0], cov2d[..., 0, 1], cov2d[..., 1, 1]
    det = (a * c - b * b).clamp_min(1e-12)
    conic = torch.stack((c / det, -b / det, a / det), dim=-1)  # inverse of [[a, b], [b, c]] as (A, B, C)
    visible_opacity = torch.where(depth > near_plane, opacities[None].expand_as(depth), torch.zeros_like(depth))
    attributes = colors if features is None else torch.cat((colors, features), dim=1)
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=means.dtype, device=means.device) + 0.5,
        torch.arange(width, dtype=means.dtype, device=means.device) + 0.5,
        indexing="ij",
    )
    pixels = torch.stack((xs.reshape(-1), ys.reshape(-1)), dim=-1)  # [P, 2] as (u, v)
    if means.device.type == "cpu" and min_alpha > 0:
        # exact culling (no host-device sync on CPU): drop, per view, the Gaussians whose alpha is
        # below min_alpha at every pixel centre, i.e. o exp(-d^2 / (2 lambda_max)) < min_alpha, with d the
        # distance from the image mean to the rectangle of pixel centres.
        lambda_max = 0.5 * (a + c) + torch.sqrt((0.25 * (a - c) ** 2 + b * b).clamp_min(0.0))
        reach = torch.sqrt(2.0 * lambda_max * torch.log((visible_opacity / min_alpha).clamp_min(1.0)))
        gap_u = torch.maximum(0.5 - mean2d[..., 0], mean2d[..., 0] - (width - 0.5)).clamp_min(0.0)
        gap_v = torch.maximum(0.5 - mean2d[..., 1], mean2d[..., 1] - (height - 0.5)).clamp_min(0.0)
        contributes = (torch.hypot(gap_u, gap_v) <= reach) & (visible_opacity >= min_alpha)
        parts = []
        for view in range(num_views):
            keep = contributes[view].nonzero().squeeze(1)
            if tile_size > 0:
                parts.append(_composite_tiled(height, width, tile_size, mean2d[view, keep], conic[view, keep],
                                              visible_opacity[view, keep], depth[view, keep], attributes[keep],
                                              reach[view, keep], min_alpha, max_alpha, max_elements))
            else:
                parts.append(_composite(pixels, mean2d[view, keep][None], conic[view, keep][None],
                                        visible_opacity[view, keep][None], depth[view, keep][None], attributes[keep],
                                        min_alpha, max_alpha, max_elements))
        attribute_map, depth_map, alpha_map = (torch.cat(maps) for maps in zip(*parts))
    else:
        attribute_map, depth_map, alpha_map = _composite(pixels, mean2d, conic, visible_opacity, depth, attributes,
                                                         min_alpha, max_alpha, max_elements)
    if background is not None:
        attribute_map = attribute_map + (1.0 - alpha_map)[..., None] * _background(background, attributes.shape[1], colors.shape[1])
    attribute_map = attribute_map.reshape(num_views, height, width, -1)
    return RenderOutput(
        color=attribute_map[..., : colors.shape[1]],
        depth=depth_map.reshape(num_views, height, width),
        alpha=alpha_map.reshape(num_views, height, width),
        features=None if features is None else attribute_map[..., colors.shape[1] :],
    )


def _composite_tiled(
    height: int, width: int, tile: int, mean2d: torch.Tensor, conic: torch.Tensor, opacity: torch.Tensor,
    depth: torch.Tensor, attributes: torch.Tensor, reach: torch.Tensor, min_alpha: float, max_alpha: float,
    max_elements: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One view's compositing with Gaussians binned into ``tile``² pixel tiles (as gsplat's tiles).

    A Gaussian joins every tile that meets the box of pixel centres within ``reach`` of its
    mean (outside it, alpha < ``min_alpha`` and counts as 0), so each pixel sees exactly the
    Gaussians the dense path would composite, in the same depth order. Tiles are padded to
    the most crowded tile's count with a zero-opacity Gaussian. Returns ``[1, P, A]``,
    ``[1, P]``, ``[1, P]`` maps like :func:`_composite`.
    """
    device, dtype = mean2d.device, mean2d.dtype
    count = mean2d.shape[0]
    tiles_x, tiles_y = -(-width // tile), -(-height // tile)
    num_tiles = tiles_x * tiles_y
    with torch.no_grad():
        low_u = torch.ceil(mean2d[:, 0] - reach - 0.5).clamp(0, width - 1).long() // tile
        high_u = torch.floor(mean2d[:, 0] + reach - 0.5).clamp(0, width - 1).long() // tile
        low_v = torch.ceil(mean2d[:, 1] - reach - 0.5).clamp(0, height - 1).long() // tile
        high_v = torch.floor(mean2d[:, 1] + reach - 0.5).clamp(0, height - 1).long() // tile
        span_u = (high_u - low_u + 1).clamp_min(0)
        per_gaussian = span_u * (high_v - low_v + 1).clamp_min(0)
        gaussian = torch.repeat_interleave(torch.arange(count, device=device), per_gaussian)
        local = torch.arange(gaussian.shape[0], device=device) - torch.repeat_interleave(
            torch.cumsum(per_gaussian, 0) - per_gaussian, per_gaussian)
        tile_id = (low_v[gaussian] + local // span_u[gaussian]) * tiles_x + low_u[gaussian] + local % span_u[gaussian]
        rank = torch.empty(count, dtype=torch.long, device=device)
        rank[depth.argsort()] = torch.arange(count, device=device)
        order = torch.argsort(tile_id * max(count, 1) + rank[gaussian])
        tile_id, gaussian = tile_id[order], gaussian[order]
        per_tile = torch.bincount(tile_id, minlength=num_tiles)
        slots = max(1, int(per_tile.max())) if tile_id.numel() else 1
        slot = torch.arange(tile_id.shape[0], device=device) - (torch.cumsum(per_tile, 0) - per_tile)[tile_id]
        table = torch.full((num_tiles, slots), count, dtype=torch.long, device=device)  # count = the empty splat
        table[tile_id, slot] = gaussian
        offsets = torch.arange(tile * tile, device=device)
        tile_u = (torch.arange(num_tiles, device=device) % tiles_x)[:, None] * tile + offsets % tile
        tile_v = (torch.arange(num_tiles, device=device) // tiles_x)[:, None] * tile + offsets // tile
        tile_pixels = torch.stack((tile_u, tile_v), dim=-1).to(dtype) + 0.5  # [T, tile², 2]
        inside = (tile_u < width) & (tile_v < height)
        pixel_slot = (tile_v * width + tile_u)[inside]  # image pixel of each kept tile slot
    pad = lambda t: torch.cat((t, t.new_zeros(1, *t.shape[1:])))  # noqa: E731 - the empty splat
    mean2d, conic, opacity, depth, attributes = pad(mean2d), pad(conic), pad(opacity), pad(depth), pad(attributes)
    chunk = max(1, max_elements // (tile * tile * slots))
    rendered, depths, alphas = [], [], []
    for start in range(0, num_tiles, chunk):
        index = table[start : start + chunk]  # [t, K]
        attr, dep, alp = _composite_sorted(tile_pixels[start : start + chunk], mean2d[index], conic[index],
                                           opacity[index], depth[index], attributes[index], min_alpha, max_alpha)
        rendered.append(attr)
        depths.append(dep)
        alphas.append(alp)
    attribute_tiles, depth_tiles, alpha_tiles = torch.cat(rendered), torch.cat(depths), torch.cat(alphas)
    order = torch.argsort(pixel_slot)
    attribute_map = attribute_tiles[inside][order]
    return attribute_map[None], depth_tiles[inside][order][None], alpha_tiles[inside][order][None]


def _composite_sorted(
    pixels: torch.Tensor, mean2d: torch.Tensor, conic: torch.Tensor, opacity: torch.Tensor, depth: torch.Tensor,
    attributes: torch.Tensor, min_alpha: float, max_alpha: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Composite depth-sorted splats ``[T, K, ...]`` at per-group pixels ``[T, p, 2]``: ``[T, p, A]``, ``[T, p]``, ``[T, p]``."""
    delta = pixels[:, :, None, :] - mean2d[:, None, :, :]  # [T, p, K, 2]
    dx, dy = delta.unbind(-1)
    power = -0.5 * (conic[:, None, :, 0] * dx * dx + conic[:, None, :, 2] * dy * dy) - conic[:, None, :, 1] * dx * dy
    alpha = (opacity[:, None, :] * torch.exp(power.clamp_max(0.0))).clamp_max(max_alpha)
    alpha = torch.where(alpha >= min_alpha, alpha, torch.zeros_like(alpha))
    survive = torch.cumprod(1.0 - alpha, dim=-1)
    transmittance = torch.cat((torch.ones_like(survive[..., :1]), survive[..., :-1]), dim=-1)
    weights = alpha * transmittance  # [T, p, K]
    return weights @ attributes, (weights * depth[:, None, :]).sum(-1), weights.sum(-1)


def _composite(
    pixels: torch.Tensor, mean2d: torch.Tensor, conic: torch.Tensor, opacity: torch.Tensor, depth: torch.Tensor,
    attributes: torch.Tensor, min_alpha: float, max_alpha: float, max_elements: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Front-to-back alpha compositing of ``[V, G]`` splats at ``[P, 2]`` pixel centres, in pixel chunks.

    Returns the attribute ``[V, P, A]``, accumulated depth ``[V, P]`` and alpha ``[V, P]`` maps.
    """
    num_views, num_gaussians = opacity.shape
    order = depth.detach().argsort(dim=1)
    mean2d = mean2d.gather(1, order[..., None].expand(-1, -1, 2))
    conic = conic.gather(1, order[..., None].expand(-1, -1, 3))
    opacity = opacity.gather(1, order)
    sorted_depth = depth.gather(1, order)
    sorted_attributes = attributes[order] if attributes.ndim == 2 else attributes.gather(
        1, order[..., None].expand(-1, -1, attributes.shape[-1]))  # [V, G, A]
    chunk = max(1, max_elements // max(1, num_gaussians * num_views))
    rendered, depths, alphas = [], [], []
    for start in range(0, pixels.shape[0], chunk):
        delta = pixels[None, start : start + chunk, None, :] - mean2d[:, None, :, :]  # [V, p, G, 2]
        dx, dy = delta.unbind(-1)
        power = -0.5 * (conic[:, None, :, 0] * dx * dx + conic[:, None, :, 2] * dy * dy) - conic[:, None, :, 1] * dx * dy
        alpha = (opacity[:, None, :] * torch.exp(power.clamp_max(0.0))).clamp_max(max_alpha)
        alpha = torch.where(alpha >= min_alpha, alpha, torch.zeros_like(alpha))
        survive = torch.cumprod(1.0 - alpha, dim=-1)
        transmittance = torch.cat((torch.ones_like(survive[..., :1]), survive[..., :-1]), dim=-1)
        weights = alpha * transmittance  # [V, p, G]
        rendered.append(weights @ sorted_attributes)
        depths.append((weights * sorted_depth[:, None, :]).sum(-1))
        alphas.append(weights.sum(-1))
    return torch.cat(rendered, dim=1), torch.cat(depths, dim=1), torch.cat(alphas, dim=1)


def _background(background: torch.Tensor, channels: int, color_channels: int) -> torch.Tensor:
    """The colour background padded with zeros for the feature channels."""
    if background.shape[-1] != color_channels:
        raise ComponentError(
            f"render_gaussians: background has {background.shape[-1]} channels, colours have {color_channels}. "
            "Give one background value per colour channel."
        )
    padded = background.new_zeros(channels)
    padded[:color_channels] = background
    return padded


def gsplat_available() -> bool:
    """Whether ``gsplat`` is importable (it needs CUDA to run)."""
    return importlib.util.find_spec("gsplat") is not None


def _render_gsplat(
    means: torch.Tensor, quats: torch.Tensor, scales: torch.Tensor, opacities: torch.Tensor, colors: torch.Tensor,
    intrinsics: torch.Tensor, world_to_camera: torch.Tensor, height: int, width: int,
    features: torch.Tensor | None, background: torch.Tensor | None, eps2d: float, near_plane: float,
) -> RenderOutput:
    """The same render through ``gsplat.rasterization`` (``render_mode="RGB+D"``, extra channels for features)."""
    from gsplat import rasterization

    attributes = colors if features is None else torch.cat((colors, features), dim=1)
    backgrounds = None
    if background is not None:
        # one value per rendered channel; gsplat appends the depth channel's zero itself in "RGB+D" mode
        backgrounds = _background(background, attributes.shape[1], colors.shape[1]).expand(intrinsics.shape[0], -1)
    maps, alphas, _ = rasterization(
        means, quats, scales, opacities, attributes, world_to_camera, intrinsics, width, height,
        near_plane=near_plane, eps2d=eps2d, render_mode="RGB+D", backgrounds=backgrounds, packed=False,
    )
    c = colors.shape[1]
    return RenderOutput(
        color=maps[..., :c],
        depth=maps[..., -1],
        alpha=alphas[..., 0],
        features=None if features is None else maps[..., c:-1],
    )


def render_gaussians(
    means: torch.Tensor,
    quats: torch.Tensor,
    scales: torch.Tensor,
    opacities: torch.Tensor,
    colors: torch.Tensor,
    intrinsics: torch.Tensor,
    world_to_camera: torch.Tensor,
    height: int,
    width: int,
    *,
    features: torch.Tensor | None = None,
    background: torch.Tensor | None = None,
    eps2d: float = EPS_2D,
    near_plane: float = NEAR_PLANE,
    backend: str = "auto",
    tile_size: int = 8,
) -> RenderOutput:
    """Render colour, depth, alpha and features of Gaussians into ``V`` pinhole views.

    ``backend``: ``"torch"`` (:func:`render_gaussians_torch`, with ``tile_size``), ``"gsplat"`` or
    ``"auto"`` (gsplat when it is installed and the tensors are on CUDA, else torch).
    """
    if backend not in ("auto", "torch", "gsplat"):
        raise ComponentError(f"render_gaussians: backend={backend!r} is not 'auto', 'torch' or 'gsplat'.")
    use_gsplat = backend == "gsplat" or (backend == "auto" and means.is_cuda and gsplat_available())
    if use_gsplat:
        if not gsplat_available() or not means.is_cuda:
            raise ComponentError(
                "render_gaussians: backend='gsplat' needs gsplat installed and CUDA tensors. "
                "Install gsplat on a CUDA machine, or use backend='torch'."
            )
        _check_inputs(means, quats, scales, opacities, colors, features, intrinsics, world_to_camera, height, width)
        return _render_gsplat(means, quats, scales, opacities, colors, intrinsics, world_to_camera, height, width,
                              features, background, eps2d, near_plane)
    return render_gaussians_torch(
        means, quats, scales, opacities, colors, intrinsics, world_to_camera, height, width,
        features=features, background=background, eps2d=eps2d, near_plane=near_plane, tile_size=tile_size,
    )

"""Posed RGB-D views of a point cloud: pinhole cameras and a z-buffer point renderer (vectorised torch).

Conventions (OpenCV / ScanNet): ``intrinsics`` ``K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]``;
``world_to_camera`` is a 4x4 rigid transform to a camera frame with x right, y down and z
forward (depth = camera z, metres). A pixel ``(u, v)`` (column, row) covers
``[u, u+1) x [v, v+1)``; a camera-frame point projects to ``u = fx x/z + cx``, ``v = fy y/z + cy``.
Images are ``float32 [3, H, W]`` in 0..1; depth ``float32 [H, W]`` with 0 where nothing was hit
(ScanNet's convention for missing depth).
"""

from __future__ import annotations

import math

import torch

from selfsup.errors import ComponentError

__all__ = ["intrinsics_from_fov", "look_at", "project", "render_points", "camera_poses_in_room"]


def intrinsics_from_fov(height: int, width: int, fov_x_degrees: float) -> torch.Tensor:
    """A pinhole ``K`` with square pixels, horizontal field of view ``fov_x_degrees`` and the centre principal point."""
    if not 1.0 <= fov_x_degrees < 179.0 or height < 1 or width < 1:
        raise ComponentError(f"intrinsics_from_fov: fov {fov_x_degrees} must be in [1, 179) and the size positive.")
    focal = 0.5 * width / math.tan(math.radians(fov_x_degrees) / 2)
    return torch.tensor([[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]])


def look_at(eye: torch.Tensor, target: torch.Tensor, up: torch.Tensor | None = None) -> torch.Tensor:
    """The ``world_to_camera`` 4x4 of cameras at ``eye`` ``[..., 3]`` looking at ``target`` (``up`` default +z)."""
    up = eye.new_tensor([0.0, 0.0, 1.0]).expand_as(eye) if up is None else up
    forward = torch.nn.functional.normalize(target - eye, dim=-1)
    right = torch.nn.functional.normalize(torch.linalg.cross(forward, up, dim=-1), dim=-1)
    down = torch.linalg.cross(forward, right, dim=-1)
    rotation = torch.stack([right, down, forward], dim=-2)  # rows: camera axes in world coordinates
    out = torch.zeros(*eye.shape[:-1], 4, 4, dtype=eye.dtype, device=eye.device)
    out[..., :3, :3] = rotation
    out[..., :3, 3] = -(rotation @ eye[..., None])[..., 0]
    out[..., 3, 3] = 1.0
    return out


def project(points: torch.Tensor, intrinsics: torch.Tensor, world_to_camera: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel coordinates ``[N, 2]`` (u, v) and camera depth ``[N]`` of world points ``[N, 3]``."""
    camera = points @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
    depth = camera[:, 2]
    safe = torch.where(depth.abs() > 1e-9, depth, torch.full_like(depth, 1e-9))
    uv = (camera[:, :2] / safe[:, None]) * intrinsics.diagonal()[:2] + intrinsics[:2, 2]
    return uv, depth


def render_points(
    points: torch.Tensor,
    colors: torch.Tensor,
    intrinsics: torch.Tensor,
    world_to_camera: torch.Tensor,
    height: int,
    width: int,
    *,
    point_size: int = 1,
    near: float = 0.05,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Render colour ``[3, H, W]`` and depth ``[H, W]`` of a coloured cloud by z-buffering.

    Every point covers a ``point_size x point_size`` square of pixels from its projected
    pixel; each pixel shows its nearest point (ties: the lowest point index). ``colors``
    are 0..1 ``[N, 3]``. Points behind ``near`` or outside the image are dropped.
    """
    if points.ndim != 2 or points.shape[1] != 3 or colors.shape != points.shape:
        raise ComponentError(
            f"render_points: points {tuple(points.shape)} and colors {tuple(colors.shape)} must both be [N, 3]."
        )
    if point_size < 1:
        raise ComponentError(f"render_points: point_size={point_size} must be >= 1.")
    uv, depth = project(points, intrinsics, world_to_camera)
    pixel = torch.floor(uv).long()
    offset = torch.stack(
        torch.meshgrid(torch.arange(point_size), torch.arange(point_size), indexing="xy"), dim=-1
    ).reshape(-1, 2).to(points.device) - (point_size - 1) // 2
    pixel = (pixel[:, None, :] + offset).reshape(-1, 2)
    point_index = torch.arange(points.shape[0], device=points.device).repeat_interleave(offset.shape[0])
    z = depth[point_index]
    valid = (z > near) & (pixel[:, 0] >= 0) & (pixel[:, 0] < width) & (pixel[:, 1] >= 0) & (pixel[:, 1] < height)
    flat = (pixel[valid, 1] * width + pixel[valid, 0])
    z, point_index = z[valid], point_index[valid]
    zbuffer = torch.full((height * width,), float("inf"), dtype=points.dtype, device=points.device)
    zbuffer = zbuffer.scatter_reduce(0, flat, z, reduce="amin")
    front = z == zbuffer[flat]
    winner = torch.full((height * width,), points.shape[0], dtype=torch.long, device=points.device)
    winner = winner.scatter_reduce(0, flat[front], point_index[front], reduce="amin")
    hit = winner < points.shape[0]
    image = torch.zeros(height * width, 3, dtype=colors.dtype, device=points.device)
    image[hit] = colors[winner[hit]]
    depth_map = torch.where(hit, zbuffer, torch.zeros_like(zbuffer))
    return image.T.reshape(3, height, width).contiguous(), depth_map.reshape(height, width)


def camera_poses_in_room(
    low: torch.Tensor, high: torch.Tensor, count: int, generator: torch.Generator, *, margin: float = 0.3
) -> torch.Tensor:
    """``count`` ``world_to_camera`` poses ``[count, 4, 4]`` inside the box ``[low, high]`` (a room).

    Eyes are uniform in the box shrunk by ``margin`` at heights 1.2-1.7 m above the floor;
    each looks at a uniform point of the box at 0.3-1.0 m height, as a hand-held scan does.
    """
    u = torch.rand(count, 3, generator=generator)
    eye = torch.stack(
        [
            low[0] + margin + u[:, 0] * (high[0] - low[0] - 2 * margin).clamp_min(0),
            low[1] + margin + u[:, 1] * (high[1] - low[1] - 2 * margin).clamp_min(0),
            low[2] + 1.2 + 0.5 * u[:, 2],
        ],
        dim=1,
    )
    v = torch.rand(count, 3, generator=generator)
    target = torch.stack(
        [low[0] + v[:, 0] * (high[0] - low[0]), low[1] + v[:, 1] * (high[1] - low[1]), low[2] + 0.3 + 0.7 * v[:, 2]],
        dim=1,
    )
    too_close = (target - eye).norm(dim=1) < 0.5
    target = torch.where(too_close[:, None], target + torch.tensor([1.0, 0.0, -0.5]), target)
    return look_at(eye, target)

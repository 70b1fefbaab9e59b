"""Pinhole cameras and the z-buffer point renderer of posed RGB-D views."""

from __future__ import annotations

import torch

from selfsup_pointcloud.configs import ProceduralRoomsConfig
from selfsup_pointcloud.datasets.procedural import ProceduralRooms
from selfsup_pointcloud.views import intrinsics_from_fov, look_at, project, render_points


def test_look_at_centres_the_target_and_depth_is_the_distance() -> None:
    eye, target = torch.tensor([1.0, 2.0, 1.5]), torch.tensor([4.0, 6.0, 1.5])
    pose = look_at(eye, target)
    k = intrinsics_from_fov(60, 80, 90.0)
    uv, depth = project(target[None], k, pose)
    torch.testing.assert_close(uv[0], torch.tensor([40.0, 30.0]))
    torch.testing.assert_close(depth[0], torch.tensor(5.0))
    torch.testing.assert_close(pose[:3, :3] @ pose[:3, :3].T, torch.eye(3), atol=1e-6, rtol=0)
    # a point above the target appears higher in the image (smaller row)
    uv_up, _ = project(torch.tensor([[4.0, 6.0, 2.5]]), k, pose)
    assert uv_up[0, 1] < 30.0


def test_zbuffer_shows_the_nearest_point() -> None:
    pose = look_at(torch.tensor([0.0, 0.0, 0.0]), torch.tensor([1.0, 0.0, 0.0]))
    k = intrinsics_from_fov(8, 8, 60.0)
    points = torch.tensor([[2.0, 0.0, 0.0], [1.0, 0.0, 0.0], [3.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    colors = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1.0, 1.0]])
    image, depth = render_points(points, colors, k, pose, 8, 8)
    assert depth[4, 4] == 1.0 and torch.equal(image[:, 4, 4], torch.tensor([0.0, 1.0, 0.0]))
    assert int((depth > 0).sum()) == 1  # the point behind the camera is dropped, the others hidden


def test_procedural_rooms_carry_posed_views_consistent_with_the_cloud() -> None:
    config = ProceduralRoomsConfig(train_scenes=1, val_scenes=0, test_scenes=0, views_per_scene=2, view_size=[24, 32])
    data = ProceduralRooms(config)
    batch = data.collate([data.split("train")[0]])
    assert batch["image"].shape == (1, 2, 3, 24, 32) and batch["depth"].shape == (1, 2, 24, 32)
    assert batch["world_to_camera"].shape == (1, 2, 4, 4) and batch["intrinsics"].shape == (1, 2, 3, 3)
    # inside a closed room most pixels see a surface, and the rendered depth matches the projected cloud
    depth = batch["depth"][0, 0]
    assert (depth > 0).float().mean() > 0.5
    uv, z = project(batch["coord"], batch["intrinsics"][0, 0], batch["world_to_camera"][0, 0])
    inside = (z > 0.05) & (uv[:, 0] >= 0) & (uv[:, 0] < 32) & (uv[:, 1] >= 0) & (uv[:, 1] < 24)
    pixel = uv[inside].long()
    rendered = depth[pixel[:, 1], pixel[:, 0]]
    # the sampled cloud is a subset of the dense one: its points are never in front of the rendered surface by much
    assert (z[inside] - rendered).min() > -0.2

"""The pure-torch Gaussian splatting renderer against a brute-force per-pixel reference, and gradcheck."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from selfsup.errors import ComponentError
from selfsup_pointcloud.gaussians.renderer import (
    covariance_3d,
    render_gaussians,
    render_gaussians_torch,
)


def _look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World-to-camera matrix (OpenCV: x right, y down, z forward) of a camera at ``eye`` looking at ``target``."""
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack((right, down, forward))
    matrix = np.eye(4)
    matrix[:3, :3] = rotation
    matrix[:3, 3] = -rotation @ eye
    return matrix


def _scene(num_gaussians: int = 4, seed: int = 0, dtype: torch.dtype = torch.float64):
    rng = np.random.default_rng(seed)
    means = rng.uniform(-0.5, 0.5, (num_gaussians, 3))
    quats = rng.normal(size=(num_gaussians, 4))
    scales = rng.uniform(0.15, 0.4, (num_gaussians, 3))
    opacities = rng.uniform(0.4, 0.95, num_gaussians)
    colors = rng.uniform(0, 1, (num_gaussians, 3))
    features = rng.normal(size=(num_gaussians, 2))
    views = [_look_at(np.array([0.3, -3.0, 1.0]), np.zeros(3)), _look_at(np.array([2.5, 1.0, 0.5]), np.zeros(3))]
    intrinsics = np.array([[[9.0, 0.0, 6.1], [0.0, 8.5, 4.9], [0.0, 0.0, 1.0]]] * 2)
    as_t = lambda a: torch.tensor(a, dtype=dtype)  # noqa: E731
    return (as_t(means), as_t(quats), as_t(scales), as_t(opacities), as_t(colors), as_t(features),
            as_t(intrinsics), as_t(np.stack(views)))


def _brute_force(means, quats, scales, opacities, colors, features, intrinsics, extrinsics, height, width):
    """Explicit loops over views, pixels and Gaussians; rotation from scipy, Jacobian by autograd."""
    means, quats, scales = means.numpy(), quats.numpy(), scales.numpy()
    attributes = np.concatenate((colors.numpy(), features.numpy()), axis=1)
    out_attr = np.zeros((len(intrinsics), height, width, attributes.shape[1]))
    out_depth = np.zeros((len(intrinsics), height, width))
    for v in range(len(intrinsics)):
        k, w2c = intrinsics[v], extrinsics[v]

        def project(point: torch.Tensor) -> torch.Tensor:
            cam = w2c[:3, :3] @ point + w2c[:3, 3]
            return torch.stack((k[0, 0] * cam[0] / cam[2] + k[0, 2], k[1, 1] * cam[1] / cam[2] + k[1, 2]))

        splats = []
        for g in range(len(means)):
            mean = torch.tensor(means[g], dtype=torch.float64)
            rotation = Rotation.from_quat(np.roll(quats[g], -1)).as_matrix()  # scipy: (x, y, z, w)
            sigma = rotation @ np.diag(scales[g] ** 2) @ rotation.T
            jacobian = torch.autograd.functional.jacobian(project, mean).numpy()
            cov2d = jacobian @ sigma @ jacobian.T + 0.3 * np.eye(2)
            z = float((w2c[:3, :3] @ mean + w2c[:3, 3])[2])
            splats.append((z, project(mean).numpy(), np.linalg.inv(cov2d), float(opacities[g]), attributes[g]))
        splats.sort(key=lambda s: s[0])
        for row in range(height):
            for col in range(width):
                pixel = np.array([col + 0.5, row + 0.5])
                transmittance = 1.0
                for z, centre, conic, opacity, attribute in splats:
                    d = pixel - centre
                    alpha = min(0.99, opacity * math.exp(-0.5 * d @ conic @ d))
                    if z <= 0.01 or alpha < 1 / 255:
                        continue
                    out_attr[v, row, col] += alpha * transmittance * attribute
                    out_depth[v, row, col] += alpha * transmittance * z
                    transmittance *= 1 - alpha
    return out_attr, out_depth


def test_matches_brute_force_reference() -> None:
    scene = _scene()
    means, quats, scales, opacities, colors, features, intrinsics, extrinsics = scene
    out = render_gaussians_torch(means, quats, scales, opacities, colors, intrinsics, extrinsics, 10, 12,
                                 features=features, max_elements=50)  # several pixel chunks
    ref_attr, ref_depth = _brute_force(*scene, 10, 12)
    assert out.alpha.max() > 0.5  # the Gaussians are in view
    np.testing.assert_allclose(out.color.numpy(), ref_attr[..., :3], atol=1e-9)
    np.testing.assert_allclose(out.features.numpy(), ref_attr[..., 3:], atol=1e-9)
    np.testing.assert_allclose(out.depth.numpy(), ref_depth, atol=1e-9)


def test_occlusion_and_background() -> None:
    """A near opaque red splat hides a far green one; the background fills 1 - alpha."""
    means = torch.tensor([[0.0, 0.0, 2.0], [0.0, 0.0, 1.0]])
    quats = torch.tensor([[1.0, 0, 0, 0]] * 2)
    scales = torch.full((2, 3), 0.5)
    colors = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    intrinsics = torch.tensor([[[4.0, 0, 2.0], [0, 4.0, 2.0], [0, 0, 1]]])
    out = render_gaussians(means, quats, scales, torch.tensor([0.99, 0.99]), colors, intrinsics, torch.eye(4)[None],
                           4, 4, background=torch.tensor([0.0, 0.0, 1.0]))
    centre = out.color[0, 2, 2]
    assert centre[0] > 0.9 and centre[1] < 0.1 * centre[0]
    assert torch.allclose(out.color.sum(-1), torch.ones(1, 4, 4))  # colours and background sum to 1 per channel mix
    assert 1.0 < float(out.expected_depth()[0, 2, 2]) < 1.1  # mostly the near splat, a little of the far one


def test_behind_camera_is_invisible() -> None:
    out = render_gaussians(torch.tensor([[0.0, 0.0, -1.0]]), torch.tensor([[1.0, 0, 0, 0]]), torch.full((1, 3), 0.5),
                           torch.tensor([0.9]), torch.ones(1, 3),
                           torch.tensor([[[4.0, 0, 2.0], [0, 4.0, 2.0], [0, 0, 1]]]), torch.eye(4)[None], 4, 4)
    assert float(out.alpha.abs().max()) == 0.0


def test_covariance_is_rotated_scale() -> None:
    quat = torch.tensor([[math.cos(math.pi / 8), 0.0, 0.0, math.sin(math.pi / 8)]])  # 45 degrees about z
    cov = covariance_3d(quat, torch.tensor([[2.0, 1.0, 3.0]]))[0]
    expected = torch.tensor([[2.5, 1.5, 0.0], [1.5, 2.5, 0.0], [0.0, 0.0, 9.0]])
    assert torch.allclose(cov, expected, atol=1e-6)


def test_gradcheck_float64() -> None:
    means, quats, scales, opacities, colors, features, intrinsics, extrinsics = _scene(num_gaussians=3, seed=1)

    def render(means, quats, scales, opacities, colors, features):
        out = render_gaussians_torch(means, quats, scales, opacities, colors, intrinsics, extrinsics, 4, 5,
                                     features=features, min_alpha=0.0)
        return out.color, out.depth, out.features

    inputs = tuple(t.clone().requires_grad_(True) for t in (means, quats, scales, opacities, colors, features))
    assert torch.autograd.gradcheck(render, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_bad_shapes_raise_named_errors() -> None:
    means, quats, scales, opacities, colors, features, intrinsics, extrinsics = _scene()
    with pytest.raises(ComponentError, match="quats"):
        render_gaussians(means, quats[:2], scales, opacities, colors, intrinsics, extrinsics, 4, 4)
    with pytest.raises(ComponentError, match="world_to_camera"):
        render_gaussians(means, quats, scales, opacities, colors, intrinsics, extrinsics[:, :3], 4, 4)
    with pytest.raises(ComponentError, match="gsplat"):
        render_gaussians(means, quats, scales, opacities, colors, intrinsics, extrinsics, 4, 4, backend="gsplat")


def test_gradients_stay_finite_near_the_camera_plane_and_off_screen() -> None:
    """Gaussians at z ≈ 0, behind the camera or far to the side must not poison the gradients with NaN."""
    means = torch.tensor([[0.5, 0.2, 1e-5], [2.0, 0.0, -0.3], [40.0, 0.0, 1.0], [0.0, 0.0, 2.0]], requires_grad=True)
    quats = torch.tensor([[1.0, 0.0, 0.0, 0.0]] * 4, requires_grad=True)
    scales = torch.full((4, 3), 0.3, requires_grad=True)
    opacities = torch.full((4,), 0.8, requires_grad=True)
    colors = torch.rand(4, 3, requires_grad=True)
    intrinsics = torch.tensor([[[20.0, 0, 8.0], [0, 20.0, 6.0], [0, 0, 1]]])
    out = render_gaussians(means, quats, scales, opacities, colors, intrinsics, torch.eye(4)[None], 12, 16)
    (out.color.sum() + out.depth.sum()).backward()
    for tensor in (means, quats, scales, opacities, colors):
        assert torch.isfinite(tensor.grad).all()
    assert float(out.alpha.detach().max()) > 0.5  # the visible one still renders


@pytest.mark.parametrize("tile_size", [4, 8])
def test_tiled_compositing_equals_every_pixel_against_every_gaussian(tile_size: int) -> None:
    """Tiles (image sides not multiples of the tile, big near splats, off-screen ones) give the dense image and gradients."""
    generator = torch.Generator().manual_seed(0)
    count = 60
    means = (torch.rand(count, 3, generator=generator) - 0.5) * torch.tensor([3.0, 2.0, 3.0]) + torch.tensor([0, 0, 2.0])
    means[0] = torch.tensor([0.1, 0.0, 0.3])  # close to the camera: covers many tiles
    inputs = [means, torch.randn(count, 4, generator=generator), 0.02 + 0.2 * torch.rand(count, 3, generator=generator),
              0.2 + 0.8 * torch.rand(count, generator=generator), torch.rand(count, 3, generator=generator),
              torch.randn(count, 5, generator=generator)]
    intrinsics = torch.tensor([[[12.0, 0, 9.5], [0, 12.0, 6.5], [0, 0, 1]]] * 2)
    extrinsics = torch.eye(4).repeat(2, 1, 1)
    extrinsics[1, 0, 3] = 0.4
    outputs, grads = [], []
    for tiles in (0, tile_size):
        leaves = [t.clone().requires_grad_(True) for t in inputs]
        out = render_gaussians_torch(*leaves[:5], intrinsics, extrinsics, 13, 19, features=leaves[5], tile_size=tiles,
                                     background=torch.tensor([0.2, 0.3, 0.4]))
        (out.color.square().sum() + out.depth.sum() + out.features.sin().sum()).backward()
        outputs.append(out)
        grads.append([leaf.grad for leaf in leaves])
    dense, tiled = outputs
    assert float(dense.alpha.detach().max()) > 0.9
    for name in ("color", "depth", "alpha", "features"):
        assert torch.allclose(getattr(dense, name), getattr(tiled, name), atol=1e-5), name
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)

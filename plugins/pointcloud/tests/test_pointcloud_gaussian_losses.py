"""Golden values of GaussianCross's three losses (hand-computed), and its frozen 2-D teacher."""

from __future__ import annotations

import pytest
import torch

from selfsup.errors import ConfigError, UnsafeFactoryError
from selfsup_pointcloud.gaussians.teacher import build_teacher
from selfsup_pointcloud.losses.gaussian_cross_color import gaussian_cross_color_loss
from selfsup_pointcloud.losses.gaussian_cross_depth import gaussian_cross_depth_loss
from selfsup_pointcloud.losses.gaussian_cross_feature import gaussian_cross_feature_loss


def test_color_l1_golden() -> None:
    rendered = torch.tensor([[0.2, 0.4, 0.6], [1.0, 0.0, 0.5]])
    target = torch.tensor([[0.0, 0.5, 0.5], [0.5, 0.5, 0.5]])
    # |diff| = [0.2, 0.1, 0.1] and [0.5, 0.5, 0.0]: 1.4 / 6
    assert float(gaussian_cross_color_loss(rendered, target)) == pytest.approx(1.4 / 6)
    # only the first pixel: 0.4 / 3
    assert float(gaussian_cross_color_loss(rendered, target, torch.tensor([True, False]))) == pytest.approx(0.4 / 3)


def test_depth_l1_counts_valid_pixels_only() -> None:
    rendered = torch.tensor([[1.0, 2.0], [3.0, 0.5]])
    target = torch.tensor([[1.5, 0.0], [2.0, 0.5]])  # 0 = no sensor reading
    # valid: 1.5, 2.0, 0.5 -> errors 0.5, 1.0, 0.0 -> 1.5 / 3
    assert float(gaussian_cross_depth_loss(rendered, target)) == pytest.approx(0.5)
    assert float(gaussian_cross_depth_loss(rendered, torch.zeros(2, 2))) == 0.0
    explicit = torch.tensor([[True, True], [False, False]])  # errors 0.5 and 2.0
    assert float(gaussian_cross_depth_loss(rendered, target, explicit)) == pytest.approx(1.25)


def test_feature_cosine_golden_and_teacher_side_detached() -> None:
    predicted = torch.tensor([[1.0, 0.0], [1.0, 1.0], [3.0, 4.0]], requires_grad=True)
    target = torch.tensor([[0.0, 1.0], [2.0, 2.0], [-3.0, -4.0]], requires_grad=True)
    # cos = 0, 1, -1 -> 1 - cos = 1, 0, 2 -> mean 1
    loss = gaussian_cross_feature_loss(predicted, target)
    assert float(loss.detach()) == pytest.approx(1.0)
    loss.backward()
    assert target.grad is None and predicted.grad is not None
    assert float(gaussian_cross_feature_loss(predicted.detach(), target, torch.tensor([False, True, True]))) == pytest.approx(1.0)
    assert float(gaussian_cross_feature_loss(predicted.detach(), target, torch.tensor([False, True, False]))) == pytest.approx(0.0, abs=1e-6)


def test_resnet_teacher_is_frozen_and_loads_local_weights(tmp_path) -> None:
    from torchvision.models import resnet18

    torch.manual_seed(0)
    reference = resnet18(weights=None)
    path = tmp_path / "resnet18.pt"
    torch.save(reference.state_dict(), path)
    teacher = build_teacher("resnet18", str(path), stages=2)
    assert all(not p.requires_grad for p in teacher.parameters()) and not teacher.training
    assert torch.equal(teacher.net.conv1.weight, reference.conv1.weight)
    out = teacher(torch.rand(2, 3, 32, 48))
    assert out.shape == (2, 128, 4, 6)
    with pytest.raises(ConfigError, match="teacher"):
        build_teacher("radio-v2.5")
    with pytest.raises(UnsafeFactoryError, match="allow-list"):
        build_teacher("no_such_module:factory")
    with pytest.raises(ConfigError, match="not a file"):
        build_teacher("resnet18", str(tmp_path / "missing.pt"))


def small_image_encoder() -> torch.nn.Module:
    """A stand-in for any local image encoder named as ``"module:factory"``."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3, stride=2, padding=1), torch.nn.BatchNorm2d(6))


def test_teacher_path_outside_the_allow_list_is_never_imported(monkeypatch) -> None:
    """A config naming ``module:attribute`` (here os:getpid) must not import or call it."""
    calls = []
    monkeypatch.setattr("os.getpid", lambda: calls.append(1) or 1)
    monkeypatch.delenv("SELFSUP_ALLOWED_FACTORIES", raising=False)
    with pytest.raises(UnsafeFactoryError, match=r"objective_config.teacher='os:getpid' names a Python callable.*SELFSUP_ALLOWED_FACTORIES=os:getpid"):
        build_teacher("os:getpid")
    monkeypatch.setenv("SELFSUP_ALLOWED_FACTORIES", "os:getcwd, os:getpid_other")  # exact paths only
    with pytest.raises(UnsafeFactoryError):
        build_teacher("os:getpid")
    assert calls == []
    monkeypatch.setenv("SELFSUP_ALLOWED_FACTORIES", "os:getpid")
    with pytest.raises(ConfigError, match="returned int, not a torch Module"):  # allowed: now it is called
        build_teacher("os:getpid")
    assert calls == [1]
    monkeypatch.setenv("SELFSUP_ALLOWED_FACTORIES", "no_such_module:factory")
    with pytest.raises(ConfigError, match="allowed but could not be imported"):
        build_teacher("no_such_module:factory")


def test_a_run_naming_a_teacher_path_off_the_allow_list_is_refused_before_its_data_is_built(tmp_path, monkeypatch) -> None:
    """The config's own check (GaussianCrossConfig.__post_init__) runs before the scenes and their
    views are generated, so the refusal costs no data building."""
    from selfsup import pretrain
    from selfsup_pointcloud.datasets import procedural

    monkeypatch.delenv("SELFSUP_ALLOWED_FACTORIES", raising=False)
    built = []
    monkeypatch.setattr(procedural.ProceduralRooms, "__init__", lambda self, *a, **k: built.append(1) or None)
    with pytest.raises(UnsafeFactoryError, match=r"objective_config.teacher='os:getpid' names a Python callable"):
        pretrain(modality="pointcloud", objective="gaussian-cross", objective_config={"teacher": "os:getpid"},
                 run_dir=tmp_path / "run", trainer={"max_steps": 1})
    assert built == []
    with pytest.raises(ConfigError, match="objective_config.teacher='resnet19' is not one of 'none', 'resnet18'"):
        pretrain(modality="pointcloud", objective="gaussian-cross", objective_config={"teacher": "resnet19"},
                 run_dir=tmp_path / "run2", trainer={"max_steps": 1})
    assert built == []


def test_teacher_from_a_module_factory_path(tmp_path, monkeypatch) -> None:
    # a module:factory teacher must be allow-listed (before the allow-list, any path was imported)
    monkeypatch.setenv("SELFSUP_ALLOWED_FACTORIES", f"{__name__}:small_image_encoder")
    reference = small_image_encoder()
    with torch.no_grad():
        reference[0].weight.add_(1.0)
    path = tmp_path / "encoder.pt"
    torch.save(reference.state_dict(), path)
    teacher = build_teacher(f"{__name__}:small_image_encoder", str(path))
    assert torch.equal(teacher[0].weight, reference[0].weight)
    assert not teacher.training and all(not p.requires_grad for p in teacher.parameters())
    assert teacher(torch.rand(1, 3, 8, 10)).shape == (1, 6, 4, 5)

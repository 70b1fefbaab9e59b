"""ScanNet .npy/.pth scenes and Gaussian-teacher weights: a crafted pickle never runs; an object array is a DatasetError."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from selfsup.errors import ConfigError, DatasetError
from selfsup.testing.hostile import HostilePayload as _Payload
from selfsup.testing.hostile import hostile_pickle_bytes as _pickle_bytes


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "pwned"


@pytest.mark.parametrize("how", ["object-npy", "raw-pickle"])
def test_scannet_npy_refuses_pickled_content(tmp_path, marker, how):
    from selfsup_pointcloud.datasets.scannet import read_npy_scene

    scene = tmp_path / "scene0000_00"
    scene.mkdir()
    if how == "object-npy":
        np.save(scene / "coord.npy", np.array([_Payload(marker), 1.0], dtype=object), allow_pickle=True)
    else:
        (scene / "coord.npy").write_bytes(_pickle_bytes(marker))
    with pytest.raises(DatasetError, match=r"coord\.npy: not a numeric \.npy array"):
        read_npy_scene(scene)
    assert not marker.exists()


def test_scannet_object_array_without_payload_is_a_named_error(tmp_path):
    from selfsup_pointcloud.datasets.scannet import read_npy_scene

    scene = tmp_path / "scene0000_00"
    scene.mkdir()
    np.save(scene / "coord.npy", np.zeros((4, 3), np.float32))
    np.save(scene / "segment20.npy", np.array([1, "wall", None, 2], dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError, match=r"segment20\.npy: not a numeric \.npy array .*allow_pickle=False"):
        read_npy_scene(scene)


def test_scannet_pth_refuses_a_crafted_pickle(tmp_path, marker):
    from selfsup_pointcloud.datasets.scannet import read_pth_scene

    torch.save({"coord": _Payload(marker)}, tmp_path / "scene.pth")
    with pytest.raises(DatasetError, match=r"scene\.pth: cannot read it as a tensor/numpy \.pth file"):
        read_pth_scene(tmp_path / "scene.pth")
    assert not marker.exists()


def test_gaussian_teacher_weights_refuse_a_crafted_pickle(tmp_path, marker):
    from selfsup_pointcloud.gaussians.teacher import build_teacher

    torch.save({"conv1.weight": _Payload(marker)}, tmp_path / "teacher.pt")
    with pytest.raises(ConfigError, match=r"teacher_weights=.* cannot be loaded safely as a state dict"):
        build_teacher("resnet18", str(tmp_path / "teacher.pt"))
    assert not marker.exists()

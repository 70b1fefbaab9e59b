"""CIFAR batches and FID Inception weights: a crafted pickle never runs, a named error is raised."""

from __future__ import annotations

import pytest
import torch
from selfsup.errors import DatasetError, SelfsupError
from selfsup.testing.hostile import HostilePayload as _Payload
from selfsup.testing.hostile import hostile_pickle_bytes as _pickle_bytes


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "pwned"


def test_cifar_refuses_a_crafted_pickle(tmp_path, marker):
    from selfsup_vision.datasets.cifar import load_cifar_pickle

    (tmp_path / "data_batch_1").write_bytes(_pickle_bytes(marker))
    with pytest.raises(DatasetError, match=r"data_batch_1 is not a readable CIFAR pickle batch .*posix\.system"):
        load_cifar_pickle(tmp_path / "data_batch_1")
    assert not marker.exists()


def test_fid_inception_weights_refuse_a_crafted_pickle(tmp_path, marker):
    from selfsup_vision.evaluation.inception import (
        FIDInceptionV3,
        InceptionWeightsError,
    )

    torch.save({"fc.weight": _Payload(marker)}, tmp_path / "pt_inception.pth")
    with pytest.raises(InceptionWeightsError, match="could not be read as a PyTorch state_dict"):
        FIDInceptionV3().load_weights(tmp_path / "pt_inception.pth")
    assert issubclass(InceptionWeightsError, SelfsupError) and not marker.exists()

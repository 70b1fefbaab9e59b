"""CIFAR batches and FID Inception weights: a crafted pickle never runs, a named error is raised."""

from __future__ import annotations

import os
import pickle
import shlex
from pathlib import Path

import pytest
import torch

from selfsup.errors import DatasetError, SelfsupError


class _Payload:
    """Unpickling this runs ``touch <marker>``: what a crafted file would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


def _pickle_bytes(marker: Path, protocol: int = 2) -> bytes:
    return pickle.dumps({"data": _Payload(marker), "labels": [0]}, protocol=protocol)


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "pwned"


def test_the_payload_is_live(marker):
    """The same bytes, unpickled without restriction, do create the marker (so the tests below mean something)."""
    pickle.loads(_pickle_bytes(marker))
    assert marker.exists()


def test_cifar_refuses_a_crafted_pickle(tmp_path, marker):
    from selfsup_vision.datasets.cifar import load_cifar_pickle

    (tmp_path / "data_batch_1").write_bytes(_pickle_bytes(marker))
    with pytest.raises(DatasetError, match=r"data_batch_1 is not a readable CIFAR pickle batch .*posix\.system"):
        load_cifar_pickle(tmp_path / "data_batch_1")
    assert not marker.exists()


def test_fid_inception_weights_refuse_a_crafted_pickle(tmp_path, marker):
    from selfsup_vision.evaluation.inception import FIDInceptionV3, InceptionWeightsError

    torch.save({"fc.weight": _Payload(marker)}, tmp_path / "pt_inception.pth")
    with pytest.raises(InceptionWeightsError, match="could not be read as a PyTorch state_dict"):
        FIDInceptionV3().load_weights(tmp_path / "pt_inception.pth")
    assert issubclass(InceptionWeightsError, SelfsupError) and not marker.exists()

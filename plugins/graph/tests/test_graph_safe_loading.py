"""Planetoid files are unpickled with a restricted unpickler: a crafted pickle never runs."""

from __future__ import annotations

import os
import pickle
import shlex
from pathlib import Path

import pytest

from selfsup.errors import DatasetError


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


def test_planetoid_refuses_a_crafted_pickle(tmp_path, marker):
    from selfsup_graph.datasets.planetoid import FILES, read_planetoid

    for part in FILES:
        (tmp_path / f"ind.cora.{part}").write_bytes(_pickle_bytes(marker))
    (tmp_path / "ind.cora.test.index").write_text("0\n")
    with pytest.raises(DatasetError, match=r"ind\.cora\.x' could not be read: global 'posix\.system' is not allowed"):
        read_planetoid(tmp_path, "cora")
    assert not marker.exists()

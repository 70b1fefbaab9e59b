"""Planetoid files are unpickled with a restricted unpickler: a crafted pickle never runs."""

from __future__ import annotations

import pytest
from selfsup.errors import DatasetError
from selfsup.testing.hostile import hostile_pickle_bytes as _pickle_bytes


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "pwned"


def test_planetoid_refuses_a_crafted_pickle(tmp_path, marker):
    from selfsup_graph.datasets.planetoid import FILES, read_planetoid

    for part in FILES:
        (tmp_path / f"ind.cora.{part}").write_bytes(_pickle_bytes(marker))
    (tmp_path / "ind.cora.test.index").write_text("0\n")
    with pytest.raises(DatasetError, match=r"ind\.cora\.x' could not be read: global 'posix\.system' is not allowed"):
        read_planetoid(tmp_path, "cora")
    assert not marker.exists()

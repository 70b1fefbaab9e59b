"""A malicious pickle in place of every file format this plugin reads is refused with a named error
and never runs (the core's test_safe_loading.py covers the run files)."""

from __future__ import annotations

import pickle

import pytest

from selfsup.errors import DatasetError
from selfsup.testing.hostile import hostile_pickle_bytes
from selfsup_timeseries.configs import CSVWindowsConfig, UCRConfig
from selfsup_timeseries.datasets.sources import CSVWindows, UCRArchive


def test_the_payload_is_live(tmp_path):
    marker = tmp_path / "pwned"
    pickle.loads(hostile_pickle_bytes(marker))
    assert marker.exists()


@pytest.mark.parametrize("ext", ["ts", "arff", "tsv", "txt"])
def test_pickle_as_an_archive_file(tmp_path, ext):
    marker = tmp_path / "pwned"
    (tmp_path / f"Evil_TRAIN.{ext}").write_bytes(hostile_pickle_bytes(marker))
    with pytest.raises(DatasetError, match=r"Evil_TRAIN\." + ext):
        UCRArchive(UCRConfig(root=str(tmp_path), name="Evil"))
    assert not marker.exists()


def test_pickle_as_a_csv_of_windows(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "windows.csv"
    path.write_bytes(hostile_pickle_bytes(marker))
    with pytest.raises(DatasetError, match="windows.csv"):
        CSVWindows(CSVWindowsConfig(path=str(path)))
    assert not marker.exists()

"""``read_table``: formats, malformed rows, empty and missing files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from selfsup.errors import ConfigError, DatasetError
from selfsup_tabular.datasets import read_table

ROWS = "a, b, label\n1, x, 0\n2, ?, 1\n3, z, 0\n"


def test_reads_csv_with_spaces_and_question_marks(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(ROWS + "\n   \n")  # trailing blank and whitespace-only lines are ignored
    frame = read_table(path)
    assert list(frame.columns) == ["a", "b", "label"]
    assert frame["a"].tolist() == [1, 2, 3]
    assert frame["b"].isna().tolist() == [False, True, False]
    assert frame.attrs["skipped_lines"] == []


@pytest.mark.parametrize("name", ["t.csv.gz", "t.tsv", "t.parquet"])
def test_reads_other_formats(tmp_path: Path, name: str) -> None:
    frame = pd.DataFrame({"a": [1.5, 2.5], "b": ["x", "y"], "label": [0, 1]})
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    elif name.endswith(".tsv"):
        frame.to_csv(path, sep="\t", index=False)
    else:
        with gzip.open(path, "wt") as handle:
            frame.to_csv(handle, index=False)
    read = read_table(path)
    assert read["a"].tolist() == [1.5, 2.5] and read["b"].tolist() == ["x", "y"]


def test_headerless_with_names(tmp_path: Path) -> None:
    path = tmp_path / "raw.data"
    path.write_text("1, x, 0\n2, y, 1\n")
    frame = read_table(path, sep=",", header=None, names=["a", "b", "label"])
    assert frame.shape == (2, 3)
    with pytest.raises(ConfigError, match="sep="):
        read_table(path)  # unknown extension, no sep
    with pytest.raises(ConfigError, match="names"):
        read_table(path, sep=",", header=None)


@pytest.mark.parametrize(
    ("bad_line", "found"),
    [("4, y, 1, 7", 4), ("4, y", 2)],  # too many fields (pandas would raise) and too few (pandas would pad)
)
def test_malformed_row_names_file_line_and_counts(tmp_path: Path, bad_line: str, found: int) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(ROWS + bad_line + "\n5, x, 0\n")
    with pytest.raises(DatasetError) as caught:
        read_table(path)
    message = str(caught.value)
    assert "broken.csv" in message
    assert f"line 5 has {found} fields, expected 3" in message
    assert "on_bad_lines='skip'" in message
    frame = read_table(path, on_bad_lines="skip")
    assert frame["a"].tolist() == [1, 2, 3, 5]
    assert frame.attrs["skipped_lines"] == [5]


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DatasetError, match=r"empty\.csv.* is empty.*header row"):
        read_table(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b,label\n")
    with pytest.raises(DatasetError, match=r"header\.csv.*no data rows"):
        read_table(header_only)


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nope\.csv.*not found"):
        read_table(tmp_path / "nope.csv")
    path = tmp_path / "t.csv"
    path.write_text(ROWS)
    with pytest.raises(ConfigError, match="on_bad_lines"):
        read_table(path, on_bad_lines="warn")
    with pytest.raises(ConfigError, match="one character"):
        read_table(path, sep=", ")


def test_max_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(ROWS)
    assert len(read_table(path, max_rows=2)) == 2

"""The UCR/UEA readers on the real archive files: the same problem in .ts, .arff and .tsv reads the
same; multivariate, unequal-length, regression and old-text variants; the CSV of windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfsup.errors import DatasetError
from selfsup_timeseries.configs import CSVWindowsConfig, UCRConfig
from selfsup_timeseries.datasets.readers import read_arff, read_csv_windows, read_ts, read_tsv, read_ucr_txt
from selfsup_timeseries.datasets.sources import CSVWindows, UCRArchive


def test_gunpoint_reads_the_same_from_ts_arff_and_tsv(ucr_root):
    folder = ucr_root / "GunPoint"
    ts, arff, tsv = (reader(folder / f"GunPoint_TRAIN.{ext}") for reader, ext in
                     ((read_ts, "ts"), (read_arff, "arff"), (read_tsv, "tsv")))
    assert len(ts.series) == len(arff.series) == len(tsv.series) == 50
    assert ts.series[0].shape == (1, 150)
    for a, b, c in zip(ts.series, arff.series, tsv.series):
        assert np.allclose(a, b, atol=1e-6) and np.allclose(a, c, atol=1e-6)
    assert ts.labels == arff.labels == tsv.labels
    assert ts.class_names == ["1", "2"] and ts.labels.count("1") + ts.labels.count("2") == 50


def test_multivariate_basicmotions_ts_equals_arff(ucr_root):
    ts = read_ts(ucr_root / "BasicMotions" / "BasicMotions_TRAIN.ts")
    arff = read_arff(ucr_root / "BasicMotions" / "BasicMotions_TRAIN.arff")
    assert ts.series[0].shape == (6, 100) and len(ts.series) == 40
    assert all(np.allclose(a, b) for a, b in zip(ts.series, arff.series))
    assert ts.labels == arff.labels and sorted(set(ts.labels)) == ["Badminton", "Running", "Standing", "Walking"]


def test_ucr_source_builds_train_and_test_with_the_declared_task(ucr_root):
    source = UCRArchive(UCRConfig(root=str(ucr_root), name="BasicMotions"))
    assert source.splits == ("train", "test")
    assert source.info["num_channels"] == 6 and source.info["length"] == 100 and source.info["num_classes"] == 4
    assert source.info["label_tasks"]["label"]["type"] == "multiclass"
    batch = source.split("test").__getitems__([0, 1, 2])
    assert batch["x"].shape == (3, 6, 100) and batch["label"].dtype == torch.long
    # z-normalised per series and channel
    x = source.split("train").x
    assert x.mean(-1).abs().max() < 1e-5 and (x.std(-1, unbiased=False) - 1).abs().max() < 1e-4


def test_unequal_lengths_are_refused_by_name_or_resampled(ucr_root):
    with pytest.raises(DatasetError, match=r"unequal lengths \(7-26\).*data.unequal_length=resample"):
        UCRArchive(UCRConfig(root=str(ucr_root), name="JapaneseVowels"))
    source = UCRArchive(UCRConfig(root=str(ucr_root), name="JapaneseVowels", unequal_length="resample", length=32))
    assert source.split("train").x.shape == (270, 12, 32) and source.split("test").x.shape == (370, 12, 32)
    padded = UCRArchive(UCRConfig(root=str(ucr_root), name="PickupGestureWiimoteZ", unequal_length="pad"))
    x = padded.split("train").x
    assert x.shape[-1] == 361 and (x[:, :, -1] == 0).sum() > 40  # most series are shorter than the longest
    # each series is z-normalised over its own steps, before the padding
    first = x[0, 0]
    steps = int((first != 0).nonzero().max()) + 1
    assert first[:steps].mean().abs() < 1e-4 and (first[:steps].std(unbiased=False) - 1).abs() < 1e-3


def test_regression_targets_from_ts(ucr_root):
    source = UCRArchive(UCRConfig(root=str(ucr_root), name="Tecator"))
    assert source.info["label_tasks"]["label"]["type"] == "regression"
    y = source.split("train").y
    assert y.dtype == torch.float32 and len(y) == 172 and y[0].item() == pytest.approx(22.5)


def test_old_ucr_text_format(ucr_root):
    raw = read_ucr_txt(ucr_root / "Coffee" / "Coffee_TRAIN.txt")
    assert len(raw.series) == 28 and raw.series[0].shape == (1, 286) and set(raw.labels) == {"0", "1"}
    source = UCRArchive(UCRConfig(root=str(ucr_root), name="Coffee"))
    assert source.info["num_classes"] == 2 and len(source.split("test")) == 28


def test_csv_windows_channel_major_and_seeded_split(tmp_path):
    rows = ["a0,a1,a2,b0,b1,b2,label"] + [f"{i},{i + 1},{i + 2},{-i},{-i - 1},{-i - 2},{'up' if i % 2 else 'down'}"
                                          for i in range(12)]
    path = tmp_path / "w.csv"
    path.write_text("\n".join(rows) + "\n")
    raw = read_csv_windows(path, label_column="label", task="classification", num_channels=2)
    assert np.array_equal(raw.series[3], np.array([[3, 4, 5], [-3, -4, -5]], dtype=float))
    source = CSVWindows(CSVWindowsConfig(path=str(path), num_channels=2, znorm=False))
    assert len(source.split("train")) == 9 and len(source.split("test")) == 3
    assert source.info["num_classes"] == 2 and source.info["num_channels"] == 2 and source.info["length"] == 3
    with pytest.raises(DatasetError, match="do not split into data.num_channels=4"):
        CSVWindows(CSVWindowsConfig(path=str(path), num_channels=4))


@pytest.mark.parametrize(
    "text, message",
    [
        ("@problemName x\n@classLabel true a b\n@data\n1,2,3\n", r"no ':' before the label"),
        ("@problemName x\n@classLabel true a b\n@data\n1,2,3:c\n", r"label 'c' is not in @classLabel"),
        ("@problemName x\n@classLabel true a b\n@data\n1,2,x:a\n", r"'x' is not a number"),
        ("@problemName x\n@classLabel true a b\n", r"no @data line"),
        ("1,2,3:a\n", r"expected an @ header line"),
        ("@timeStamps true\n@classLabel true a\n@data\n(0,1),(1,2):a\n", r"time-stamped series"),
        ("@classLabel true a\n@data\n1,2:3,4,5:a\n", r"channels have different lengths"),
    ],
)
def test_malformed_ts_files_are_named_errors(tmp_path, text, message):
    path = tmp_path / "bad_TRAIN.ts"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        read_ts(path)


def test_missing_values_are_refused_with_the_fix(tmp_path):
    (tmp_path / "m_TRAIN.ts").write_text("@classLabel true a\n@data\n1,?,3,4:a\n1,2,3,4:a\n")
    with pytest.raises(DatasetError, match="missing values.*Impute them"):
        UCRArchive(UCRConfig(root=str(tmp_path), name="m"))


def test_unknown_problem_names_the_folder(tmp_path):
    with pytest.raises(DatasetError, match=r"no Nope_TRAIN\.\{ts,arff,tsv,txt\} in"):
        UCRArchive(UCRConfig(root=str(tmp_path), name="Nope"))

"""Schema inference, preprocessing, splits and the tabular data sources."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from selfsup.errors import ConfigError, DatasetError
from selfsup.interfaces import DataSource
from selfsup_tabular.datasets import (
    Adult,
    AdultConfig,
    AdultSample,
    AdultSampleConfig,
    CSVTable,
    CSVTableConfig,
    SyntheticTraffic,
    SyntheticTrafficConfig,
    TableDataset,
    TablePreprocessor,
    TableSchema,
    TableSource,
    infer_schema,
)
from selfsup_tabular.datasets.splits import split_off

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("SELFSUP_DATA", REPO.parent / "shared" / "data"))
ADULT_ROOT = DATA / "adult"
needs_adult = pytest.mark.skipif(
    not (ADULT_ROOT / "adult.data").is_file(), reason=f"UCI Adult not found under {ADULT_ROOT} (set SELFSUP_DATA)"
)

INFO_KEYS = {
    "task",
    "num_classes",
    "class_names",
    "num_numerical",
    "numerical_names",
    "cardinalities",
    "categorical_names",
    "num_features",
    "preprocessing",
    "num_rows",
    "unseen_categories",
}


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x_float": rng.normal(5.0, 2.0, n),
            "x_int_many": rng.integers(0, 1000, n),
            "x_int_few": rng.integers(0, 3, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "flag": rng.random(n) > 0.5,
            "label": rng.choice(["yes", "no"], n),
        }
    )


# ------------------------------------------------------------------ schema
def test_infer_schema_rules_and_overrides() -> None:
    frame = _frame()
    schema = infer_schema(frame, target="label")
    assert schema.task == "classification"
    assert schema.numerical == ["x_float", "x_int_many"]
    assert schema.categorical == ["x_int_few", "colour", "flag"]
    # explicit lists override inference; drop removes a column
    schema = infer_schema(frame, target="label", numerical=["x_int_few"], categorical=["x_float"], drop=["flag"])
    assert schema.numerical == ["x_int_many", "x_int_few"]  # table column order
    assert schema.categorical == ["x_float", "colour"]
    # the ratio rule: in a 20-row table, 3 distinct integers are too many to be categories
    assert "x_int_few" in infer_schema(frame.head(20), target="label").numerical
    assert "x_int_few" in infer_schema(frame, target="label", max_int_categories=2).numerical


def test_infer_schema_task() -> None:
    frame = _frame()
    assert infer_schema(frame, target="x_float").task == "regression"
    assert infer_schema(frame, target="x_int_few").task == "classification"
    assert infer_schema(frame, target="x_int_many").task == "regression"
    assert infer_schema(frame, target="x_int_few", task="regression").task == "regression"
    with pytest.raises(DatasetError, match="not numeric"):
        infer_schema(frame, target="colour", task="regression")
    with pytest.raises(ConfigError, match="task="):
        infer_schema(frame, target="label", task="ranking")


def test_infer_schema_errors() -> None:
    frame = _frame()
    with pytest.raises(DatasetError, match=r"Target column 'lable'.*Did you mean 'label'"):
        infer_schema(frame, target="lable")
    with pytest.raises(DatasetError, match="'colour_x'"):
        infer_schema(frame, target="label", categorical=["colour_x"])
    with pytest.raises(ConfigError, match="both"):
        infer_schema(frame, target="label", categorical=["colour"], numerical=["colour"])
    with pytest.raises(DatasetError, match="no feature columns"):
        infer_schema(frame[["label"]], target="label")
    dated = frame.assign(when=pd.date_range("2020-01-01", periods=len(frame)))
    with pytest.raises(DatasetError, match=r"drop=\['when'\]"):
        infer_schema(dated, target="label")


# ----------------------------------------------------------- preprocessing
def test_preprocessor_transform_and_statistics() -> None:
    train = pd.DataFrame(
        {
            "a": [1.0, 2.0, np.nan, 5.0],
            "const": [3.0, 3.0, 3.0, 3.0],
            "c": ["x", "y", None, "x"],
            "k": [3, 1, 2, 3],
            "y": ["b", "a", "b", "a"],
        }
    )
    schema = TableSchema(target="y", task="classification", numerical=["a", "const"], categorical=["c", "k"])
    pre = TablePreprocessor(schema).fit(train)
    assert pre.categories == [["x", "y"], ["1", "2", "3"]]
    assert pre.cardinalities == [3, 4]
    assert pre.class_names == ["a", "b"]
    assert pre.numerical_std[1] == 1.0  # std 0 -> 1
    out = pre.transform(train)
    assert out["numerical"].dtype == torch.float32 and out["numerical"].shape == (4, 2)
    assert out["categorical"].dtype == torch.int64 and out["categorical"].shape == (4, 2)
    assert out["label"].dtype == torch.int64 and out["label"].tolist() == [1, 0, 1, 0]
    mean, std = np.mean([1.0, 2.0, 5.0]), np.std([1.0, 2.0, 5.0])
    assert out["numerical"][:, 0].tolist() == pytest.approx([(1 - mean) / std, (2 - mean) / std, 0.0, (5 - mean) / std])
    assert out["numerical"][:, 1].tolist() == [0.0] * 4
    assert out["categorical"].tolist() == [[1, 3], [2, 1], [0, 2], [1, 3]]


def test_unseen_categories_map_to_zero_and_are_counted() -> None:
    train = pd.DataFrame({"c": ["x", "y", "x"], "k": [1, 2, 2], "y": [0, 1, 0]})
    schema = TableSchema(target="y", task="classification", categorical=["c", "k"])
    pre = TablePreprocessor(schema).fit(train)
    # "k" read as float because of a missing value in another file: 2.0 must still match "2"
    test = pd.DataFrame({"c": ["z", "x", None, "w"], "k": [2.0, np.nan, 7.0, 1.0]})
    out, report = pre.transform_with_report(test)
    assert out["categorical"].tolist() == [[0, 2], [1, 0], [0, 0], [0, 1]]
    assert report.unseen_categories == 3
    assert report.unseen_by_column == {"c": 2, "k": 1}
    assert report.missing_categorical == 2
    assert "label" not in out  # no target column in this frame


def test_preprocessor_json_round_trip() -> None:
    train = _frame(300, seed=1)
    schema = infer_schema(train, target="label")
    pre = TablePreprocessor(schema).fit(train)
    restored = TablePreprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    test = _frame(50, seed=2)
    a, b = pre.transform(test), restored.transform(test)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key])
    assert restored.to_dict() == pre.to_dict()
    with pytest.raises(ConfigError, match="format"):
        TablePreprocessor.from_dict({"format": "something-else"})


def test_regression_target_stays_raw() -> None:
    train = _frame(100)
    schema = infer_schema(train, target="x_float")
    pre = TablePreprocessor(schema).fit(train)
    out = pre.transform(train)
    assert out["label"].dtype == torch.float32
    assert torch.allclose(out["label"], torch.tensor(train["x_float"].to_numpy(), dtype=torch.float32))
    assert pre.to_dict()["target_mean"] == pytest.approx(train["x_float"].mean())


def test_unseen_class_and_bad_numbers_raise() -> None:
    train = pd.DataFrame({"v": [1.0, 2.0], "y": ["<=50K", ">50K"]})
    pre = TablePreprocessor(infer_schema(train, target="y")).fit(train)
    with pytest.raises(DatasetError, match=r"never seen.*'>50K\.'"):
        pre.transform(pd.DataFrame({"v": [1.0], "y": [">50K."]}))
    with pytest.raises(DatasetError, match=r"'v'.*non-numbers.*'n/a'"):
        pre.transform(pd.DataFrame({"v": ["n/a"], "y": [">50K"]}))
    with pytest.raises(DatasetError, match=r"lacks the column\(s\) \['v'\]"):
        pre.transform(pd.DataFrame({"w": [1.0]}))


# ---------------------------------------------------------------- splits
def test_split_off_is_stratified_exact_and_seeded() -> None:
    groups = np.array([0] * 760 + [1] * 240)
    taken, rest = split_off(1000, 100, groups=groups, seed=3)
    assert len(taken) == 100 and len(rest) == 900
    assert np.bincount(groups[taken]).tolist() == [76, 24]
    assert np.array_equal(taken, split_off(1000, 100, groups=groups, seed=3)[0])
    assert not np.array_equal(taken, split_off(1000, 100, groups=groups, seed=4)[0])
    assert set(taken).isdisjoint(rest) and len(set(taken) | set(rest)) == 1000


# ------------------------------------------------------ dataset + collate
def test_getitems_matches_per_item_collate() -> None:
    source = TableSource.from_frames(_frame(300), target="label")
    dataset = source.split("train")
    indices = [5, 0, 17, 17, 42]
    batch = dataset.__getitems__(indices)
    items = source.collate([dataset[i] for i in indices])
    assert batch.keys() == items.keys() == {"numerical", "categorical", "label"}
    for key in batch:
        assert torch.equal(batch[key], items[key])
    assert source.collate(batch) is not None and torch.equal(source.collate(batch)["label"], batch["label"])
    assert dataset[0]["label"].dim() == 0 and dataset[0]["numerical"].dim() == 1
    # DataLoader takes the vectorised path and collate passes the batch through
    loader = torch.utils.data.DataLoader(dataset, batch_size=7, shuffle=False, collate_fn=source.collate)
    first = next(iter(loader))
    assert torch.equal(first["categorical"], dataset.tensors["categorical"][:7])
    assert isinstance(source, DataSource) and source.full_batch is False
    assert isinstance(dataset, TableDataset) and len(dataset.subset([1, 2])) == 2


def test_from_frames_splits_and_info() -> None:
    source = TableSource.from_frames(_frame(1000), target="label", test_fraction=0.2, val_fraction=0.25)
    info = source.info
    assert INFO_KEYS <= info.keys()
    assert info["num_rows"] == {"train": 600, "val": 200, "test": 200}
    assert info["num_features"] == info["num_numerical"] + len(info["cardinalities"])
    assert info["cardinalities"] == [4, 4, 3]  # K + 1 each
    json.dumps(info)  # JSON-serialisable
    with pytest.raises(ConfigError, match="Did you mean 'test'"):
        source.split("tset")


# ------------------------------------------------------------ CSV source
def test_csv_table_end_to_end(tmp_path: Path) -> None:
    frame = _frame(400)
    frame.loc[3, "label"] = None  # dropped and reported
    frame.to_csv(tmp_path / "train.csv", index=False)
    _frame(100, seed=5).to_csv(tmp_path / "test.csv.gz", index=False)
    config = CSVTableConfig(root=str(tmp_path), test_file="test.csv.gz", categorical=["x_int_many"], drop=["flag"])
    source = CSVTable(config)
    info = source.info
    assert info["num_rows"] == {"train": 359, "val": 40, "test": 100}
    assert info["categorical_names"] == ["x_int_many", "x_int_few", "colour"]
    assert info["files"]["train_file"]["dropped_missing_target"] == 1
    assert info["skipped_bad_lines"] == 0
    assert info["unseen_categories"]["test"] > 0  # x_int_many has many values unseen in train
    json.dumps(info)


def test_csv_table_without_test_file_and_max_rows(tmp_path: Path) -> None:
    _frame(1000).to_csv(tmp_path / "data.tsv", sep="\t", index=False)
    source = CSVTable(CSVTableConfig(root=str(tmp_path), train_file="data.tsv", max_rows=500, test_fraction=0.2))
    assert source.info["num_rows"] == {"train": 360, "val": 40, "test": 100}


def test_csv_table_root_may_be_the_table_file(tmp_path: Path) -> None:
    """data.root=<file> reads that file, as the molecule loader does; test_file sits beside it."""
    _frame(1000).to_csv(tmp_path / "data.tsv", sep="\t", index=False)
    _frame(100, seed=5).to_csv(tmp_path / "held_out.csv", index=False)
    by_folder = CSVTable(CSVTableConfig(root=str(tmp_path), train_file="data.tsv", test_file="held_out.csv"))
    by_file = CSVTable(CSVTableConfig(root=str(tmp_path / "data.tsv"), test_file="held_out.csv"))
    assert by_file.info["num_rows"] == by_folder.info["num_rows"] == {"train": 900, "val": 100, "test": 100}
    assert by_file.info["files"]["train_file"]["path"] == str(tmp_path / "data.tsv")
    assert by_file.info["files"]["test_file"]["path"] == str(tmp_path / "held_out.csv")
    same_name = CSVTable(CSVTableConfig(root=str(tmp_path / "data.tsv"), train_file="data.tsv"))
    assert same_name.info["files"]["train_file"]["path"] == str(tmp_path / "data.tsv")
    with pytest.raises(ConfigError, match=r"data\.root=.*data\.tsv' is a file, and data\.train_file='other\.csv'.*data\.root="):
        CSVTable(CSVTableConfig(root=str(tmp_path / "data.tsv"), train_file="other.csv"))


def test_csv_table_skips_bad_lines_and_reports(tmp_path: Path) -> None:
    lines = ["a,b,label", "1,x,0", "2,y,1", "3,x", "4,y,1,9", "5,x,0", "6,y,1", "7,x,0", "8,y,1", "9,x,0", "10,y,1"]
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"line 4 has 2 fields, expected 3"):
        CSVTable(CSVTableConfig(root=str(tmp_path), test_fraction=0.2, val_fraction=0.0))
    source = CSVTable(CSVTableConfig(root=str(tmp_path), on_bad_lines="skip", test_fraction=0.2, val_fraction=0.0))
    assert source.info["skipped_bad_lines"] == 2
    assert source.info["files"]["train_file"]["skipped_lines"] == [4, 5]
    assert sum(source.info["num_rows"].values()) == 8
    assert source.splits == ("train", "test")  # empty val split left out
    with pytest.raises(ConfigError, match="val_fraction"):
        source.split("val")


def test_csv_table_errors(tmp_path: Path) -> None:
    _frame(50).to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(DatasetError, match=r"Target column 'y' is missing from .*train\.csv.*data\.target="):
        CSVTable(CSVTableConfig(root=str(tmp_path), target="y"))
    with pytest.raises(DatasetError, match=r"Data root .*nowhere.* not found.*data\.root="):
        CSVTable(CSVTableConfig(root=str(tmp_path / "nowhere")))
    with pytest.raises(DatasetError, match=r"train_file .*trian\.csv.* not found\. Did you mean 'train\.csv'"):
        CSVTable(CSVTableConfig(root=str(tmp_path), train_file="trian.csv"))
    with pytest.raises(DatasetError, match=r"drop names column\(s\) \['nope'\]"):
        CSVTable(CSVTableConfig(root=str(tmp_path), drop=["nope"]))
    with pytest.raises(ConfigError, match="on_bad_lines"):
        CSVTable(CSVTableConfig(root=str(tmp_path), on_bad_lines="warn"))
    with pytest.raises(ConfigError, match="test_fraction"):
        CSVTable(CSVTableConfig(root=str(tmp_path), test_fraction=0.0))


def test_configs_are_omegaconf_structured() -> None:
    omegaconf = pytest.importorskip("omegaconf")
    for cls in (CSVTableConfig, AdultConfig, AdultSampleConfig, SyntheticTrafficConfig):
        conf = omegaconf.OmegaConf.structured(cls)
        merged = omegaconf.OmegaConf.merge(conf, {"root": "/data"})
        obj = omegaconf.OmegaConf.to_object(merged)
        assert isinstance(obj, cls) and obj.root == "/data"
        assert dataclasses.asdict(cls())  # plain defaults
    conf = omegaconf.OmegaConf.structured(CSVTableConfig)
    conf.categorical = ["a", "b"]
    assert omegaconf.OmegaConf.to_object(conf).categorical == ["a", "b"]


# ------------------------------------------------------------------ Adult
def test_adult_missing_root_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"put adult\.data and adult\.test in .* or set data\.root="):
        Adult(AdultConfig(root=str(tmp_path)))
    with pytest.raises(DatasetError, match=r"data\.root"):
        Adult(AdultConfig())


def test_adult_sample_loads_without_root() -> None:
    source = AdultSample()
    info = source.info
    assert INFO_KEYS <= info.keys()
    assert info["num_rows"] == {"train": 3600, "val": 400, "test": 2000}
    assert info["class_names"] == ["<=50K", ">50K"]
    assert info["num_numerical"] == 6 and len(info["cardinalities"]) == 8 and info["num_features"] == 14
    assert 0.2 < source.split("test").tensors["label"].float().mean().item() < 0.28
    json.dumps(info)
    assert AdultSample(AdultSampleConfig(root="/ignored", split_seed=1)).info["num_rows"]["val"] == 400
    clone = pickle.loads(pickle.dumps(source))  # DataLoader workers and the conformance kit pickle sources
    assert torch.equal(clone.split("val").tensors["categorical"], source.split("val").tensors["categorical"])


def test_config_module_import_is_light() -> None:
    code = (
        "import sys, selfsup_tabular.datasets.configs; "
        "print(','.join(m for m in ('pandas', 'torch', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"importing the dataset configs imported {out}"


@pytest.fixture(scope="module")
def adult() -> Adult:
    return Adult(AdultConfig(root=str(ADULT_ROOT)))


@needs_adult
def test_adult_real_data(adult: Adult) -> None:
    info = adult.info
    assert INFO_KEYS <= info.keys()
    rows = info["num_rows"]
    assert rows["train"] + rows["val"] == 32561 and rows["test"] == 16281
    assert rows["val"] == round(0.1 * 32561)
    assert info["class_names"] == ["<=50K", ">50K"]
    assert info["numerical_names"] == [
        "age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"
    ]
    assert len(info["categorical_names"]) == 8
    train_share = adult.split("train").tensors["label"].float().mean().item()
    val_share = adult.split("val").tensors["label"].float().mean().item()
    test_share = adult.split("test").tensors["label"].float().mean().item()
    assert abs(train_share - 0.2408) < 0.002 and abs(val_share - 0.2408) < 0.002  # stratified
    assert abs(test_share - 0.2362) < 0.001  # test labels parsed despite their trailing '.'
    assert info["missing_values"]["train"]["categorical"] + info["missing_values"]["val"]["categorical"] == 4262
    numerical = adult.split("train").tensors["numerical"]
    assert torch.allclose(numerical.mean(0), torch.zeros(6), atol=1e-4)
    json.dumps(info)


@needs_adult
def test_adult_reads_original_headerless_layout(tmp_path: Path, adult: Adult) -> None:
    for name, prefix in (("adult.data", ""), ("adult.test", "|1x3 Cross validator\n")):
        lines = (ADULT_ROOT / name).read_text().splitlines(keepends=True)
        (tmp_path / name).write_text(prefix + "".join(lines[1:]) + "\n")  # no header, trailing blank line
    original = Adult(AdultConfig(root=str(tmp_path)))
    assert original.info["files"]["test_file"]["layout"] == "uci-test"
    assert original.info["files"]["train_file"]["layout"] == "uci"
    for split in ("train", "val", "test"):
        for key, tensor in adult.split(split).tensors.items():
            assert torch.equal(tensor, original.split(split).tensors[key]), (split, key)


@needs_adult
def test_adult_max_train_rows() -> None:
    source = Adult(AdultConfig(root=str(DATA), max_train_rows=2000))  # root may also be the parent folder
    assert source.info["num_rows"] == {"train": 1800, "val": 200, "test": 16281}


# ------------------------------------------------------ synthetic traffic
def test_synthetic_traffic_train_is_benign_only() -> None:
    source = SyntheticTraffic(SyntheticTrafficConfig(num_benign=2000, num_attack=600, seed=1))
    info = source.info
    assert info["benign_label"] == 0 and info["class_names"] == ["benign", "attack"] and info["num_classes"] == 2
    assert info["task"] == "classification" and info["num_numerical"] == 20 and info["cardinalities"] == []
    train = source.split("train").tensors
    assert int(train["label"].sum()) == 0 and int(train["attack_type"].sum()) == 0
    for split in ("val", "test"):
        labels = source.split(split).tensors["label"]
        assert 0 < int(labels.sum()) < len(labels)
        assert torch.equal(labels, (source.split(split).tensors["attack_type"] > 0).long())
    assert info["num_attack_rows"]["val"] + info["num_attack_rows"]["test"] == 600
    assert sum(info["num_rows"].values()) == 2600
    # Z-normalised with the benign training statistics
    assert torch.allclose(train["numerical"].mean(0), torch.zeros(20), atol=1e-4)
    assert torch.allclose(train["numerical"].std(0), torch.ones(20), atol=1e-3)
    again = SyntheticTraffic(SyntheticTrafficConfig(num_benign=2000, num_attack=600, seed=1))
    assert torch.equal(again.split("test").tensors["numerical"], source.split("test").tensors["numerical"])
    json.dumps(info)
    with pytest.raises(ConfigError, match="leaves no"):
        SyntheticTraffic(SyntheticTrafficConfig(val_fraction=0.5, test_fraction=0.5))

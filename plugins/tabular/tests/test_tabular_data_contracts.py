"""The tabular datasets pass selfsup's dataset conformance kit (built through the registry)."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import pytest

from selfsup.testing import DatasetContract

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("SELFSUP_DATA", REPO.parent / "shared" / "data"))
SAMPLE_DIR = str(resources.files("selfsup_tabular.datasets").joinpath("data"))


class TestAdultSampleContract(DatasetContract):
    modality = "tabular"
    dataset = "adult-sample"


class TestSyntheticTrafficContract(DatasetContract):
    modality = "tabular"
    dataset = "synthetic-traffic"
    dataset_config = {"num_benign": 600, "num_attack": 150}


class TestCSVContract(DatasetContract):
    modality = "tabular"
    dataset = "csv"
    # the bundled Adult sample read as a generic CSV
    dataset_config = {"root": SAMPLE_DIR, "train_file": "adult_sample_train.csv.gz", "target": "income"}


@pytest.mark.skipif(not (DATA / "adult" / "adult.data").is_file(), reason="UCI Adult not found (set SELFSUP_DATA)")
class TestAdultContract(DatasetContract):
    modality = "tabular"
    dataset = "adult"
    dataset_config = {"root": str(DATA / "adult"), "max_train_rows": 2000}

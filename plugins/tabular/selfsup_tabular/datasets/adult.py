"""UCI Adult (census income), from disk or from the small sample shipped in the package.

Source: Becker, B. & Kohavi, R. (1996). Adult. UCI Machine Learning Repository,
https://archive.ics.uci.edu/dataset/2/adult, CC BY 4.0.

Both UCI layouts are read: the original header-less files (``adult.test``
starting with a ``|1x3 Cross validator`` line) and copies with a header row
(whatever its names; the 15 columns of ``adult.names`` are used). Fields are
``", "``-separated, ``?`` means missing, and the trailing ``.`` of the test
labels (``>50K.``) is removed. The target is ``income`` with classes
``["<=50K", ">50K"]`` (label 1 = ``>50K``); ``fnlwgt`` is kept as a
numerical feature: 6 numerical and 8 categorical features.
"""

from __future__ import annotations

import gzip
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from selfsup.errors import ConfigError, DatasetError

from .configs import AdultConfig, AdultSampleConfig
from .csv_table import subsample
from .readers import read_table
from .schema import TableSchema
from .splits import check_fraction, split_frame
from .table import TableSource

__all__ = [
    "ADULT_CATEGORICAL",
    "ADULT_CLASSES",
    "ADULT_COLUMNS",
    "ADULT_NUMERICAL",
    "ADULT_TARGET",
    "Adult",
    "AdultConfig",
    "AdultSample",
    "AdultSampleConfig",
    "adult_schema",
    "read_adult_file",
    "SAMPLE_FILES",
]

#: The 15 columns of ``adult.names``, in file order.
ADULT_COLUMNS: list[str] = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
]
ADULT_TARGET = "income"
ADULT_CLASSES: list[str] = ["<=50K", ">50K"]
ADULT_NUMERICAL: list[str] = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
ADULT_CATEGORICAL: list[str] = [
    "workclass",
    "education",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native-country",
]
#: Package-data files of :class:`AdultSample` (in ``selfsup_tabular/datasets/data/``).
SAMPLE_FILES = {"train": "adult_sample_train.csv.gz", "test": "adult_sample_test.csv.gz"}
_UCI_URL = "https://archive.ics.uci.edu/dataset/2/adult"


def adult_schema() -> TableSchema:
    """The fixed Adult schema (6 numerical, 8 categorical features, binary ``income``)."""
    return TableSchema(
        target=ADULT_TARGET,
        task="classification",
        numerical=list(ADULT_NUMERICAL),
        categorical=list(ADULT_CATEGORICAL),
        classes=list(ADULT_CLASSES),
    )


def read_adult_file(path: str | Path) -> tuple[pd.DataFrame, str]:
    """Read one Adult file in either UCI layout; returns ``(frame, layout)``.

    ``layout`` is ``"uci"`` (no header), ``"uci-test"`` (no header, leading
    ``|1x3 Cross validator`` line) or ``"header"`` (a header row, names replaced
    by :data:`ADULT_COLUMNS`). Labels lose their trailing ``.``.
    """
    path = Path(path)
    first = _first_line(path)
    if first.startswith("|"):
        layout, header, skiprows = "uci-test", None, 1
    elif first.split(",", 1)[0].strip().lstrip("-").replace(".", "", 1).isdigit():
        layout, header, skiprows = "uci", None, 0
    else:
        layout, header, skiprows = "header", 0, 0
    frame = read_table(path, sep=",", header=header, names=ADULT_COLUMNS, skiprows=skiprows, na_values=("?",))
    income = frame[ADULT_TARGET].astype("string").str.strip().str.rstrip(".")
    unknown = sorted(set(income.dropna().unique()) - set(ADULT_CLASSES))
    if unknown:
        raise DatasetError(
            f"{str(path)!r} has income labels {unknown[:5]} besides {ADULT_CLASSES}. Is it an Adult file? "
            f"Re-download adult.data and adult.test from {_UCI_URL}."
        )
    frame[ADULT_TARGET] = income.astype(object)
    frame = frame[frame[ADULT_TARGET].notna()].reset_index(drop=True)
    return frame, layout


def _first_line(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:  # type: ignore[operator]
            for line in handle:
                if line.strip():
                    return line.strip()
    except OSError as exc:
        raise DatasetError(f"Cannot read {str(path)!r}: {exc}. Re-download it from {_UCI_URL}.") from exc
    raise DatasetError(f"{str(path)!r} is empty. Re-download adult.data and adult.test from {_UCI_URL}.")


class _AdultBase(TableSource):
    """Shared split logic: train file -> (optional subset) -> stratified val split; test file = test."""

    input_reader = "adult"

    def _build(
        self,
        train: pd.DataFrame,
        test: pd.DataFrame,
        *,
        val_fraction: float,
        split_seed: int,
        max_train_rows: int | None,
        extra_info: dict[str, Any],
    ) -> None:
        check_fraction("val_fraction", val_fraction)
        schema = adult_schema()
        if max_train_rows is not None:
            if max_train_rows < 1:
                raise ConfigError(f"data.max_train_rows={max_train_rows} must be at least 1 (or null for all rows).")
            if len(train) > max_train_rows:
                train = subsample(train, max_train_rows, schema, seed=split_seed)
        train, val = split_frame(train, val_fraction, stratify=ADULT_TARGET, seed=[split_seed, 2])
        self.build_splits({"train": train, "val": val, "test": test}, schema, extra_info=extra_info)


class Adult(_AdultBase):
    """UCI Adult from ``config.root``: ``adult.data`` -> train + val, ``adult.test`` -> test.

    The validation split is a seeded stratified ``val_fraction`` of
    ``adult.data``; ``adult.test`` is the official test split (16,281 rows).
    """

    def __init__(self, config: AdultConfig) -> None:
        super().__init__()
        self.config = config
        root = _find_root(config.root)
        train, train_layout = read_adult_file(root / "adult.data")
        test, test_layout = read_adult_file(root / "adult.test")
        self._build(
            train,
            test,
            val_fraction=config.val_fraction,
            split_seed=config.split_seed,
            max_train_rows=config.max_train_rows,
            extra_info={
                "files": {
                    "train_file": {"path": str(root / "adult.data"), "rows": len(train), "layout": train_layout},
                    "test_file": {"path": str(root / "adult.test"), "rows": len(test), "layout": test_layout},
                },
            },
        )


def _find_root(root: str | None) -> Path:
    needed = ("adult.data", "adult.test")
    if root is None:
        raise DatasetError(
            "Adult data not found: no data.root was given. Put adult.data and adult.test in a folder "
            f"(from the UCI Adult dataset, {_UCI_URL}) and set data.root=<that folder>, "
            "or use the bundled AdultSample dataset, which needs no download."
        )
    base = Path(root).expanduser()
    for candidate in (base, base / "adult"):
        if all((candidate / name).is_file() for name in needed):
            return candidate
    missing = [name for name in needed if not (base / name).is_file()]
    raise DatasetError(
        f"Adult data not found ({', '.join(missing)} missing from {str(base)!r}): put adult.data and adult.test "
        f"in {str(base)!r} (from the UCI Adult dataset, {_UCI_URL}) or set data.root= to the folder holding them."
    )


class AdultSample(_AdultBase):
    """A stratified random subset of UCI Adult shipped with the package (no download needed).

    4,000 rows of ``adult.data`` (train + val) and 2,000 rows of ``adult.test``
    (test); see ``selfsup_tabular/datasets/data/README.md`` for how they were drawn.
    ``config.root`` is ignored.
    """

    def __init__(self, config: AdultSampleConfig | None = None) -> None:
        super().__init__()
        config = config if config is not None else AdultSampleConfig()
        self.config = config
        frames = {}
        package = resources.files(__package__).joinpath("data")
        for split, name in SAMPLE_FILES.items():
            ref = package.joinpath(name)
            if not ref.is_file():
                raise DatasetError(
                    f"The bundled Adult sample file {name!r} is missing from the installed selfsup-tabular. "
                    "Reinstall it: pip install --force-reinstall selfsup-tabular."
                )
            with resources.as_file(ref) as path:
                frames[split], _ = read_adult_file(path)
        self._build(
            frames["train"],
            frames["test"],
            val_fraction=config.val_fraction,
            split_seed=config.split_seed,
            max_train_rows=None,
            extra_info={"files": {f"{k}_file": {"path": f"<package>/data/{v}"} for k, v in SAMPLE_FILES.items()}},
        )

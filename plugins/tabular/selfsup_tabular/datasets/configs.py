"""Config dataclasses of the tabular datasets.

This module imports nothing but the standard library, so that the plugin can
register its datasets (``DatasetSpec(config_cls=...)``) without importing
pandas or torch. The fields are OmegaConf structured-config compatible: plain
types, ``Optional[...]`` and ``list[str]`` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

__all__ = [
    "AdultConfig",
    "AdultSampleConfig",
    "CSVTableConfig",
    "SyntheticTrafficConfig",
]


@dataclass
class CSVTableConfig:
    """A generic CSV/TSV/Parquet table with one target column.

    Files are read from ``root`` (or from the working directory when ``root`` is
    ``None``; absolute file paths ignore ``root``). Without ``test_file``, a
    seeded (stratified, for classification) ``test_fraction`` of ``train_file``
    becomes the test split. ``val_fraction`` is the share of the remaining
    training rows held out for validation.
    """

    #: Folder holding the files, or the training table itself (then ``test_file`` is looked
    #: up beside it); ``None`` means paths are used as given.
    root: Optional[str] = None
    #: Training table (``.csv``, ``.csv.gz``, ``.tsv``, ``.tsv.gz``, ``.parquet``).
    train_file: str = "train.csv"
    #: Official test table; ``None`` splits ``test_fraction`` off the train file.
    test_file: Optional[str] = None
    #: Name of the target column.
    target: str = "label"
    #: Columns forced to be categorical (others are inferred, see ``infer_schema``).
    categorical: Optional[list[str]] = None
    #: Columns forced to be numerical (others are inferred).
    numerical: Optional[list[str]] = None
    #: Columns ignored entirely (IDs, timestamps, leaks).
    drop: list[str] = field(default_factory=list)
    #: ``"auto"``, ``"classification"`` or ``"regression"``.
    task: str = "auto"
    #: Share of the training rows (after any test split) used for validation.
    val_fraction: float = 0.1
    #: Share of ``train_file`` used as the test split when ``test_file`` is ``None``.
    test_fraction: float = 0.2
    #: Seed of every split and subsample.
    split_seed: int = 0
    #: k-fold cross-validation (selfsup.folds): ``None`` uses ``test_fraction``; ``K >= 2``
    #: makes fold ``fold`` of a seeded ``K``-fold split of ``train_file`` (stratified by the
    #: target for classification) the test split, and ``val_fraction`` of the rest validation.
    folds: Optional[int] = None
    #: The test fold (``0 <= fold < folds``) when ``folds`` is set.
    fold: int = 0
    #: ``"error"`` (default) or ``"skip"`` rows with the wrong number of fields.
    on_bad_lines: str = "error"
    #: Keep a seeded (stratified) random subset of at most this many rows of
    #: ``train_file``, taken before any split; ``None`` keeps every row.
    max_rows: Optional[int] = None
    #: Field separator; ``None`` picks it from the extension (``,`` or tab).
    sep: Optional[str] = None


@dataclass
class AdultConfig:
    """UCI Adult from ``root/adult.data`` (train) and ``root/adult.test`` (official test)."""

    #: Folder holding ``adult.data`` and ``adult.test``.
    root: Optional[str] = None
    #: Seeded stratified share of ``adult.data`` held out for validation.
    val_fraction: float = 0.1
    #: Seed of the validation split (and of ``max_train_rows``).
    split_seed: int = 0
    #: Keep a seeded stratified subset of at most this many rows of ``adult.data``.
    max_train_rows: Optional[int] = None


@dataclass
class AdultSampleConfig:
    """The small UCI Adult subset shipped inside the package (no download needed)."""

    #: Ignored: the sample ships with the package. Present so that ``data.root=``
    #: overrides shared by every dataset do not fail.
    root: Optional[str] = None
    #: Seeded stratified share of the sample's train rows held out for validation.
    val_fraction: float = 0.1
    #: Seed of the validation split.
    split_seed: int = 0


@dataclass
class SyntheticTrafficConfig:
    """Synthetic network-traffic-like anomaly data (benign mixture vs attack clusters).

    Benign flows are a mixture of ``num_clusters`` Gaussians in
    ``R^num_features`` with correlated features, mapped to heterogeneous raw
    scales. Attacks are ``num_attack_types`` kinds of shifted or rescaled
    copies of benign clusters. The train split holds benign flows only.
    """

    #: Benign rows over all splits.
    num_benign: int = 6000
    #: Attack rows, shared by the validation and test splits.
    num_attack: int = 1500
    #: Feature dimension.
    num_features: int = 20
    #: Gaussian components of the benign distribution.
    num_clusters: int = 4
    #: Attack kinds, cycling through "shift", "scale" and "sparse-shift".
    num_attack_types: int = 3
    #: Attack displacement: "shift" attacks move ``attack_shift / 2`` cluster spreads per
    #: feature (RMS), "sparse-shift" attacks ``2 * attack_shift`` spreads in 3 features.
    attack_shift: float = 2.0
    #: Standard-deviation multiplier of the "scale" attacks.
    attack_scale: float = 2.5
    #: Share of benign rows in the validation split.
    val_fraction: float = 0.1
    #: Share of benign rows in the test split.
    test_fraction: float = 0.25
    #: Seed of the generator and of the splits.
    seed: int = 0
    #: Ignored (the data is generated); accepted for uniform ``data.root=`` overrides.
    root: Optional[str] = None

"""A generic CSV/TSV/Parquet table with one target column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from selfsup.errors import ConfigError, DatasetError, did_you_mean

from .configs import CSVTableConfig
from .readers import SKIPPED_LINES_ATTR, read_table
from .schema import TASKS, TableSchema, infer_schema
from .splits import check_fraction, split_off, stratify_codes
from .table import TableSource, make_splits

__all__ = ["CSVTable", "CSVTableConfig", "resolve_file", "subsample", "table_root"]


class CSVTable(TableSource):
    """Reads ``config.train_file`` (and ``config.test_file``) and builds train/val/test splits.

    See :class:`CSVTableConfig` for the options. ``info`` has the
    :class:`TableSource` keys plus ``skipped_bad_lines`` (total rows skipped with
    ``on_bad_lines="skip"``) and ``files`` (per file: path, rows read, skipped
    line numbers (the first 100) and rows dropped for a missing target).
    """

    def __init__(self, config: CSVTableConfig) -> None:
        super().__init__()
        self.config = config
        _check_config(config)
        root, train_file = table_root(config)
        train_path = resolve_file(root, train_file, "train_file")
        train, train_report = _load(train_path, config)
        schema = infer_schema(
            train,
            target=config.target,
            categorical=config.categorical,
            numerical=config.numerical,
            task=config.task,
            source=f"{train_path.name!r}",
        )
        if config.max_rows is not None and len(train) > config.max_rows:
            train = subsample(train, config.max_rows, schema, seed=config.split_seed)
        frames: dict[str, pd.DataFrame] = {"train": train}
        files: dict[str, Any] = {"train_file": train_report}
        cv: dict[str, Any] = {}
        if config.folds is not None:
            frames, cv = _fold_frames(train, schema, config)
        elif config.test_file is not None:
            test_path = resolve_file(root, config.test_file, "test_file")
            test, files["test_file"] = _load(test_path, config)
            frames["test"] = test
        frames = make_splits(
            frames, schema, val_fraction=config.val_fraction, test_fraction=config.test_fraction,
            seed=config.split_seed,
        )
        self.build_splits(
            frames,
            schema,
            extra_info={
                "skipped_bad_lines": sum(len(f["skipped_lines"]) for f in files.values()),
                "files": {k: {**v, "skipped_lines": v["skipped_lines"][:100]} for k, v in files.items()},
                **({"cv": cv} if cv else {}),
            },
        )


def _fold_frames(train: pd.DataFrame, schema: TableSchema, config: CSVTableConfig) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """``{"train", "test"}`` frames of fold ``config.fold`` of ``config.folds`` (selfsup.folds)."""
    import torch

    from selfsup.folds import check_fold, fold_info, kfold_split

    if config.test_file is not None:
        raise ConfigError("data.folds splits train_file into folds, and data.test_file is set too. Remove data.test_file.")
    train = train.dropna(subset=[schema.target]).reset_index(drop=True)
    check_fold(config.folds, config.fold, dataset="csv", rows=len(train))
    stratified = schema.task == "classification"
    codes = stratify_codes(train[schema.target]) if stratified else None
    strata = torch.from_numpy(codes) if codes is not None else None
    rest, test = kfold_split(len(train), int(config.folds), int(config.fold), seed=config.split_seed, strata=strata)
    frames = {"train": train.iloc[rest].reset_index(drop=True), "test": train.iloc[test].reset_index(drop=True)}
    return frames, fold_info(int(config.folds), int(config.fold), config.split_seed, stratified=stratified)


def _check_config(config: CSVTableConfig) -> None:
    if config.task not in ("auto", *TASKS):
        raise ConfigError(f"data.task={config.task!r} is not supported. Use 'auto', 'classification' or 'regression'.")
    if config.on_bad_lines not in ("error", "skip"):
        raise ConfigError(f"data.on_bad_lines={config.on_bad_lines!r} is not supported. Use 'error' or 'skip'.")
    check_fraction("val_fraction", config.val_fraction)
    check_fraction("test_fraction", config.test_fraction, allow_zero=False)
    if config.max_rows is not None and config.max_rows < 1:
        raise ConfigError(f"data.max_rows={config.max_rows} must be at least 1 (or null for every row).")


def table_root(config: CSVTableConfig) -> tuple[str | None, str]:
    """``(folder, train file)``: ``data.root`` names the folder, or the train table itself
    (then ``test_file`` is looked up beside it)."""
    if config.root is None:
        return None, config.train_file
    base = Path(config.root).expanduser()
    if not base.is_file():
        return config.root, config.train_file
    default = CSVTableConfig.__dataclass_fields__["train_file"].default
    if config.train_file not in (default, base.name):
        raise ConfigError(
            f"data.root={config.root!r} is a file, and data.train_file={config.train_file!r} names another. "
            f"Give the folder instead: data.root={str(base.parent)!r}."
        )
    return str(base.parent), base.name


def resolve_file(root: str | None, name: str, option: str) -> Path:
    """``root/name`` (or ``name`` when ``root`` is ``None`` or ``name`` is absolute), checked to exist."""
    if root is not None:
        base = Path(root).expanduser()
        if not base.is_dir():
            raise DatasetError(
                f"Data root {str(base)!r} not found: create it and put {name!r} there, "
                "or set data.root= to the folder holding your files."
            )
        path = base / name
    else:
        path = Path(name).expanduser()
    if not path.is_file():
        folder = path.parent if path.parent.is_dir() else None
        hint = ""
        if folder is not None:
            present = sorted(p.name for p in folder.iterdir() if p.is_file())
            hint = did_you_mean(path.name, present)
        raise DatasetError(
            f"{option} {str(path)!r} not found.{hint} Put the file there, or set data.{option}= "
            "(and data.root=) to where it is."
        )
    return path


def _load(path: Path, config: CSVTableConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
    frame = read_table(path, sep=config.sep, on_bad_lines=config.on_bad_lines)
    skipped = list(frame.attrs.get(SKIPPED_LINES_ATTR, []))
    columns = [str(c) for c in frame.columns]
    if config.drop:
        absent = [c for c in config.drop if c not in columns]
        if absent:
            raise DatasetError(
                f"data.drop names column(s) {absent} that {path.name!r} does not have."
                f"{did_you_mean(absent[0], columns)} Fix or remove those names."
            )
        frame = frame.drop(columns=list(config.drop))
    if config.target not in frame.columns:
        raise DatasetError(
            f"Target column {config.target!r} is missing from {str(path)!r} (columns: {', '.join(columns[:12])}"
            f"{', ...' if len(columns) > 12 else ''}).{did_you_mean(config.target, columns)} "
            "Set data.target= to the label column."
        )
    has_target = frame[config.target].notna()
    dropped = int((~has_target).sum())
    if dropped == len(frame):
        raise DatasetError(
            f"Every row of {str(path)!r} lacks the target {config.target!r}. Set data.target= to the label column."
        )
    if dropped:
        frame = frame[has_target.to_numpy()].reset_index(drop=True)
    report = {"path": str(path), "rows": len(frame), "skipped_lines": skipped, "dropped_missing_target": dropped}
    return frame, report


def subsample(frame: pd.DataFrame, rows: int, schema: TableSchema, *, seed: int) -> pd.DataFrame:
    """A seeded random subset of ``rows`` rows (stratified by the target for classification)."""
    groups = stratify_codes(frame[schema.target]) if schema.task == "classification" else None
    taken, _ = split_off(len(frame), rows, groups=groups, seed=[seed, 0])
    return frame.iloc[taken].reset_index(drop=True)

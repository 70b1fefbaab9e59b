"""Tensor-backed table splits and the :class:`TableSource` base of every tabular dataset.

A split is a :class:`TableDataset` holding whole-split tensors; DataLoaders
use its vectorised ``__getitems__`` (one tensor gather per key and batch), so
:meth:`TableSource.collate` passes collated batches through unchanged.

``TableSource.info`` (saved with the run as ``data_info.json``) has the keys:

=============================  =====================================================
``task``                       ``"classification"`` or ``"regression"``
``target``                     target column name
``num_classes``                number of classes (classification only)
``class_names``                class names in label-index order (classification only)
``target_mean``/``target_std`` train target statistics (regression only; labels stay raw)
``num_numerical``              numerical feature count
``numerical_names``            their names (``batch["numerical"]`` column order)
``num_categorical``            categorical feature count
``categorical_names``          their names (``batch["categorical"]`` column order)
``cardinalities``              per categorical column, ``K + 1`` (index 0 = missing/unseen)
``num_features``               ``num_numerical + num_categorical``
``preprocessing``              ``TablePreprocessor.to_dict()``
``num_rows``                   ``{"train": n, "val": n, "test": n}``
``unseen_categories``          ``{"train": 0, "val": n, "test": n}``: cells mapped to 0 as unseen
``unseen_categories_by_column`` ``{split: {column: n}}`` (non-zero counts only)
``missing_values``             ``{split: {"numerical": n, "categorical": n}}``
=============================  =====================================================

Subclasses may add keys (``files``, ``skipped_bad_lines``, ``benign_label``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch

from selfsup.errors import ConfigError, DatasetError, did_you_mean
from selfsup.interfaces import Batch, DataSource, identity_collate
from selfsup.tasks import declare_task

from .preprocessor import TablePreprocessor
from .schema import TableSchema, infer_schema
from .splits import check_fraction, split_frame

__all__ = ["TableDataset", "TableSource", "SPLITS", "make_splits"]

#: Split names in their canonical order.
SPLITS = ("train", "val", "test")


class TableDataset(torch.utils.data.Dataset):
    """One split as a dict of tensors sharing their first dimension.

    ``dataset[i]`` is ``{"numerical": float32 [n_num], "categorical": int64 [n_cat],
    "label": 0-d}``; ``dataset.__getitems__(indices)`` returns the whole batch
    (``[B, ...]`` per key) by tensor indexing.
    """

    def __init__(self, tensors: Mapping[str, torch.Tensor]) -> None:
        if not tensors:
            raise ValueError("TableDataset needs at least one tensor")
        sizes = {key: int(t.shape[0]) for key, t in tensors.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"TableDataset tensors disagree on the number of rows: {sizes}")
        self.tensors: dict[str, torch.Tensor] = dict(tensors)
        self._rows = next(iter(sizes.values()))

    def __len__(self) -> int:
        return self._rows

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {key: t[index] for key, t in self.tensors.items()}

    def __getitems__(self, indices: Sequence[int] | torch.Tensor) -> dict[str, torch.Tensor]:
        """The batch of rows ``indices``, collated (``[len(indices), ...]`` per key)."""
        index = torch.as_tensor(indices, dtype=torch.long)
        return {key: t.index_select(0, index) for key, t in self.tensors.items()}

    def subset(self, indices: Sequence[int] | torch.Tensor) -> TableDataset:
        """A new dataset holding only rows ``indices``."""
        return TableDataset(self.__getitems__(indices))

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}={tuple(t.shape)}" for k, t in self.tensors.items())
        return f"TableDataset({shapes})"


class TableSource(DataSource):
    """Base of the tabular data sources: splits as :class:`TableDataset`, ``info`` as above.

    Subclasses read their tables, then call :meth:`build_splits` with a frame
    per split and a schema; the preprocessing is fitted on the train frame.
    """

    splits: tuple[str, ...] = SPLITS
    full_batch = False

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.schema: TableSchema | None = None
        self.preprocessor: TablePreprocessor | None = None
        self._datasets: dict[str, TableDataset] = {}

    # ----------------------------------------------------------------- build
    def build_splits(
        self,
        frames: Mapping[str, pd.DataFrame],
        schema: TableSchema,
        *,
        extra_info: Mapping[str, Any] | None = None,
        extra_tensors: Mapping[str, Mapping[str, torch.Tensor]] | None = None,
    ) -> None:
        """Fit the preprocessing on ``frames["train"]``, encode every split and fill ``info``.

        Splits missing from ``frames`` or with zero rows are left out of
        ``self.splits``. ``extra_tensors[split]`` adds per-row tensors to a
        split's items; ``extra_info`` adds (or overrides) ``info`` keys.
        """
        unknown = [name for name in frames if name not in SPLITS]
        if unknown:
            raise ValueError(f"Unknown split names {unknown}; use {SPLITS}")
        if "train" not in frames or len(frames["train"]) == 0:
            raise DatasetError(
                "The train split has no rows. Check the train file and the row filters (max_rows, drop)."
            )
        preprocessor = TablePreprocessor(schema).fit(frames["train"], source="the train split")
        datasets: dict[str, TableDataset] = {}
        unseen: dict[str, int] = {}
        unseen_by_column: dict[str, dict[str, int]] = {}
        missing: dict[str, dict[str, int]] = {}
        for name in SPLITS:
            frame = frames.get(name)
            if frame is None or len(frame) == 0:
                continue
            tensors, report = preprocessor.transform_with_report(frame, source=f"the {name} split")
            if extra_tensors and name in extra_tensors:
                tensors.update(extra_tensors[name])
            datasets[name] = TableDataset(tensors)
            unseen[name] = report.unseen_categories
            unseen_by_column[name] = dict(report.unseen_by_column)
            missing[name] = {"numerical": report.missing_numerical, "categorical": report.missing_categorical}
        self.schema = schema
        self.preprocessor = preprocessor
        self._datasets = datasets
        self.splits = tuple(datasets)
        info: dict[str, Any] = {"task": schema.task, "target": schema.target}
        if schema.task == "classification":
            assert preprocessor.class_names is not None
            info["num_classes"] = len(preprocessor.class_names)
            info["class_names"] = list(preprocessor.class_names)
        else:
            info["target_mean"] = preprocessor.target_mean
            info["target_std"] = preprocessor.target_std
        info.update(
            {
                "num_numerical": len(schema.numerical),
                "numerical_names": list(schema.numerical),
                "num_categorical": len(schema.categorical),
                "categorical_names": list(schema.categorical),
                "cardinalities": preprocessor.cardinalities,
                "num_features": len(schema.numerical) + len(schema.categorical),
                "preprocessing": preprocessor.to_dict(),
                "num_rows": {name: len(datasets[name]) if name in datasets else 0 for name in SPLITS},
                "unseen_categories": unseen,
                "unseen_categories_by_column": unseen_by_column,
                "missing_values": missing,
            }
        )
        if extra_info:
            info.update(extra_info)
        if schema.task == "classification":
            declare_task(info, "multiclass", num_classes=info["num_classes"])
        else:
            declare_task(info, "regression", num_targets=1)
        self.info = info

    @staticmethod
    def from_frames(
        train: pd.DataFrame,
        *,
        target: str,
        val: pd.DataFrame | None = None,
        test: pd.DataFrame | None = None,
        categorical: Sequence[str] | None = None,
        numerical: Sequence[str] | None = None,
        drop: Sequence[str] = (),
        task: str = "auto",
        val_fraction: float = 0.1,
        test_fraction: float = 0.2,
        split_seed: int = 0,
    ) -> TableSource:
        """A source from in-memory frames.

        Without ``test``, a seeded ``test_fraction`` of ``train`` becomes the
        test split; without ``val``, a ``val_fraction`` of the remaining train
        rows becomes the validation split (both stratified for classification).
        Rows with a missing target are dropped.
        """
        source = TableSource()
        train = train.drop(columns=list(drop)) if drop else train
        schema = infer_schema(
            train, target=target, categorical=categorical, numerical=numerical, task=task, source="the train frame"
        )
        frames: dict[str, pd.DataFrame] = {"train": train}
        if val is not None:
            frames["val"] = val
        if test is not None:
            frames["test"] = test
        frames = {k: v.dropna(subset=[target]) if target in v.columns else v for k, v in frames.items()}
        frames = make_splits(
            frames, schema, val_fraction=val_fraction, test_fraction=test_fraction, seed=split_seed
        )
        source.build_splits(frames, schema)
        return source

    #: How :class:`.inputs.TableInputs` reads new files: ``"table"`` (CSV/TSV/Parquet with a
    #: header) or ``"adult"`` (the UCI Adult layouts, with or without a header row).
    input_reader: str = "table"

    def preprocessing_state(self) -> dict[str, Any]:
        """``{"table": TablePreprocessor.to_dict(), "reader": ..., "sep": ...}`` for ``selfsup embed``."""
        if self.preprocessor is None:
            return {}
        return {
            "table": self.preprocessor.to_dict(),
            "reader": self.input_reader,
            "sep": getattr(getattr(self, "config", None), "sep", None),
        }

    def raw_feature_encoder(self) -> torch.nn.Module:
        """The raw-feature baseline (:class:`selfsup.tasks.RawFeatureSource`): numerical + one-hot categorical columns."""
        from ..evaluation.raw_baseline import RawFeatures

        return RawFeatures(self.info)

    # ---------------------------------------------------------------- access
    def split(self, name: str) -> TableDataset:
        """The :class:`TableDataset` of split ``name``."""
        try:
            return self._datasets[name]
        except KeyError:
            if name in SPLITS and self._datasets:
                raise ConfigError(
                    f"This {type(self).__name__} has no {name!r} split (it has: {', '.join(self.splits)}); "
                    f"it is empty with the current settings. Raise {name}_fraction above 0, or use another split."
                ) from None
            raise ConfigError(
                f"Unknown split {name!r}; this {type(self).__name__} has: {', '.join(self.splits) or 'none'}."
                f"{did_you_mean(name, self.splits)}"
            ) from None

    def collate(self, items: Sequence[Batch] | Batch) -> Batch:
        """Pass a ``__getitems__`` batch through; stack a list of single items per key."""
        if isinstance(items, Mapping):
            return identity_collate(dict(items))
        items = list(items)
        if not items:
            raise ValueError("collate() got an empty list of items")
        return {key: torch.stack([item[key] for item in items]) for key in items[0]}

    def __repr__(self) -> str:
        rows = ", ".join(f"{k}={len(v)}" for k, v in self._datasets.items())
        return f"{type(self).__name__}({rows})"


def make_splits(
    frames: Mapping[str, pd.DataFrame],
    schema: TableSchema,
    *,
    val_fraction: float,
    test_fraction: float,
    seed: int,
) -> dict[str, pd.DataFrame]:
    """Complete ``{"train": ..., ["val"], ["test"]}`` into train/val/test frames.

    A missing ``"test"`` takes ``test_fraction`` of the train rows, then a
    missing ``"val"`` takes ``val_fraction`` of the remaining train rows; both
    seeded, and stratified by the target for classification.
    """
    check_fraction("val_fraction", val_fraction)
    check_fraction("test_fraction", test_fraction, allow_zero=False)
    out = dict(frames)
    stratify = schema.target if schema.task == "classification" else None
    if "test" not in out:
        out["train"], out["test"] = split_frame(out["train"], test_fraction, stratify=stratify, seed=[seed, 1])
    if "val" not in out:
        out["train"], out["val"] = split_frame(out["train"], val_fraction, stratify=stratify, seed=[seed, 2])
    return out

"""The fitted preprocessing of a table (pandas/numpy; :func:`.schema.infer_schema` decides the columns).

**Preprocessing** (:class:`TablePreprocessor`, fitted on the train split only):

* numerical: non-finite values count as missing; missing values are replaced
  by the train mean, then every column is standardised with the train mean
  and standard deviation (population std; a std of 0 becomes 1);
* categorical: the train categories, sorted (numerically for numeric
  columns), map to ``1..K``; index ``0`` is reserved for missing values *and*
  for categories never seen in train (counted in :class:`TransformReport`);
  values are compared as strings, integral numbers written without ``.0``;
* target: classification labels map to class indices in ``classes`` order
  (sorted class names unless given); regression targets stay raw floats (their
  train mean and std are recorded).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from selfsup.errors import ConfigError, DatasetError, did_you_mean

from .columns import factorize_categories, is_numeric, numeric_values, preview, sorted_labels
from .schema import TableSchema

__all__ = ["TablePreprocessor", "TransformReport"]

_FORMAT = "selfsup-tabular/preprocessor-v1"


@dataclass
class TransformReport:
    """What :meth:`TablePreprocessor.transform_with_report` met in one table."""

    #: Rows transformed.
    rows: int = 0
    #: Categorical cells holding a category never seen in train (mapped to 0).
    unseen_categories: int = 0
    #: The same, per column (columns with none left out).
    unseen_by_column: dict[str, int] = field(default_factory=dict)
    #: Missing categorical cells (mapped to 0).
    missing_categorical: int = 0
    #: Missing (or non-finite) numerical cells (imputed with the train mean).
    missing_numerical: int = 0


class TablePreprocessor:
    """Fitted column preprocessing; see the module docstring for what it does.

    Use ``TablePreprocessor(schema).fit(train_frame)`` then
    :meth:`transform` on every split. :meth:`to_dict`/:meth:`from_dict`
    round-trip it through JSON.
    """

    def __init__(self, schema: TableSchema) -> None:
        self.schema = schema
        self.numerical_mean: list[float] = []
        self.numerical_std: list[float] = []
        #: Train categories of each categorical column; category ``i`` maps to index ``i + 1``.
        self.categories: list[list[str]] = []
        self.class_names: list[str] | None = None
        self.target_mean: float | None = None
        self.target_std: float | None = None
        self.fit_rows = 0
        self.fitted = False

    # ----------------------------------------------------------------- facts
    @property
    def task(self) -> str:
        return self.schema.task

    @property
    def numerical_names(self) -> list[str]:
        return list(self.schema.numerical)

    @property
    def categorical_names(self) -> list[str]:
        return list(self.schema.categorical)

    @property
    def cardinalities(self) -> list[int]:
        """Embedding table sizes: ``K + 1`` per categorical column (index 0 = missing/unseen)."""
        self._check_fitted()
        return [len(c) + 1 for c in self.categories]

    @property
    def num_classes(self) -> int | None:
        return None if self.class_names is None else len(self.class_names)

    # ------------------------------------------------------------------- fit
    def fit(self, frame: pd.DataFrame, *, source: str = "the train split") -> TablePreprocessor:
        """Fit the statistics, vocabularies and classes on the train split."""
        self._check_columns(frame, source, need_target=True)
        if len(frame) == 0:
            raise DatasetError(f"Cannot fit the preprocessing on {source}: it has no rows. Provide training rows.")
        schema = self.schema
        means, stds = [], []
        for name in schema.numerical:
            values = numeric_values(frame[name], name, source)
            finite = values[np.isfinite(values)]
            mean = float(finite.mean()) if finite.size else 0.0
            std = float(finite.std()) if finite.size else 1.0
            means.append(mean)
            stds.append(std if np.isfinite(std) and std > 0 else 1.0)
        self.numerical_mean, self.numerical_std = means, stds
        self.categories = []
        for name in schema.categorical:
            _, uniques = factorize_categories(frame[name])
            self.categories.append(sorted_labels(set(uniques), numeric=is_numeric(frame[name])))
        target = frame[schema.target]
        if target.isna().any():
            raise DatasetError(
                f"The target {schema.target!r} has {int(target.isna().sum())} missing values in {source}. "
                "Drop those rows before fitting (the table loaders do this for you)."
            )
        if schema.task == "classification":
            _, uniques = factorize_categories(target)
            found = set(uniques)
            if schema.classes is not None:
                unknown = sorted(found - set(schema.classes))
                if unknown:
                    raise DatasetError(
                        f"Labels {unknown[:5]} of {schema.target!r} in {source} are not in classes="
                        f"{schema.classes}. Add them to classes, or leave classes unset."
                    )
                self.class_names = list(schema.classes)
            else:
                self.class_names = sorted_labels(found, numeric=is_numeric(target))
            self.target_mean = self.target_std = None
        else:
            values = numeric_values(target, schema.target, source)
            self.target_mean = float(np.nanmean(values))
            self.target_std = float(np.nanstd(values))
            self.class_names = None
        self.fit_rows = len(frame)
        self.fitted = True
        return self

    # ------------------------------------------------------------- transform
    def transform(self, frame: pd.DataFrame, *, source: str = "the table") -> dict[str, torch.Tensor]:
        """Return ``{"numerical": float32 [N, n_num], "categorical": int64 [N, n_cat], "label": ...}``.

        ``"label"`` is int64 ``[N]`` (classification) or float32 ``[N]``
        (regression), and absent when ``frame`` has no target column.
        """
        return self.transform_with_report(frame, source=source)[0]

    def transform_with_report(
        self, frame: pd.DataFrame, *, source: str = "the table"
    ) -> tuple[dict[str, torch.Tensor], TransformReport]:
        """:meth:`transform`, plus counts of unseen and missing values."""
        self._check_fitted()
        self._check_columns(frame, source, need_target=False)
        schema = self.schema
        n = len(frame)
        report = TransformReport(rows=n)
        numerical = np.empty((n, len(schema.numerical)), dtype=np.float32)
        for j, name in enumerate(schema.numerical):
            values = numeric_values(frame[name], name, source)
            missing = ~np.isfinite(values)
            report.missing_numerical += int(missing.sum())
            values[missing] = self.numerical_mean[j]
            numerical[:, j] = (values - self.numerical_mean[j]) / self.numerical_std[j]
        categorical = np.empty((n, len(schema.categorical)), dtype=np.int64)
        for j, name in enumerate(schema.categorical):
            codes, uniques = factorize_categories(frame[name])
            lookup = pd.Index(self.categories[j], dtype=object).get_indexer(uniques) + 1  # unseen -> 0
            index = np.where(codes >= 0, lookup[np.maximum(codes, 0)] if len(lookup) else 0, 0)
            missing = int((codes < 0).sum())
            unseen = int((index == 0).sum()) - missing
            report.missing_categorical += missing
            if unseen:
                report.unseen_categories += unseen
                report.unseen_by_column[name] = unseen
            categorical[:, j] = index
        out = {"numerical": torch.from_numpy(numerical), "categorical": torch.from_numpy(categorical)}
        if schema.target in frame.columns:
            out["label"] = self._encode_target(frame[schema.target], source)
        return out, report

    def _encode_target(self, target: pd.Series, source: str) -> torch.Tensor:
        name = self.schema.target
        if target.isna().any():
            raise DatasetError(
                f"The target {name!r} has {int(target.isna().sum())} missing values in {source}. "
                "Drop those rows first (the table loaders do this for you)."
            )
        if self.schema.task == "regression":
            return torch.from_numpy(numeric_values(target, name, source).astype(np.float32))
        assert self.class_names is not None
        raw_codes, uniques = factorize_categories(target)
        lookup = pd.Index(self.class_names, dtype=object).get_indexer(uniques)
        codes = lookup[raw_codes]
        if (lookup < 0).any():
            counts = np.bincount(raw_codes, minlength=len(uniques))
            unknown = sorted(((uniques[i], int(counts[i])) for i in np.flatnonzero(lookup < 0)), key=lambda kv: -kv[1])
            shown = ", ".join(f"{k!r} ({v}x)" for k, v in unknown[:5])
            raise DatasetError(
                f"The target {name!r} in {source} has labels never seen in the train split: {shown}; "
                f"train classes: {self.class_names}. Clean the labels (e.g. strip suffixes) or merge the "
                "classes so that every split uses the same names."
            )
        return torch.from_numpy(codes.astype(np.int64))

    # ------------------------------------------------------------ round trip
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description that :meth:`from_dict` restores exactly."""
        self._check_fitted()
        schema = self.schema
        return {
            "format": _FORMAT,
            "target": schema.target,
            "task": schema.task,
            "numerical_names": list(schema.numerical),
            "numerical_mean": list(self.numerical_mean),
            "numerical_std": list(self.numerical_std),
            "categorical_names": list(schema.categorical),
            "categories": [list(c) for c in self.categories],
            "missing_index": 0,
            "class_names": None if self.class_names is None else list(self.class_names),
            "target_mean": self.target_mean,
            "target_std": self.target_std,
            "fit_rows": self.fit_rows,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TablePreprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_dict` output."""
        if data.get("format") != _FORMAT:
            raise ConfigError(
                f"Unknown preprocessing format {data.get('format')!r} (expected {_FORMAT!r}). Re-create the "
                "run's data info with this version of selfsup-tabular."
            )
        try:
            schema = TableSchema(
                target=str(data["target"]),
                task=str(data["task"]),
                numerical=[str(c) for c in data["numerical_names"]],
                categorical=[str(c) for c in data["categorical_names"]],
                classes=data["class_names"],
            )
            self = cls(schema)
            self.numerical_mean = [float(v) for v in data["numerical_mean"]]
            self.numerical_std = [float(v) for v in data["numerical_std"]]
            self.categories = [[str(v) for v in c] for c in data["categories"]]
            self.class_names = None if data["class_names"] is None else [str(c) for c in data["class_names"]]
            self.target_mean = None if data["target_mean"] is None else float(data["target_mean"])
            self.target_std = None if data["target_std"] is None else float(data["target_std"])
            self.fit_rows = int(data.get("fit_rows", 0))
        except KeyError as exc:
            raise ConfigError(
                f"Saved preprocessing lacks the key {exc.args[0]!r}. Re-create it with TablePreprocessor.to_dict()."
            ) from exc
        if len(self.numerical_mean) != len(schema.numerical) or len(self.categories) != len(schema.categorical):
            raise ConfigError("Saved preprocessing is inconsistent (lists of different lengths). Re-create it.")
        self.fitted = True
        return self

    # --------------------------------------------------------------- helpers
    def _check_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError("TablePreprocessor is not fitted: call fit(train_frame) first.")

    def _check_columns(self, frame: pd.DataFrame, source: str, *, need_target: bool) -> None:
        wanted = self.schema.features + ([self.schema.target] if need_target else [])
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            have = [str(c) for c in frame.columns]
            raise DatasetError(
                f"{source[:1].upper()}{source[1:]} lacks the column(s) {missing} "
                f"(it has: {preview(have)}).{did_you_mean(missing[0], have)} Every split needs the columns "
                "the train split had; rename or add them."
            )

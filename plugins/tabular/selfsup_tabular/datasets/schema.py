"""Column schema inference and the fitted preprocessing of a table (pandas/numpy only).

**Which columns are categorical** (:func:`infer_schema`), in order:

1. Columns listed in ``categorical`` or ``numerical`` are what the lists say.
2. ``bool``, ``object``, string and ``category`` columns are categorical.
3. Integer columns (nullable ones included) are categorical when they have at
   most ``max_int_categories`` (default 20) distinct values **and** at most
   ``max_categories_ratio`` (default 0.05) distinct values per non-missing row;
   the ratio keeps small tables from turning every integer column into a
   category. Other integer columns, and every float column, are numerical.
4. Datetime, timedelta and complex columns are refused (drop or convert them).

**The task** (``task="auto"``): a categorical-looking target (bool, string,
category, or integer-valued with at most ``max_int_categories`` distinct values)
makes a classification task; any other numeric target a regression task.

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from selfsup.errors import ConfigError, DatasetError, did_you_mean

__all__ = [
    "TASKS",
    "TableSchema",
    "TablePreprocessor",
    "TransformReport",
    "infer_schema",
    "category_strings",
    "factorize_categories",
]

#: Supported task names.
TASKS = ("classification", "regression")
_FORMAT = "selfsup-tabular/preprocessor-v1"


@dataclass
class TableSchema:
    """Which column is the target, which are numerical and which categorical."""

    #: Target column name.
    target: str
    #: ``"classification"`` or ``"regression"``.
    task: str
    #: Numerical feature columns, in tensor column order.
    numerical: list[str] = field(default_factory=list)
    #: Categorical feature columns, in tensor column order.
    categorical: list[str] = field(default_factory=list)
    #: Class names in class-index order; ``None`` means the sorted train labels.
    classes: list[str] | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"task={self.task!r} is not supported. Use one of: {', '.join(TASKS)}.")
        overlap = sorted(set(self.numerical) & set(self.categorical))
        if overlap:
            raise ConfigError(
                f"Columns {overlap} are listed as both numerical and categorical. Keep each in one list."
            )
        if self.target in self.numerical or self.target in self.categorical:
            raise ConfigError(
                f"The target column {self.target!r} is also listed as a feature. Remove it from the "
                "numerical/categorical lists."
            )
        if self.classes is not None:
            self.classes = [str(c) for c in self.classes]
            if len(set(self.classes)) != len(self.classes):
                raise ConfigError(f"classes={self.classes} has duplicates. List each class once.")

    @property
    def features(self) -> list[str]:
        """Numerical then categorical feature names."""
        return [*self.numerical, *self.categorical]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {
            "target": self.target,
            "task": self.task,
            "numerical": list(self.numerical),
            "categorical": list(self.categorical),
            "classes": None if self.classes is None else list(self.classes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableSchema:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                target=str(data["target"]),
                task=str(data["task"]),
                numerical=[str(c) for c in data.get("numerical", [])],
                categorical=[str(c) for c in data.get("categorical", [])],
                classes=None if data.get("classes") is None else [str(c) for c in data["classes"]],
            )
        except KeyError as exc:
            raise ConfigError(
                f"A saved table schema lacks the key {exc.args[0]!r}. Re-create it with TableSchema.to_dict()."
            ) from exc


def infer_schema(
    frame: pd.DataFrame,
    *,
    target: str,
    categorical: Sequence[str] | None = None,
    numerical: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    task: str = "auto",
    classes: Sequence[str] | None = None,
    max_int_categories: int = 20,
    max_categories_ratio: float = 0.05,
    source: str = "the table",
) -> TableSchema:
    """Infer a :class:`TableSchema` from (the train split of) a table.

    See the module docstring for the rules. ``categorical``/``numerical``
    override inference for the columns they list; columns in neither list are
    inferred; ``drop`` removes columns; ``task`` is ``"auto"``,
    ``"classification"`` or ``"regression"``; ``classes`` fixes the class order.
    ``source`` names the table in error messages.

    Raises:
        DatasetError: a named column is not in the table, no feature is left,
            or a column has an unsupported dtype.
        ConfigError: a column is listed twice, or ``task`` is unknown.
    """
    columns = [str(c) for c in frame.columns]
    if task not in ("auto", *TASKS):
        raise ConfigError(f"task={task!r} is not supported. Use 'auto', 'classification' or 'regression'.")
    if target not in columns:
        raise DatasetError(
            f"Target column {target!r} is not in {source} (columns: {_preview(columns)})."
            f"{did_you_mean(target, columns)} Set target= to the column holding the labels."
        )
    for option, names in (("categorical", categorical or ()), ("numerical", numerical or ()), ("drop", drop)):
        for name in names:
            if name not in columns:
                raise DatasetError(
                    f"Column {name!r} from {option}=[...] is not in {source} (columns: {_preview(columns)})."
                    f"{did_you_mean(name, columns)} Fix or remove that name."
                )
    forced_cat = list(dict.fromkeys(categorical or ()))
    forced_num = list(dict.fromkeys(numerical or ()))
    ignored = set(drop) | {target}
    num_cols: list[str] = []
    cat_cols: list[str] = []
    for name in columns:
        if name in ignored:
            continue
        if name in forced_cat and name in forced_num:
            raise ConfigError(f"Column {name!r} is listed as both categorical and numerical. Keep it in one list.")
        if name in forced_cat:
            cat_cols.append(name)
        elif name in forced_num:
            num_cols.append(name)
        elif _looks_categorical(frame[name], name, source, max_int_categories, max_categories_ratio):
            cat_cols.append(name)
        else:
            num_cols.append(name)
    if not num_cols and not cat_cols:
        raise DatasetError(
            f"{source[:1].upper()}{source[1:]} has no feature columns besides the target {target!r}"
            f"{' and the dropped columns' if drop else ''}. Add feature columns, or shorten drop=[...]."
        )
    if task == "auto":
        task = _infer_task(frame[target], max_int_categories)
    elif task == "regression" and not _is_numeric(frame[target]):
        converted = pd.to_numeric(frame[target], errors="coerce")
        if (converted.isna() & frame[target].notna()).any():
            raise DatasetError(
                f"task='regression' but the target {target!r} in {source} is not numeric "
                f"(e.g. {frame[target].dropna().iloc[0]!r}). Use task='classification' or fix the column."
            )
    return TableSchema(
        target=target,
        task=task,
        numerical=num_cols,
        categorical=cat_cols,
        classes=None if classes is None else [str(c) for c in classes],
    )


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
            values = _numeric_values(frame[name], name, source)
            finite = values[np.isfinite(values)]
            mean = float(finite.mean()) if finite.size else 0.0
            std = float(finite.std()) if finite.size else 1.0
            means.append(mean)
            stds.append(std if np.isfinite(std) and std > 0 else 1.0)
        self.numerical_mean, self.numerical_std = means, stds
        self.categories = []
        for name in schema.categorical:
            _, uniques = factorize_categories(frame[name])
            self.categories.append(_sorted_labels(set(uniques), numeric=_is_numeric(frame[name])))
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
                self.class_names = _sorted_labels(found, numeric=_is_numeric(target))
            self.target_mean = self.target_std = None
        else:
            values = _numeric_values(target, schema.target, source)
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
            values = _numeric_values(frame[name], name, source)
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
            return torch.from_numpy(_numeric_values(target, name, source).astype(np.float32))
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
                f"(it has: {_preview(have)}).{did_you_mean(missing[0], have)} Every split needs the columns "
                "the train split had; rename or add them."
            )


# ---------------------------------------------------------------- utilities
def factorize_categories(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, uniques)``: int64 codes (``-1`` where missing) into canonical category strings.

    Hashes the raw values first and canonicalises only the distinct ones (see
    :func:`category_strings`), so it costs O(rows) in C and O(distinct) in
    Python. Different raw values may share a string (``3`` and ``3.0``).
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), category_strings(pd.Series(uniques))


def category_strings(series: pd.Series) -> np.ndarray:
    """Values as an object array of strings, ``None`` where missing.

    Integral numbers are written without a decimal part (``3.0`` -> ``"3"``),
    so a column read as int in one file and float (because of missing values)
    in another maps to the same categories.
    """
    dtype = series.dtype
    n = len(series)
    out = np.full(n, None, dtype=object)
    if isinstance(dtype, pd.CategoricalDtype):
        names = category_strings(pd.Series(dtype.categories))
        codes = series.cat.codes.to_numpy()
        out[codes >= 0] = names[codes[codes >= 0]]
        return out
    if pd.api.types.is_bool_dtype(dtype):
        missing = series.isna().to_numpy()
        out[~missing] = series[~missing].astype(bool).map({True: "True", False: "False"}).to_numpy(dtype=object)
        return out
    if pd.api.types.is_integer_dtype(dtype):
        missing = series.isna().to_numpy()
        out[~missing] = series[~missing].astype(np.int64).astype(str).to_numpy(dtype=object)
        return out
    if pd.api.types.is_float_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(values)
        integral = present & np.isfinite(values) & (np.abs(values) < 2**53)
        integral[integral] = values[integral] == np.floor(values[integral])
        out[integral] = values[integral].astype(np.int64).astype(str)
        other = present & ~integral
        out[other] = values[other].astype(str)
        return out
    missing = series.isna().to_numpy()
    values = series.to_numpy(dtype=object)
    if missing.any():
        values = values.copy()
        values[missing] = None
    present = ~missing
    out[present] = values[present].astype(str)
    return out


def _numeric_values(series: pd.Series, name: str, source: str) -> np.ndarray:
    """Float64 copy of a column; NaN where missing. Non-numbers raise :class:`DatasetError`."""
    if pd.api.types.is_bool_dtype(series.dtype) or _is_numeric(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        examples = pd.unique(series[bad].astype(str))[:3].tolist()
        raise DatasetError(
            f"Numerical column {name!r} in {source} holds non-numbers, e.g. {examples}. Declare it "
            f"categorical (categorical=[{name!r}, ...]), or mark those values as missing (na_values)."
        )
    return converted.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def _looks_categorical(
    series: pd.Series, name: str, source: str, max_int_categories: int, max_categories_ratio: float
) -> bool:
    dtype = series.dtype
    if (
        pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
        or pd.api.types.is_complex_dtype(dtype)
    ):
        raise DatasetError(
            f"Column {name!r} in {source} has dtype {dtype}, which is neither numerical nor categorical. "
            f"Drop it (drop=[{name!r}]) or convert it to numbers first."
        )
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return True
    if pd.api.types.is_integer_dtype(dtype):
        present = int(series.notna().sum())
        distinct = int(series.nunique(dropna=True))
        return distinct <= max_int_categories and distinct <= max_categories_ratio * present
    return not pd.api.types.is_numeric_dtype(dtype)


def _infer_task(target: pd.Series, max_int_categories: int) -> str:
    if not _is_numeric(target):
        return "classification"
    values = target.dropna().to_numpy(dtype=np.float64)
    integral = bool(np.all(np.isfinite(values) & (values == np.floor(values))))
    if integral and pd.unique(values).size <= max_int_categories:
        return "classification"
    return "regression"


def _sorted_labels(values: Sequence[Any] | np.ndarray, *, numeric: bool) -> list[str]:
    labels = [str(v) for v in values]
    if numeric:
        return sorted(labels, key=lambda s: (float(s), s))
    return sorted(labels)


def _preview(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")

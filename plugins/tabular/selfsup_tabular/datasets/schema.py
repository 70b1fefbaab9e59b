"""Column schema inference: the target, the task, and which columns are numerical or categorical.

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

The fitted preprocessing is :mod:`.preprocessor`; the column helpers both use are :mod:`.columns`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from selfsup.errors import ConfigError, DatasetError, did_you_mean

from .columns import is_numeric, preview

__all__ = ["TASKS", "TableSchema", "infer_schema"]

#: Supported task names.
TASKS = ("classification", "regression")


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
            f"Target column {target!r} is not in {source} (columns: {preview(columns)})."
            f"{did_you_mean(target, columns)} Set target= to the column holding the labels."
        )
    for option, names in (("categorical", categorical or ()), ("numerical", numerical or ()), ("drop", drop)):
        for name in names:
            if name not in columns:
                raise DatasetError(
                    f"Column {name!r} from {option}=[...] is not in {source} (columns: {preview(columns)})."
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
    elif task == "regression" and not is_numeric(frame[target]):
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
    if not is_numeric(target):
        return "classification"
    values = target.dropna().to_numpy(dtype=np.float64)
    integral = bool(np.all(np.isfinite(values) & (values == np.floor(values))))
    if integral and pd.unique(values).size <= max_int_categories:
        return "classification"
    return "regression"

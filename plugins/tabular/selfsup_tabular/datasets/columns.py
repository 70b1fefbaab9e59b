"""Column helpers shared by schema inference and preprocessing (pandas/numpy only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from selfsup.errors import DatasetError

__all__ = [
    "category_strings",
    "factorize_categories",
    "is_numeric",
    "numeric_values",
    "preview",
    "sorted_labels",
]


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


def numeric_values(series: pd.Series, name: str, source: str) -> np.ndarray:
    """Float64 copy of a column; NaN where missing. Non-numbers raise :class:`DatasetError`."""
    if pd.api.types.is_bool_dtype(series.dtype) or is_numeric(series):
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


def is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def sorted_labels(values: Sequence[Any] | np.ndarray, *, numeric: bool) -> list[str]:
    labels = [str(v) for v in values]
    if numeric:
        return sorted(labels, key=lambda s: (float(s), s))
    return sorted(labels)


def preview(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")

"""Seeded, optionally stratified, row splits (vectorised numpy, no scikit-learn)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from selfsup.errors import ConfigError

__all__ = ["split_off", "split_frame", "stratify_codes", "check_fraction"]


def check_fraction(name: str, value: float, *, allow_zero: bool = True) -> float:
    """Return ``value`` if it lies in [0, 1) (or (0, 1)), else raise :class:`ConfigError`."""
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value < 1):
        interval = "[0, 1)" if allow_zero else "(0, 1)"
        raise ConfigError(f"{name}={value!r} must lie in {interval}. Set e.g. {name}=0.1.")
    return float(value)


def stratify_codes(values: pd.Series | None) -> np.ndarray | None:
    """Integer group codes of ``values`` (missing values form one group); ``None`` passes through."""
    if values is None:
        return None
    codes, _ = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64)


def split_off(
    n: int, count: int, *, groups: np.ndarray | None = None, seed: int | list[int] = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``count`` of ``n`` rows at random, proportionally within each group.

    Group quotas are ``count * n_g / n``, rounded by largest remainder so that
    they add up to exactly ``count``. Returns ``(taken, rest)``, both sorted.
    """
    if not 0 <= count <= n:
        raise ValueError(f"count={count} must lie in [0, {n}]")
    rng = np.random.default_rng(seed)
    keys = rng.random(n)
    if groups is None:
        order = np.argsort(keys, kind="stable")
        taken = np.sort(order[:count])
    else:
        groups = np.asarray(groups, dtype=np.int64)
        num_groups = int(groups.max()) + 1 if n else 0
        sizes = np.bincount(groups, minlength=num_groups)
        exact = count * sizes / max(n, 1)
        quotas = np.floor(exact).astype(np.int64)
        short = count - int(quotas.sum())
        if short > 0:  # largest remainders first; ties go to the larger group, then the lower code
            priority = np.lexsort((np.arange(num_groups), -sizes, -(exact - quotas)))
            quotas[priority[:short]] += 1
        quotas = np.minimum(quotas, sizes)  # guards against floating-point ties
        order = np.lexsort((keys, groups))  # grouped, random order within a group
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - starts[groups[order]]
        taken = np.flatnonzero(rank < quotas[groups])
    mask = np.zeros(n, dtype=bool)
    mask[taken] = True
    return taken, np.flatnonzero(~mask)


def split_frame(
    frame: pd.DataFrame,
    fraction: float,
    *,
    stratify: str | None = None,
    seed: int | list[int] = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``round(fraction * len(frame))`` rows off ``frame``: returns ``(rest, taken)``.

    ``stratify`` names a column whose class proportions both parts keep.
    Both parts keep the original row order and get a fresh ``RangeIndex``.
    """
    count = int(round(fraction * len(frame)))
    groups = stratify_codes(frame[stratify]) if stratify is not None else None
    taken, rest = split_off(len(frame), count, groups=groups, seed=seed)
    return (
        frame.iloc[rest].reset_index(drop=True),
        frame.iloc[taken].reset_index(drop=True),
    )

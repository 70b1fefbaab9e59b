"""Small helpers shared by the tabular encoders, objectives and evaluators.

* :class:`TabularLayout`: the column layout read from ``data_info``
  (``num_numerical`` and ``cardinalities``, the latter counting the reserved
  index 0 for missing/unseen categories);
* :func:`require_choice`: a :class:`~selfsup.errors.ConfigError` for a string
  option outside its allowed values;
* :func:`rows_in` and :func:`one_hot_features`: batch helpers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from selfsup.errors import ConfigError, IncompatibleComponentsError

__all__ = ["TabularLayout", "require_choice", "rows_in", "one_hot_features", "category_offsets"]


@dataclass(frozen=True)
class TabularLayout:
    """How many numerical columns there are and the cardinality of each categorical one."""

    num_numerical: int
    #: Per categorical column, the number of indices INCLUDING the reserved 0.
    cardinalities: tuple[int, ...]

    @property
    def num_categorical(self) -> int:
        return len(self.cardinalities)

    @property
    def num_features(self) -> int:
        return self.num_numerical + self.num_categorical

    @property
    def one_hot_width(self) -> int:
        """Width of ``[numerical, one-hot(categorical)]``."""
        return self.num_numerical + sum(self.cardinalities)

    @classmethod
    def from_data_info(cls, data_info: Mapping[str, Any], *, component: str) -> TabularLayout:
        """Read the layout, raising :class:`IncompatibleComponentsError` for non-tabular data."""
        missing = [key for key in ("num_numerical", "cardinalities") if key not in data_info]
        if missing:
            raise IncompatibleComponentsError(
                f"{component} needs tabular data_info with 'num_numerical' and 'cardinalities', but "
                f"{missing} missing (data_info keys: {sorted(data_info)}). Use a tabular dataset "
                "(selfsup_tabular.datasets), or add these keys to your data source's info."
            )
        num_numerical = int(data_info["num_numerical"])
        cardinalities = tuple(int(c) for c in data_info["cardinalities"])
        if num_numerical < 0 or any(c < 1 for c in cardinalities):
            raise IncompatibleComponentsError(
                f"{component}: data_info has num_numerical={num_numerical} and cardinalities="
                f"{list(cardinalities)}; counts must be >= 0 and every cardinality >= 1 (it includes "
                "the reserved index 0). Fix the data source's info."
            )
        layout = cls(num_numerical, cardinalities)
        if "num_features" in data_info and int(data_info["num_features"]) != layout.num_features:
            raise IncompatibleComponentsError(
                f"{component}: data_info['num_features']={data_info['num_features']} but "
                f"num_numerical + len(cardinalities) = {layout.num_features}. Fix the data source's info."
            )
        if layout.num_features == 0:
            raise IncompatibleComponentsError(
                f"{component}: the data has no feature columns (num_numerical=0, cardinalities=[]). "
                "Check the dataset's column selection."
            )
        return layout


def require_choice(component: str, key: str, value: str, choices: Sequence[str]) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(
            f"{component}: {key}={value!r} is not supported; choose one of {list(choices)}, "
            f"e.g. {key}={choices[0]!r}."
        )


def rows_in(batch: Mapping[str, Any]) -> int:
    """Number of rows in a tabular batch (from its numerical or categorical tensor)."""
    for key in ("numerical", "categorical", "label"):
        value = batch.get(key)
        if isinstance(value, torch.Tensor) and value.dim() >= 1:
            return value.shape[0]  # no int(): a traced export keeps the row count dynamic
    raise ValueError("A tabular batch needs a 'numerical' or 'categorical' tensor.")


def category_offsets(cardinalities: Sequence[int]) -> torch.Tensor:
    """Start index of each categorical column in a concatenated table, shape ``[n_cat]``."""
    sizes = torch.tensor([0, *cardinalities[:-1]], dtype=torch.long)
    return torch.cumsum(sizes, dim=0)


def one_hot_features(
    numerical: torch.Tensor | None,
    categorical: torch.Tensor | None,
    offsets: torch.Tensor,
    one_hot_width: int,
) -> torch.Tensor:
    """``[numerical, one-hot(categorical)]`` as float32, shape ``[B, n_num + Σ cardinalities]``.

    ``offsets`` is :func:`category_offsets` on the batch's device; the one-hot
    block has ``Σ cardinalities`` columns, the reserved index 0 of each column
    included (a missing category is its own indicator).
    """
    parts: list[torch.Tensor] = []
    if numerical is not None and numerical.shape[-1] > 0:
        parts.append(numerical.float())
    if categorical is not None and categorical.shape[-1] > 0:
        rows = categorical.shape[0]
        width = one_hot_width - (0 if numerical is None else numerical.shape[-1])
        one_hot = torch.zeros(rows, width, device=categorical.device, dtype=torch.float32)
        one_hot.scatter_(1, categorical.long() + offsets, 1.0)
        parts.append(one_hot)
    return torch.cat(parts, dim=1)

"""Tabular data: readers, schema inference, preprocessing and dataset sources.

Names are imported lazily (PEP 562), so ``selfsup_tabular.datasets.configs``
(the config dataclasses, standard library only) can be imported without pandas
or torch. Modules:

* :mod:`.configs`: ``CSVTableConfig``, ``AdultConfig``, ``AdultSampleConfig``, ``SyntheticTrafficConfig``;
* :mod:`.readers`: :func:`read_table`;
* :mod:`.schema`: :func:`infer_schema`, :class:`TableSchema`;
* :mod:`.preprocessor`: :class:`TablePreprocessor`, :class:`TransformReport`;
* :mod:`.columns`: the column helpers both use;
* :mod:`.table`: :class:`TableDataset`, :class:`TableSource`;
* :mod:`.csv_table`, :mod:`.adult`, :mod:`.synthetic`: the dataset sources.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "Adult",
    "AdultConfig",
    "AdultSample",
    "AdultSampleConfig",
    "CSVTable",
    "CSVTableConfig",
    "SyntheticTraffic",
    "SyntheticTrafficConfig",
    "TableDataset",
    "TablePreprocessor",
    "TableSchema",
    "TableSource",
    "TransformReport",
    "infer_schema",
    "read_table",
]

_WHERE = {
    "Adult": "adult",
    "AdultSample": "adult",
    "AdultConfig": "configs",
    "AdultSampleConfig": "configs",
    "CSVTableConfig": "configs",
    "SyntheticTrafficConfig": "configs",
    "CSVTable": "csv_table",
    "SyntheticTraffic": "synthetic",
    "TableDataset": "table",
    "TableSource": "table",
    "TablePreprocessor": "preprocessor",
    "TableSchema": "schema",
    "TransformReport": "preprocessor",
    "infer_schema": "schema",
    "read_table": "readers",
}

if TYPE_CHECKING:  # pragma: no cover
    from .adult import Adult, AdultSample
    from .configs import AdultConfig, AdultSampleConfig, CSVTableConfig, SyntheticTrafficConfig
    from .csv_table import CSVTable
    from .readers import read_table
    from .preprocessor import TablePreprocessor, TransformReport
    from .schema import TableSchema, infer_schema
    from .synthetic import SyntheticTraffic
    from .table import TableDataset, TableSource


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

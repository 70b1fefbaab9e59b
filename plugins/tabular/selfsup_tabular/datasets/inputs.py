"""New raw rows -> a batch, with a run's fitted :class:`.preprocessor.TablePreprocessor`.

The ``input_transform`` of every tabular dataset (``DatasetSpec.input_transform``):
``table_inputs(config, state)`` rebuilds :class:`TableInputs` from the state that
:meth:`.table.TableSource.preprocessing_state` saved with the run (``{"table":
TablePreprocessor.to_dict(), "reader": ...}``). Unseen categories and missing values are
handled exactly as in the run's splits (index 0; the train mean).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from selfsup.errors import DatasetError

from .preprocessor import TablePreprocessor
from .readers import read_table, table_format

__all__ = ["TableInputs", "table_inputs"]


class TableInputs:
    """``read(source)``: a CSV/TSV/Parquet file (or a ``pandas.DataFrame``) -> ``(row id, row)``
    pairs, the id being the 0-based row number (a DataFrame's own index labels when it has
    them); ``batch(rows)`` -> ``{"numerical": float32 [B, n_num], "categorical": int64 [B, n_cat]}``.
    A target column, when present, is ignored; every feature column of the run is required.
    """

    def __init__(self, preprocessor: TablePreprocessor, *, sep: str | None = None, reader: str = "table") -> None:
        self.preprocessor = preprocessor
        self.sep = sep
        self.reader = reader
        self.columns = preprocessor.schema.features

    def read(self, source: Any) -> list[tuple[str, Any]]:
        if isinstance(source, pd.DataFrame):
            frame = source
            ids = [str(i) for i in frame.index]
        else:
            frame = self._read_file(Path(source))
            ids = [str(i) for i in range(len(frame))]
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            where = "the frame" if isinstance(source, pd.DataFrame) else repr(str(source))
            raise DatasetError(
                f"New rows in {where} lack the column(s) {missing} the run was trained on (they have: "
                f"{[str(c) for c in frame.columns][:12]}). Add them (empty cells count as missing)."
            )
        records = frame[self.columns].to_dict("records")
        return list(zip(ids, records))

    def _read_file(self, path: Path) -> pd.DataFrame:
        if path.is_dir():
            raise DatasetError(
                f"data.root={str(path)!r} is a folder; tabular runs embed one table file. "
                "Point data.root at a .csv, .tsv or .parquet file."
            )
        if self.reader == "adult":
            from .adult import ADULT_COLUMNS, _first_line

            if path.is_file() and not _first_line(path).startswith("age"):  # the UCI files have no header
                fields = len(_first_line(path).split(","))
                skip = 1 if _first_line(path).startswith("|") else 0
                names = ADULT_COLUMNS if fields == len(ADULT_COLUMNS) else ADULT_COLUMNS[:-1]
                return read_table(path, sep=",", header=None, names=names, skiprows=skip)
            frame = read_table(path, sep=",")
            if len(frame.columns) in (len(ADULT_COLUMNS), len(ADULT_COLUMNS) - 1):  # header row with other spellings
                frame.columns = ADULT_COLUMNS[: len(frame.columns)]
            return frame
        sep = self.sep or table_format(path)[1] or ","
        return read_table(path, sep=sep)

    def batch(self, items: Sequence[Any]) -> tuple[dict[str, Any], list[int]]:
        frame = pd.DataFrame.from_records(list(items), columns=self.columns)
        tensors: dict[str, torch.Tensor] = self.preprocessor.transform(frame, source="the new rows")
        tensors.pop("label", None)
        return tensors, [1] * len(items)


def table_inputs(config: Any, state: Mapping[str, Any]) -> TableInputs:
    """``DatasetSpec.input_transform`` of the tabular datasets."""
    from selfsup.errors import CheckpointError

    if "table" not in state:
        raise CheckpointError(
            "The run folder has no tabular preprocessing state (preprocessing.json with 'table'); it was "
            "written before selfsup saved one. Pretrain it again to embed new rows."
        )
    preprocessor = TablePreprocessor.from_dict(state["table"])
    return TableInputs(preprocessor, sep=state.get("sep") or getattr(config, "sep", None), reader=state.get("reader", "table"))

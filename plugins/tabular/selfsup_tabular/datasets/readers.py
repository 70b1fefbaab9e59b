"""Read CSV, TSV and Parquet tables into pandas with precise errors.

CSV files are validated by a fast pyarrow pass before pandas parses them,
because pandas silently pads rows that have too *few* fields with missing
values. Every malformed row is reported with its line number; with
``on_bad_lines="skip"`` such rows are dropped instead and listed in
``frame.attrs["skipped_lines"]`` (1-based line numbers).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from selfsup.errors import ConfigError, DatasetError

__all__ = ["read_table", "table_format", "DEFAULT_NA_VALUES", "SKIPPED_LINES_ATTR"]

#: Strings read as missing in addition to pandas' defaults (``""``, ``"NA"``, ``"NaN"``, ...).
DEFAULT_NA_VALUES: tuple[str, ...] = ("?",)
#: ``frame.attrs`` key listing the 1-based line numbers skipped with ``on_bad_lines="skip"``.
SKIPPED_LINES_ATTR = "skipped_lines"

_CSV_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": ","}
_COMPRESSIONS = {".gz", ".bz2", ".xz", ".zip", ".zst"}
_MAX_SHOWN = 80  # characters of an offending line shown in an error


def table_format(path: str | os.PathLike[str]) -> tuple[str, str | None]:
    """Return ``("parquet", None)`` or ``("csv", separator)`` from a file name.

    The separator is ``None`` when the extension does not tell (pass ``sep``).
    """
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSIONS:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in (".parquet", ".pq"):
        return "parquet", None
    return "csv", _CSV_SUFFIXES.get(last)


def read_table(
    path: str | os.PathLike[str],
    *,
    sep: str | None = None,
    na_values: Sequence[str] = DEFAULT_NA_VALUES,
    header: int | None | Literal["infer"] = "infer",
    names: Sequence[str] | None = None,
    on_bad_lines: str = "error",
    skipinitialspace: bool = True,
    skiprows: int = 0,
    encoding: str = "utf-8",
    max_rows: int | None = None,
) -> pd.DataFrame:
    """Read one table file into a DataFrame.

    Args:
        path: a ``.csv``, ``.csv.gz``, ``.tsv`` (``.tsv.gz``) or ``.parquet`` file;
            other extensions are read as CSV when ``sep`` is given.
        sep: one-character field separator; ``None`` picks ``,`` or tab from the
            extension. Spaces after a separator are skipped (``", "`` files read
            fine with ``sep=","``) unless ``skipinitialspace=False``.
        na_values: strings read as missing, on top of pandas' defaults.
        header: ``"infer"``/``0`` (the first line names the columns) or ``None``
            (no header; give ``names``).
        names: column names, required with ``header=None``; with a header row
            they replace its names.
        on_bad_lines: ``"error"`` raises :class:`DatasetError` on the first row
            with the wrong number of fields; ``"skip"`` drops such rows and lists
            their line numbers in ``frame.attrs["skipped_lines"]``.
        skipinitialspace: skip spaces after each separator.
        skiprows: number of leading lines to ignore (before the header).
        encoding: text encoding of CSV files.
        max_rows: read at most this many data rows (the first ones).

    Returns:
        The table; ``frame.attrs["skipped_lines"]`` is a (possibly empty) list
        of skipped 1-based line numbers, ``frame.attrs["source"]`` the path.

    Raises:
        DatasetError: the file is missing, empty, has no data rows, or has a
            malformed row (with ``on_bad_lines="error"``).
        ConfigError: an option is invalid.
    """
    path = Path(path)
    if on_bad_lines not in ("error", "skip"):
        raise ConfigError(
            f"on_bad_lines={on_bad_lines!r} is not supported. Use 'error' (default) or 'skip'."
        )
    if not path.is_file():
        where = "a folder, not a file" if path.is_dir() else "not found"
        raise DatasetError(
            f"Table file {str(path)!r} is {where}. Check the path (and data.root), "
            "or point train_file/test_file at an existing .csv, .csv.gz, .tsv or .parquet file."
        )
    kind, default_sep = table_format(path)
    if kind == "parquet":
        frame = _read_parquet(path, max_rows)
    else:
        sep = sep if sep is not None else default_sep
        if sep is None:
            raise ConfigError(
                f"Cannot tell the field separator of {str(path)!r} from its extension. "
                "Pass sep=',' (or sep='\\t'), or rename it to .csv/.tsv."
            )
        if len(sep) != 1:
            raise ConfigError(
                f"sep={sep!r} must be one character. For '{sep.strip() or sep}'-separated files "
                f"with spaces after the separator use sep={sep.strip()[:1] or sep[:1]!r} "
                "(spaces after separators are skipped)."
            )
        frame = _read_csv(
            path,
            sep=sep,
            na_values=list(na_values),
            header=header,
            names=names,
            on_bad_lines=on_bad_lines,
            skipinitialspace=skipinitialspace,
            skiprows=skiprows,
            encoding=encoding,
            max_rows=max_rows,
        )
    if len(frame.columns) == 0:
        raise DatasetError(f"Table file {str(path)!r} has no columns. Write a header row and data rows.")
    if len(frame) == 0:
        raise DatasetError(
            f"Table file {str(path)!r} has a header ({', '.join(map(str, frame.columns[:8]))}"
            f"{', ...' if len(frame.columns) > 8 else ''}) but no data rows. Add data rows, "
            "or point the config at the right file."
        )
    frame.attrs.setdefault(SKIPPED_LINES_ATTR, [])
    frame.attrs["source"] = str(path)
    return frame


def _read_parquet(path: Path, max_rows: int | None) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for broken files
        raise DatasetError(
            f"Cannot read Parquet file {str(path)!r}: {exc}. Check that it is a complete Parquet file "
            "(re-export it), or convert it to CSV."
        ) from exc
    if max_rows is not None:
        frame = frame.iloc[:max_rows].reset_index(drop=True)
    return frame


def _read_csv(
    path: Path,
    *,
    sep: str,
    na_values: list[str],
    header: int | None | Literal["infer"],
    names: Sequence[str] | None,
    on_bad_lines: str,
    skipinitialspace: bool,
    skiprows: int,
    encoding: str,
    max_rows: int | None,
) -> pd.DataFrame:
    header_row: int | None = 0 if header == "infer" else header
    if header_row not in (0, None):
        raise ConfigError(f"header={header!r} is not supported. Use 'infer'/0 (a header line) or None.")
    if header_row is None and not names:
        raise ConfigError(f"Reading {str(path)!r} with header=None needs the column names: pass names=[...].")
    common: dict[str, Any] = dict(
        sep=sep,
        skipinitialspace=skipinitialspace,
        encoding=encoding,
        skiprows=skiprows,
        header=header_row,
        names=list(names) if names else None,
    )
    # 1. The number of fields the rows must have: the header's (or the first row's).
    try:
        preview = pd.read_csv(path, nrows=1 if header_row is None else 0, **common)
    except pd.errors.EmptyDataError as exc:
        raise DatasetError(
            f"Table file {str(path)!r} is empty. It needs a header row and at least one data row; "
            "re-create or re-download it."
        ) from exc
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DatasetError(
            f"Cannot read the first line of {str(path)!r}: {exc}. Check the file's encoding "
            f"(pass encoding=..., now {encoding!r}) and its separator (sep={sep!r})."
        ) from exc
    if header_row is None:
        expected = _count_fields_first_row(path, sep=sep, skiprows=skiprows, encoding=encoding)
        if names is not None and expected != len(names):
            raise DatasetError(
                f"Table file {str(path)!r}: line {skiprows + 1} has {expected} fields but {len(names)} "
                "column names were given. Fix that line or the names."
            )
    else:
        expected = len(preview.columns)
    # 2. Find malformed rows (too few or too many fields) with pyarrow.
    first_data_line = skiprows + (header_row is not None) + 1
    bad = _find_bad_rows(path, sep=sep, expected=expected, first_data_line=first_data_line, encoding=encoding)
    if bad and on_bad_lines == "error":
        line, found, text = bad[0]
        more = f" ({len(bad)} malformed lines in all)" if len(bad) > 1 else ""
        shown = text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "..."
        raise DatasetError(
            f"Malformed row in {str(path)!r}: line {line} has {found} fields, expected {expected}"
            f"{more}; the line reads {shown!r}. Fix or delete that line, or pass on_bad_lines='skip' "
            "to drop such rows (their count is reported in the dataset info)."
        )
    skipped = [line for line, _, _ in bad]
    # 3. Parse with pandas, leaving out the malformed lines (0-based line indices).
    skip: int | list[int] = skiprows
    if skipped:
        skip = list(range(skiprows)) + [line - 1 for line in skipped]
    try:
        frame = pd.read_csv(
            path,
            na_values=na_values,
            keep_default_na=True,
            on_bad_lines="error",
            nrows=max_rows,
            low_memory=False,
            **{**common, "skiprows": skip},
        )
    except pd.errors.ParserError as exc:  # pragma: no cover - caught by the pyarrow pass
        raise DatasetError(
            f"Malformed table {str(path)!r}: {exc}. Fix or delete that line, or pass on_bad_lines='skip'."
        ) from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"Table file {str(path)!r} is not valid {encoding}: {exc}. Pass encoding=... (e.g. 'latin-1')."
        ) from exc
    frame.attrs[SKIPPED_LINES_ATTR] = skipped
    return frame


def _count_fields_first_row(path: Path, *, sep: str, skiprows: int, encoding: str) -> int:
    first = pd.read_csv(path, sep=sep, header=None, nrows=1, skiprows=skiprows, encoding=encoding)
    return len(first.columns)


def _find_bad_rows(
    path: Path, *, sep: str, expected: int, first_data_line: int, encoding: str
) -> list[tuple[int, int, str]]:
    """Return ``(1-based line, fields found, text)`` for every row whose field count is wrong.

    Blank (whitespace-only) lines are ignored, as pandas ignores them. Line
    numbers count physical lines, except that a quoted field spanning several
    lines counts as one.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    bad: list[tuple[int, int, str]] = []

    def handler(row: Any) -> str:
        # pyarrow numbers rows by physical line from the start of the file,
        # skipped lines included (``-1`` if it cannot tell).
        text = row.text or ""
        if text.strip():
            bad.append((row.number if row.number is not None else -1, row.actual_columns, text))
        return "skip"

    column_names = [f"c{i}" for i in range(expected)]
    try:
        pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                use_threads=False,
                column_names=column_names,
                skip_rows=first_data_line - 1,
                encoding=encoding,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=sep, invalid_row_handler=handler, ignore_empty_lines=False, newlines_in_values=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in column_names},
                include_columns=column_names[:1],
                check_utf8=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise DatasetError(
            f"Cannot parse {str(path)!r}: {exc}. Check its separator (sep={sep!r}), quoting and "
            f"encoding (encoding={encoding!r})."
        ) from exc
    return bad

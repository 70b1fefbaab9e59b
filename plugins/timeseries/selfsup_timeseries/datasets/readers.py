"""Readers of the UCR/UEA archive formats and of a CSV of windows, without pickle.

Each returns a :class:`RawSeries`: one float64 array ``[C, T_i]`` per series (lengths may differ),
the labels as strings (classification) or floats (regression), and the declared task.

* ``.ts`` (sktime/aeon): ``@`` header lines (``@univariate``, ``@dimensions``, ``@equalLength``,
  ``@classLabel true <labels>`` or ``@targetLabel true``, ``@timeStamps``, ``@missing``), ``#``
  comments, then ``@data``; one line per series, channels separated by ``:``, values by ``,``,
  the label last; ``?`` is a missing value. Time-stamped series are refused.
* ``.arff`` (Weka, the archive's other format): univariate as numeric attributes + a class
  attribute; multivariate as one ``relational`` attribute whose quoted value holds the channels
  separated by ``\\n`` (a literal backslash-n), then the class.
* ``.tsv`` (UCR 2018): label first, then values, tab-separated; ``NaN`` pads unequal lengths.
* ``.txt`` (UCR 2015): label first, then values, whitespace-separated.
* CSV of windows: a header, one row per window; every column but the label is a value, read
  channel-major (``num_channels`` channels of equal length).

Every malformed input is a :class:`selfsup.errors.DatasetError` naming the file and line.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from selfsup.errors import DatasetError

__all__ = ["RawSeries", "read_ts", "read_arff", "read_tsv", "read_ucr_txt", "read_csv_windows", "read_series"]

#: Refuse files larger than this (a guard against feeding a random huge file).
MAX_BYTES = 512 * 1024 * 1024


@dataclass
class RawSeries:
    """Series as read: ``series[i]`` is ``[C, T_i]`` float64; ``labels[i]`` a str or float."""

    series: list[np.ndarray]
    labels: list[str] | list[float]
    task: str  # "classification", "regression" or "none"
    class_names: list[str] | None = None


def _text(path: Path) -> str:
    if not path.is_file():
        raise DatasetError(f"{path}: no such file. Check data.root and data.name (the archive's <name>_TRAIN.<ext>).")
    if path.stat().st_size > MAX_BYTES:
        raise DatasetError(f"{path}: larger than {MAX_BYTES >> 20} MiB. Split it, or use a smaller file.")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}). Save it as UTF-8 text.") from None


def _floats(values: list[str], path: Path, line: int, missing: tuple[str, ...] = ("?", "NaN", "nan")) -> np.ndarray:
    out = np.empty(len(values), dtype=np.float64)
    for i, value in enumerate(values):
        value = value.strip()
        if value in missing:
            out[i] = math.nan
            continue
        try:
            out[i] = float(value)
        except ValueError:
            raise DatasetError(f"{path}, line {line}: {value[:40]!r} is not a number. Fix or remove that line.") from None
        if math.isinf(out[i]):
            raise DatasetError(f"{path}, line {line}: an infinite value. Fix or remove that line.")
    return out


def _check_channels(series: list[np.ndarray], path: Path) -> None:
    channels = {s.shape[0] for s in series}
    if len(channels) > 1:
        raise DatasetError(f"{path}: series have different numbers of channels {sorted(channels)}. "
                           "Give every series the same channels.")
    if not series:
        raise DatasetError(f"{path}: no series after @data. Check that it is a UCR/UEA file with data.")


def read_ts(path: str | Path) -> RawSeries:
    """A sktime/aeon ``.ts`` file (see the module docstring)."""
    path = Path(path)
    series: list[np.ndarray] = []
    labels: list[str] = []
    header: dict[str, str] = {}
    class_names: list[str] | None = None
    regression = False
    in_data = False
    for number, raw in enumerate(_text(path).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise DatasetError(f"{path}, line {number}: expected an @ header line before @data. "
                                   "Check that it is a .ts file.")
            key, _, value = line[1:].partition(" ")
            key = key.lower()
            if key == "data":
                in_data = True
            elif key == "classlabel":
                parts = value.split()
                if parts and parts[0].lower() == "true":
                    class_names = parts[1:]
            elif key == "targetlabel":
                regression = value.strip().lower() == "true"
            else:
                header[key] = value.strip().lower()
            continue
        if header.get("timestamps") == "true":
            raise DatasetError(f"{path}: time-stamped series (@timeStamps true) are not supported. "
                               "Export the series without time stamps.")
        fields = line.split(":")
        labelled = class_names is not None or regression
        if labelled:
            if len(fields) < 2:
                raise DatasetError(f"{path}, line {number}: no ':' before the label. Each line is "
                                   "'ch1 values:ch2 values:label'.")
            label = fields[-1].strip()
            fields = fields[:-1]
            if class_names is not None and label not in class_names:
                raise DatasetError(f"{path}, line {number}: label {label[:40]!r} is not in @classLabel "
                                   f"{class_names[:20]}. Add it to the @classLabel line.")
            labels.append(label)
        channels = [_floats(f.split(","), path, number) for f in fields]
        if len({len(c) for c in channels}) > 1:
            # within one series the channels must align; unequal lengths across series are fine
            raise DatasetError(f"{path}, line {number}: its channels have different lengths "
                               f"{[len(c) for c in channels]}. Give the channels of a series the same length.")
        series.append(np.stack(channels))
    if not in_data:
        raise DatasetError(f"{path}: no @data line. Check that it is a .ts file.")
    _check_channels(series, path)
    dims = header.get("dimensions")
    if dims is not None and dims.isdigit() and int(dims) != series[0].shape[0]:
        raise DatasetError(f"{path}: @dimensions {dims} but the series have {series[0].shape[0]} channels. "
                           "Fix the @dimensions line.")
    if regression:
        values = [float(_floats([label], path, 0)[0]) for label in labels]
        return RawSeries(series, values, "regression")
    if class_names is None:
        return RawSeries(series, [], "none")
    return RawSeries(series, labels, "classification", class_names)


def _split_arff_data(line: str) -> tuple[str, str]:
    """``'v,v\\nv,v',label`` or ``v,v,...,label`` → (values, label)."""
    if line.startswith("'") or line.startswith('"'):
        quote = line[0]
        end = line.find(quote, 1)
        if end < 0:
            raise ValueError("unterminated quote")
        return line[1:end], line[end + 1 :].lstrip(",").strip()
    values, _, label = line.rpartition(",")
    return values, label.strip()


def read_arff(path: str | Path) -> RawSeries:
    """A UCR/UEA ``.arff`` file, univariate or relational multivariate (see the module docstring)."""
    path = Path(path)
    class_names: list[str] | None = None
    relational = False
    in_data = False
    series: list[np.ndarray] = []
    labels: list[str] = []
    for number, raw in enumerate(_text(path).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        lower = line.lower()
        if not in_data:
            if lower.startswith("@attribute"):
                if " relational" in lower:
                    relational = True
                elif "{" in line:
                    inside = line[line.index("{") + 1 : line.rindex("}")] if "}" in line else ""
                    class_names = [c.strip().strip("'\"") for c in inside.split(",") if c.strip()]
            elif lower.startswith("@data"):
                in_data = True
            continue
        try:
            values, label = _split_arff_data(line)
        except ValueError:
            raise DatasetError(f"{path}, line {number}: an unterminated quote. Fix that line.") from None
        label = label.strip("'\"")
        if class_names is not None and label not in class_names:
            raise DatasetError(f"{path}, line {number}: class {label[:40]!r} is not among {class_names[:20]}. "
                               "Add it to the class attribute.")
        rows = values.split("\\n") if relational else [values]
        channels = [_floats(r.split(","), path, number) for r in rows]
        if len({len(c) for c in channels}) > 1:
            raise DatasetError(f"{path}, line {number}: its channels have different lengths. "
                               "Give the channels of a series the same length.")
        series.append(np.stack(channels))
        labels.append(label)
    if not in_data:
        raise DatasetError(f"{path}: no @data line. Check that it is an .arff file.")
    _check_channels(series, path)
    if class_names is None:
        values = [float(_floats([label], path, 0)[0]) for label in labels]
        return RawSeries(series, values, "regression")
    return RawSeries(series, labels, "classification", class_names)


def _delimited(path: Path, separator: str | None) -> RawSeries:
    series: list[np.ndarray] = []
    labels: list[str] = []
    for number, raw in enumerate(_text(path).splitlines(), start=1):
        if not raw.strip():
            continue
        parts = raw.split(separator) if separator else raw.split()
        if len(parts) < 2:
            raise DatasetError(f"{path}, line {number}: a label and at least one value are needed. Fix that line.")
        values = _floats(parts[1:], path, number)
        # UCR 2018 pads shorter series with trailing NaN: strip them (inner NaN stay missing)
        last = len(values)
        while last > 0 and math.isnan(values[last - 1]):
            last -= 1
        label = parts[0].strip()
        try:
            label = repr(int(float(label))) if float(label).is_integer() else label
        except ValueError:
            pass
        series.append(values[None, :last])
        labels.append(label)
    _check_channels(series, path)
    names = sorted(set(labels), key=lambda v: (float(v) if _is_number(v) else math.inf, v))
    return RawSeries(series, labels, "classification", names)


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def read_tsv(path: str | Path) -> RawSeries:
    """A UCR-2018 ``.tsv`` file (label, then tab-separated values)."""
    return _delimited(Path(path), "\t")


def read_ucr_txt(path: str | Path) -> RawSeries:
    """An old UCR-2015 text file (label, then whitespace-separated values)."""
    return _delimited(Path(path), None)


def read_csv_windows(path: str | Path, *, label_column: str, task: str, num_channels: int) -> RawSeries:
    """A CSV of windows (see the module docstring)."""
    path = Path(path)
    rows = list(csv.reader(_text(path).splitlines()))
    if len(rows) < 2:
        raise DatasetError(f"{path}: a header and at least one window are needed. Add rows.")
    header = [h.strip() for h in rows[0]]
    if label_column and label_column not in header:
        raise DatasetError(f"{path}: no column {label_column!r} (columns: {header[:10]}...). "
                           "Set data.label_column to the label column, or '' for none.")
    label_at = header.index(label_column) if label_column else -1
    width = len(header) - (1 if label_at >= 0 else 0)
    if num_channels < 1 or width % num_channels:
        raise DatasetError(f"{path}: {width} value columns do not split into data.num_channels={num_channels} "
                           "equal channels. Set data.num_channels to a divisor of the value columns.")
    series: list[np.ndarray] = []
    labels: list[str] = []
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise DatasetError(f"{path}, line {number}: {len(row)} fields, the header has {len(header)}. Fix that row.")
        values = [v for i, v in enumerate(row) if i != label_at]
        series.append(_floats(values, path, number, missing=("", "NaN", "nan")).reshape(num_channels, -1))
        if label_at >= 0:
            labels.append(row[label_at].strip())
    _check_channels(series, path)
    if label_at < 0:
        return RawSeries(series, [], "none")
    if task == "regression":
        return RawSeries(series, [float(_floats([v], path, 0)[0]) for v in labels], "regression")
    return RawSeries(series, labels, "classification", sorted(set(labels)))


READERS = {"ts": read_ts, "arff": read_arff, "tsv": read_tsv, "txt": read_ucr_txt}


def read_series(path: Path) -> RawSeries:
    """Read ``path`` with the reader its suffix names."""
    reader = READERS.get(path.suffix.lower().lstrip("."))
    if reader is None:
        raise DatasetError(f"{path}: unknown format {path.suffix!r}. Use .ts, .arff, .tsv or .txt.")
    return reader(path)

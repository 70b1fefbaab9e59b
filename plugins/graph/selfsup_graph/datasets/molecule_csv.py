"""Reading a MoleculeNet-style CSV (a SMILES column and label columns) into featurised molecules.

Formats handled: BBBP (``smiles,p_np``), BACE (``mol,...,Class``), Tox21
(``NR-AR,...,SR-p53,mol_id,smiles`` with empty cells for missing labels) and
any CSV of the same shape. A label cell is a number or empty (missing: NaN).
A row whose SMILES RDKit cannot use is skipped: one ``RuntimeWarning`` lists
the CSV line numbers (1 = the header) and the reasons, and the count is
returned. A label cell that is not a number is a :class:`~selfsup.errors.DatasetError`.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from rdkit import Chem

from selfsup.errors import DatasetError
from selfsup.progress import ProgressBar

from .featurize import MoleculeGraph, UnsupportedMolecule, featurize_mol, parse_smiles

__all__ = ["MoleculeTable", "SkippedRow", "read_molecule_csv"]

#: Lines listed in the skip warning before "... and N more".
_WARN_LINES = 20


@dataclass(frozen=True)
class SkippedRow:
    """A CSV row that was left out: its line number (header = 1), SMILES and the reason."""

    line: int
    smiles: str
    reason: str


@dataclass
class MoleculeTable:
    """The usable rows of a CSV: graphs, canonical SMILES, float32 labels ``[rows, tasks]`` (NaN = missing)."""

    graphs: list[MoleculeGraph]
    smiles: list[str]
    labels: torch.Tensor
    tasks: list[str]
    lines: list[int]
    skipped: list[SkippedRow] = field(default_factory=list)


def read_molecule_csv(
    path: Path,
    *,
    smiles_column: str = "smiles",
    label_columns: Sequence[str] = (),
    ignore_columns: Sequence[str] = (),
    name: str | None = None,
) -> MoleculeTable:
    """Parse ``path`` (see the module docstring); ``label_columns`` empty means every other column."""
    name = name or path.stem
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise DatasetError(f"{name}: {path} is empty. Give a CSV with a header row ({smiles_column},<label columns>).")
        header = [column.strip() for column in header]
        if smiles_column not in header:
            raise DatasetError(
                f"{name}: {path} has no SMILES column {smiles_column!r} (columns: {header}). "
                f"Set data.smiles_column to the column holding the SMILES."
            )
        tasks = list(label_columns) or [c for c in header if c != smiles_column and c not in set(ignore_columns)]
        missing = [c for c in tasks if c not in header]
        if missing:
            raise DatasetError(
                f"{name}: {path} has no label column(s) {missing} (columns: {header}). "
                f"Set data.label_columns to some of these."
            )
        if not tasks:
            raise DatasetError(f"{name}: {path} has no label column besides {smiles_column!r}. Add one, or set data.label_columns.")
        smiles_at = header.index(smiles_column)
        task_at = [header.index(c) for c in tasks]
        table = MoleculeTable(graphs=[], smiles=[], labels=torch.empty(0), tasks=tasks, lines=[])
        rows: list[list[float]] = []
        bar = ProgressBar(f"data: featurising {name} molecules", None, "molecules")
        for row in reader:
            bar.update(1)
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DatasetError(
                    f"{name}: line {line} of {path} has {len(row)} fields, the header {len(header)}. "
                    f"Fix that row (quote SMILES that contain commas)."
                )
            labels = [_label(row[i], line, header[i], name, path) for i in task_at]
            text = row[smiles_at].strip()
            try:
                mol = parse_smiles(text)
                graph = featurize_mol(mol)
            except UnsupportedMolecule as exc:
                table.skipped.append(SkippedRow(line=line, smiles=text, reason=str(exc)))
                continue
            table.graphs.append(graph)
            table.smiles.append(Chem.MolToSmiles(mol))
            table.lines.append(line)
            rows.append(labels)
        bar.close()
    table.labels = torch.tensor(rows, dtype=torch.float32).reshape(len(rows), len(tasks))
    if table.skipped:
        shown = "; ".join(f"line {s.line}: {s.reason}" for s in table.skipped[:_WARN_LINES])
        more = f"; ... and {len(table.skipped) - _WARN_LINES} more" if len(table.skipped) > _WARN_LINES else ""
        warnings.warn(
            f"{name}: skipped {len(table.skipped)} of {len(table.skipped) + len(table.graphs)} molecules in {path} "
            f"({shown}{more}). Fix or remove those rows to use them.",
            RuntimeWarning,
            stacklevel=2,
        )
    if not table.graphs:
        raise DatasetError(f"{name}: no usable molecule in {path} (all {len(table.skipped)} rows were skipped). Check the SMILES column.")
    return table


def _label(cell: str, line: int, column: str, name: str, path: Path) -> float:
    text = cell.strip()
    if not text:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise DatasetError(
            f"{name}: line {line} of {path}, column {column!r}: label {cell!r} is not a number. "
            f"Use 0/1 (or a number), or leave the cell empty for a missing label."
        ) from None
    if not math.isfinite(value):
        raise DatasetError(f"{name}: line {line} of {path}, column {column!r}: label {cell!r} is not finite. Leave the cell empty for a missing label.")
    return value

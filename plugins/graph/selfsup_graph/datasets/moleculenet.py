"""``molecule-csv`` and ``bbbp``: MoleculeNet-style SMILES CSVs as a :class:`GraphSetSource` with the scaffold split.

Every row RDKit can use becomes a :class:`torch_geometric.data.Data` with the
Hu et al. index features (:mod:`.featurize`): ``x`` int64 ``[atoms, 2]``
(atom type, chirality), ``edge_index`` int64 ``[2, 2·bonds]``, ``edge_attr``
int64 ``[2·bonds, 2]`` (bond type, bond direction). Labels are float32
``[molecules, tasks]`` with NaN for an empty cell. Splits: ``train``/``val``/``test``
of the deterministic scaffold split (:mod:`.scaffold`, computed on the
canonical SMILES) and ``all``.

``info`` adds to :class:`GraphSetSource`'s: ``tasks`` (label column names),
``feature_scheme`` (``"hu2020-chem"``), ``node_categories`` ``[120, 4]``,
``edge_categories`` ``[4, 3]``, ``node_mask_token`` ``[119, 0]`` (what the GIN
and D-SLA read), ``skipped`` (rows left out) with ``skipped_lines``, and
``split`` (the protocol).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from selfsup.errors import ConfigError, DatasetError

from ..configs import BBBPConfig, MoleculeCSVConfig
from .featurize import ATOM_CATEGORIES, ATOM_MASK_TOKEN, BOND_CATEGORIES
from .graph_set import GraphSetSource
from .molecule_csv import read_molecule_csv
from .scaffold import scaffold_split

__all__ = ["MoleculeCSV", "bbbp", "resolve_csv", "FEATURE_SCHEME"]

FEATURE_SCHEME = "hu2020-chem"


def resolve_csv(config: MoleculeCSVConfig, dataset: str) -> Path:
    """The CSV file ``config`` points at: ``root`` itself, ``root/file``, or the one ``*.csv`` in ``root``."""
    if not config.root:
        raise DatasetError(
            f"{dataset} needs data.root: a MoleculeNet-style CSV (smiles + label columns) or the folder holding it, "
            f"e.g. data.root=data/bbbp."
        )
    root = Path(config.root).expanduser()
    if config.file:
        path = root / config.file
    elif root.is_dir():
        found = sorted(root.glob("*.csv"))
        if len(found) != 1:
            listing = ", ".join(p.name for p in found) or "none"
            raise DatasetError(
                f"{dataset}: {root} holds {len(found)} CSV files ({listing}); expected one. Name it with data.file=<name>.csv."
            )
        path = found[0]
    else:
        path = root
    if not path.is_file():
        raise DatasetError(f"{dataset}: {path} does not exist. Put the CSV there or point data.root (and data.file) at it.")
    return path


def MoleculeCSV(config: MoleculeCSVConfig) -> GraphSetSource:
    """The data source of the module docstring for ``config``."""
    dataset = config.name or "molecule-csv"
    path = resolve_csv(config, dataset)
    name = config.name or path.stem
    table = read_molecule_csv(
        path,
        smiles_column=config.smiles_column,
        label_columns=config.label_columns,
        ignore_columns=config.ignore_columns,
        name=name,
    )
    task = _label_task(config.task, table.labels, name)
    cv: dict[str, Any] = {}
    if config.folds is not None:
        splits, cv = _fold_splits(config, table.labels, task, name)
        split_text = f"{config.folds}-fold cross-validation, fold {config.fold} as test (seed {config.fold_seed})"
    else:
        try:
            train, val, test = scaffold_split(table.smiles, config.split_fractions, include_chirality=config.scaffold_chirality)
        except ValueError as exc:
            raise DatasetError(f"{name}: {exc}. Set data.split_fractions, e.g. [0.8, 0.1, 0.1].") from None
        splits = {"train": train, "val": val, "test": test}
        fractions = "/".join(f"{round(100 * f)}" for f in config.split_fractions)
        split_text = f"scaffold {fractions} (Bemis-Murcko, largest scaffold sets first; deterministic)"
    from torch_geometric.data import Data

    graphs = [Data(x=g.x, edge_index=g.edge_index, edge_attr=g.edge_attr) for g in table.graphs]
    source = GraphSetSource(
        name,
        graphs,
        table.labels,
        splits,
        task=task,
        node_features="atom type (atomic number - 1; 119 = mask), chirality tag (Hu et al. 2020)",
        edge_features="bond type (single, double, triple, aromatic), bond direction (none, end-up-right, end-down-right)",
        extra_info={
            "tasks": list(table.tasks),
            "feature_scheme": FEATURE_SCHEME,
            "node_categories": list(ATOM_CATEGORIES),
            "edge_categories": list(BOND_CATEGORIES),
            "node_mask_token": list(ATOM_MASK_TOKEN),
            "skipped": len(table.skipped),
            "skipped_lines": [row.line for row in table.skipped],
            "split": split_text,
            **({"cv": cv} if cv else {}),
            "source_file": path.name,
        },
    )
    source.input_state = {"reader": "smiles", "smiles_column": config.smiles_column}  # selfsup embed
    return source


def _label_task(task: str, labels: torch.Tensor, name: str) -> str:
    """``data.task``, with ``auto`` read from the file: 0/1/empty labels are binary tasks, others regression."""
    if task not in ("auto", "multilabel", "regression"):
        raise ConfigError(f"{name}: data.task={task!r} is not one of auto, multilabel, regression. Use data.task=regression for real-valued targets.")
    if task != "auto":
        return task
    known = labels[~torch.isnan(labels)]
    return "multilabel" if bool(((known == 0) | (known == 1)).all()) else "regression"


def _fold_splits(
    config: MoleculeCSVConfig, labels: torch.Tensor, task: str, name: str
) -> tuple[dict[str, list[int]], dict[str, Any]]:
    from selfsup.folds import check_fold, fold_info, kfold_split

    check_fold(config.folds, config.fold, dataset=name, rows=labels.shape[0])
    single = labels.shape[1] == 1 and task == "multilabel" and not bool(torch.isnan(labels).any())
    strata = labels[:, 0].long() if single else None
    train, test = kfold_split(labels.shape[0], int(config.folds), int(config.fold), seed=config.fold_seed, strata=strata)
    return {"train": train, "test": test}, fold_info(int(config.folds), int(config.fold), config.fold_seed, stratified=single)


def bbbp(config: BBBPConfig) -> GraphSetSource:
    """MoleculeNet BBBP (``smiles,p_np``) from ``data.root`` (a folder with ``bbbp.csv``, or the file)."""
    return MoleculeCSV(config)

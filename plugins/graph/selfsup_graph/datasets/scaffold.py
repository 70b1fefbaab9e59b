"""The deterministic Bemis-Murcko scaffold split of the molecular pretraining papers.

Follows ``DongkiKim95/D-SLA:transferLearning_MoleculeNet_PPI/chem/splitters.py``
``scaffold_split`` (Hu et al. 2020, itself from DeepChem):

1. scaffold of each molecule = ``MurckoScaffold.MurckoScaffoldSmiles(smiles,
   includeChirality=True)``;
2. group molecule indices by scaffold, each group sorted;
3. order the groups by ``(size, first index)``, largest first (``reverse=True``,
   so among equal sizes the group whose first index is larger comes first);
4. walk the groups: a group goes to train unless that would exceed
   ``frac_train · N``; then to val unless train + val would exceed
   ``(frac_train + frac_val) · N``; else to test.

No randomness: the split depends on the SMILES and their order only. Every
scaffold lies in exactly one split.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["murcko_scaffold", "scaffold_split"]


def murcko_scaffold(smiles: str, *, include_chirality: bool = True) -> str:
    """The Bemis-Murcko scaffold SMILES of ``smiles`` (``""`` for acyclic molecules)."""
    from rdkit import rdBase
    from rdkit.Chem.Scaffolds import MurckoScaffold

    with rdBase.BlockLogs():
        return MurckoScaffold.MurckoScaffoldSmiles(smiles=smiles, includeChirality=include_chirality)


def scaffold_split(
    smiles: Sequence[str],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    *,
    include_chirality: bool = True,
) -> tuple[list[int], list[int], list[int]]:
    """``(train, val, test)`` index lists of the scaffold split (module docstring); fractions must sum to 1."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1, got {list(fractions)}")
    groups: dict[str, list[int]] = {}
    for index, text in enumerate(smiles):
        groups.setdefault(murcko_scaffold(text, include_chirality=include_chirality), []).append(index)
    ordered = sorted(groups.values(), key=lambda members: (len(members), members[0]), reverse=True)
    train_cutoff = fractions[0] * len(smiles)
    val_cutoff = (fractions[0] + fractions[1]) * len(smiles)
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    for members in ordered:
        if len(train) + len(members) > train_cutoff:
            if len(train) + len(val) + len(members) > val_cutoff:
                test.extend(members)
            else:
                val.extend(members)
        else:
            train.extend(members)
    return train, val, test

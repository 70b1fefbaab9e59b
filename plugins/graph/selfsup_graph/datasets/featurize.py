"""RDKit molecules to index features: the 2 atom and 2 bond features of Hu et al. 2020, used by D-SLA.

Following ``DongkiKim95/D-SLA:transferLearning_MoleculeNet_PPI/chem/loader.py``
(``allowable_features``, ``mol_to_graph_data_obj_simple``):

* atom ``[atom type, chirality]``: atom type = atomic number − 1 (0..117 for
  H..Og); chirality = index in (CHI_UNSPECIFIED, CHI_TETRAHEDRAL_CW,
  CHI_TETRAHEDRAL_CCW, CHI_OTHER). The GIN's atom-type table has 120 rows:
  118 and 119 are extra tokens, 119 the mask token D-SLA writes into masked
  atoms (``[119, 0]``);
* bond ``[bond type, bond direction]``: type index in (SINGLE, DOUBLE, TRIPLE,
  AROMATIC); direction index in (NONE, ENDUPRIGHT, ENDDOWNRIGHT). Each bond is
  stored twice, ``(i, j)`` then ``(j, i)``, with the same attributes.

Where the official code would crash (``list.index`` of a value outside its
vocabulary), this module decides: atomic number 0 (``*``) or > 118, and bond
types outside the four (dative, quadruple, ...), make the molecule
unfeaturisable (:class:`UnsupportedMolecule`, a counted skip in the loader);
chiral tags newer than the four (RDKit's allene, square-planar, ...) map to
CHI_OTHER; bond directions other than the three (wedges, EITHERDOUBLE) map to
NONE (they do not come out of SMILES parsing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from rdkit import Chem

__all__ = [
    "ATOM_CATEGORIES",
    "BOND_CATEGORIES",
    "ATOM_MASK_TOKEN",
    "MoleculeGraph",
    "UnsupportedMolecule",
    "featurize_mol",
    "parse_smiles",
]

#: Rows of the atom embeddings: 118 elements + 2 extra tokens (119 = mask); chirality 4 tags.
ATOM_CATEGORIES: tuple[int, int] = (120, 4)
#: Values of the bond features: 4 bond types, 3 directions (the GIN adds self-loop and mask rows).
BOND_CATEGORIES: tuple[int, int] = (4, 3)
#: What D-SLA writes into a masked atom (``attr_mask``: ``torch.tensor([119, 0])``).
ATOM_MASK_TOKEN: tuple[int, int] = (119, 0)

_CHIRALITY = {
    Chem.rdchem.ChiralType.CHI_UNSPECIFIED: 0,
    Chem.rdchem.ChiralType.CHI_TETRAHEDRAL_CW: 1,
    Chem.rdchem.ChiralType.CHI_TETRAHEDRAL_CCW: 2,
    Chem.rdchem.ChiralType.CHI_OTHER: 3,
}
_BOND_TYPE = {
    Chem.rdchem.BondType.SINGLE: 0,
    Chem.rdchem.BondType.DOUBLE: 1,
    Chem.rdchem.BondType.TRIPLE: 2,
    Chem.rdchem.BondType.AROMATIC: 3,
}
_BOND_DIR = {
    Chem.rdchem.BondDir.NONE: 0,
    Chem.rdchem.BondDir.ENDUPRIGHT: 1,
    Chem.rdchem.BondDir.ENDDOWNRIGHT: 2,
}


class UnsupportedMolecule(ValueError):
    """A SMILES that does not parse, has no atoms, or holds an atom or bond outside the vocabulary."""


@dataclass(frozen=True)
class MoleculeGraph:
    """One molecule: ``x`` int64 ``[atoms, 2]``, ``edge_index`` int64 ``[2, 2·bonds]``, ``edge_attr`` int64 ``[2·bonds, 2]``."""

    x: torch.Tensor
    edge_index: torch.Tensor
    edge_attr: torch.Tensor


def parse_smiles(smiles: str) -> Chem.Mol:
    """RDKit's sanitised molecule, or :class:`UnsupportedMolecule` with RDKit's reason (its log is silenced)."""
    from rdkit import rdBase

    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise UnsupportedMolecule(f"RDKit cannot parse SMILES {smiles!r}")
    if mol.GetNumAtoms() == 0:
        raise UnsupportedMolecule(f"SMILES {smiles!r} has no atoms")
    return mol


def featurize_mol(mol: Chem.Mol) -> MoleculeGraph:
    """The Hu et al. index features of ``mol`` (see the module docstring). A molecule without bonds has ``E = 0``."""
    atoms = []
    for atom in mol.GetAtoms():
        number = atom.GetAtomicNum()
        if not 1 <= number <= 118:
            raise UnsupportedMolecule(f"atom {atom.GetIdx()} has atomic number {number} (supported: 1..118)")
        atoms.append((number - 1, _CHIRALITY.get(atom.GetChiralTag(), 3)))
    pairs, attrs = [], []
    for bond in mol.GetBonds():
        bond_type = _BOND_TYPE.get(bond.GetBondType())
        if bond_type is None:
            raise UnsupportedMolecule(f"bond {bond.GetIdx()} has type {bond.GetBondType()} (supported: single, double, triple, aromatic)")
        attr = (bond_type, _BOND_DIR.get(bond.GetBondDir(), 0))
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        pairs += [(i, j), (j, i)]
        attrs += [attr, attr]
    x = torch.from_numpy(np.asarray(atoms, dtype=np.int64).reshape(-1, 2))
    edge_index = torch.from_numpy(np.asarray(pairs, dtype=np.int64).reshape(-1, 2).T.copy())
    edge_attr = torch.from_numpy(np.asarray(attrs, dtype=np.int64).reshape(-1, 2))
    return MoleculeGraph(x=x, edge_index=edge_index, edge_attr=edge_attr)

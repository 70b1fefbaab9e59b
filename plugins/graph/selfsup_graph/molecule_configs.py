"""Config dataclasses of the graph-level (molecular) components: MoleculeNet CSVs, GIN/GCN, D-SLA.

Standard library only (``plugin.py`` imports it), OmegaConf structured-config
compatible. Kept apart from :mod:`selfsup_graph.configs` (the node-level
components) so the two halves of the plugin change independently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

__all__ = ["MoleculeNetConfig", "BBBPConfig", "GINConfig", "GraphGCNConfig", "DSLAConfig"]


@dataclass
class MoleculeNetConfig:
    """A MoleculeNet-style CSV of SMILES and 0/1 labels (one or more tasks), featurised with RDKit.

    Atoms become ``[atom type, chirality]`` and bonds ``[bond type, bond
    direction]`` index pairs (Hu et al. 2020, the features D-SLA uses). An empty
    label cell is a missing label (NaN). A SMILES RDKit cannot parse (or with an
    element/bond outside the vocabulary, or no atoms) is skipped with a warning
    naming its line; the count is ``info["skipped"]``. Splits: the deterministic
    Bemis-Murcko scaffold split (``train``/``val``/``test``) and ``all``.
    """

    #: A CSV file, or a folder holding exactly one ``*.csv`` (or the file named by ``file``).
    root: Optional[str] = None
    #: The CSV's file name inside ``root`` when ``root`` is a folder.
    file: Optional[str] = None
    #: Column holding the SMILES strings.
    smiles_column: str = "smiles"
    #: Label columns (tasks); empty: every column except ``smiles_column`` (and ``ignore_columns``).
    label_columns: list[str] = field(default_factory=list)
    #: Columns that are neither SMILES nor labels (ids, names, fold columns).
    ignore_columns: list[str] = field(default_factory=list)
    #: Scaffold-split fractions (train, val, test), as in Hu et al. / D-SLA (80/10/10).
    split_fractions: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    #: Scaffolds with chirality (``MurckoScaffoldSmiles(includeChirality=True)``, as ``splitters.scaffold_split``).
    scaffold_chirality: bool = True
    #: A name for messages and ``info["name"]``; ``None``: the CSV's stem.
    name: Optional[str] = None


@dataclass
class BBBPConfig(MoleculeNetConfig):
    """MoleculeNet BBBP (blood-brain-barrier penetration): ``smiles,p_np``, one binary task."""

    label_columns: list[str] = field(default_factory=lambda: ["p_np"])
    name: Optional[str] = "bbbp"


@dataclass
class GINConfig:
    """Graph-level GIN of Hu et al. 2020 (the D-SLA encoder): embeddings of atoms/bonds, GIN layers, pooling.

    Defaults are D-SLA's pretraining GNN (``DongkiKim95/D-SLA:transferLearning_MoleculeNet_PPI/chem/model.py``
    ``GNN``; ``pretrain_DSLA.py`` arguments): 5 layers, width 300, JK ``last``,
    dropout 0, mean pooling (``GNNWrapper``, ``GNN_graphpred(graph_pooling="mean")``).
    """

    num_layers: int = 5
    #: Width of every layer and of the graph embedding (``embed_dim``).
    hidden_dim: int = 300
    #: Dropout after every layer (0 in D-SLA pretraining; Hu et al. fine-tune with 0.5).
    dropout: float = 0.0
    #: Graph readout: ``mean`` (D-SLA) or ``sum``.
    pooling: str = "mean"
    #: Jumping knowledge: ``last`` (D-SLA) — the node representation is the last layer's output.
    jk: str = "last"


@dataclass
class GraphGCNConfig(GINConfig):
    """Graph-level GCN of Hu et al. 2020 (``GCNConv`` with bond embeddings, symmetric normalisation)."""


@dataclass
class DSLAConfig:
    """D-SLA (Kim, Baek & Hwang, NeurIPS 2022): discrepancy learning against perturbed candidates.

    Defaults are the official chem pretraining settings
    (``DongkiKim95/D-SLA:transferLearning_MoleculeNet_PPI/chem/pretrain_DSLA.py`` and its README
    command: ``--edit_learn --add_strong_pert --margin_learn --margin 5.0``).
    """

    #: Weakly perturbed candidates besides the original (``num_candidates`` 4 = original + 3).
    num_perturbed: int = 3
    #: Add the strongly perturbed candidate (``--add_strong_pert``).
    strong_perturbation: bool = True
    #: Fraction of subgraph nodes masked in every candidate (``mask_strength``).
    mask_strength: float = 0.8
    #: Edges edited in candidate i: max(1, floor(E_sub * edge_pert_strength * i)) (``edge_pert_strength``).
    edge_pert_strength: float = 0.2
    #: Hops of the perturbed subgraph around a random centre node (``k``).
    num_hops: int = 3
    #: Weight of the edit-distance loss (``edit_coeff``); 0 switches it off.
    edit_coeff: float = 0.7
    #: Weight of the margin loss (``margin_coeff``); 0 switches it off.
    margin_coeff: float = 0.5
    #: Margin α of the margin loss (``--margin``: 5 for chem, 10 for bio).
    margin: float = 5.0
    #: Attributes of added edges: ``zinc`` (the official fixed bond statistics; needs Hu bond features),
    #: ``batch`` (copied from a random existing edge of the batch) or ``auto`` (``zinc`` for molecules).
    added_edge_attributes: str = "auto"

"""Config dataclass of the ``d-sla`` objective (standard library only: ``plugin.py`` imports it).

OmegaConf structured-config compatible. The molecule datasets' and GNN encoders'
configs live in :mod:`selfsup_graph.configs`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DSLAConfig"]


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

"""D-SLA (Kim, Baek & Hwang, "Graph Self-supervised Learning with Accurate Discrepancy Learning", NeurIPS 2022).

Official code: ``DongkiKim95/D-SLA:transferLearning_MoleculeNet_PPI/chem/pretrain_DSLA.py``
(``GNNWrapper``, ``train``) and ``.../chem/loader.py`` (``MoleculeDataset_candidate``).

One training step on a batch of B graphs (``batch["graph"]``, a torch-geometric ``Batch``):

1. :func:`selfsup_graph.dsla_candidates.make_candidates` builds C = 1 + P (+1 strong)
   candidates per graph with edit distances e known by construction (masked
   original, P weak edge perturbations of growing strength inside a k-hop
   subgraph, one strong perturbation of the whole graph), as one batch of B·C graphs;
2. the encoder (any graph-level encoder reading ``batch["graph"]``; ``gin`` in the
   paper) embeds all B·C candidates at once: h ``[B, C, D]``;
3. the score head S = MLP(D → D → D → 1, ReLU) scores every candidate (``score_func``);
4. L = L_GD(S) + λ_e·L_edit(h, e) + λ_m·L_margin(h without the strong candidate, α)
   with :mod:`..losses.dsla_discrimination`, :mod:`..losses.dsla_edit` and
   :mod:`..losses.dsla_margin`; λ_e = 0.7, λ_m = 0.5, α = 5 (chem defaults,
   README command ``--edit_learn --add_strong_pert --margin_learn --margin 5.0 --lr 0.001``).

Logged beside ``loss``: ``gd``, ``edit``, ``margin``, ``gd_accuracy`` (the
fraction of graphs whose original gets the top score; chance 1/C) and
``edit_order`` (the fraction of candidate pairs with e_i < e_j whose embedding
distances are ordered the same way, d_i < d_j: a rank-agreement check that the
distances follow the edit distances). All stay on the device.

Only the encoder is kept for downstream use; the score head is pretraining-only.
Node masks use ``data_info["node_mask_token"]`` (``[119, 0]`` for Hu-featurised
molecules) or zeros for float features. Added edges get the official ZINC bond
statistics on Hu-featurised molecules (``feature_scheme == "hu2020-chem"``) and
the attributes of a random existing edge otherwise (``added_edge_attributes=auto``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from selfsup.errors import ConfigError, DatasetError
from selfsup.interfaces import Batch, Objective, StepOutput

from ..dsla_candidates import make_candidates
from ..losses.dsla_discrimination import discrimination_accuracy, graph_discrimination_loss
from ..losses.dsla_edit import candidate_distances, edit_distance_loss
from ..losses.dsla_margin import margin_loss
from ..dsla_config import DSLAConfig

__all__ = ["DSLA", "score_head", "edit_order_agreement", "resolve_added_edge_attributes"]

HU_CHEM = "hu2020-chem"


def score_head(dim: int) -> nn.Sequential:
    """The discriminator S: Linear(D, D), ReLU, Linear(D, D), ReLU, Linear(D, 1) (``GNNWrapper.score_func``)."""
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, 1))


def edit_order_agreement(distances: torch.Tensor, edit_distance: torch.Tensor) -> torch.Tensor:
    """Among candidate pairs (i, j) of a graph with 0 < e_i < e_j, the fraction with d_i < d_j (0-d tensor).

    ``distances`` ``[B, C−1]`` (‖h_i − h_0‖), ``edit_distance`` ``[B, C]``. 0.5 means no
    relation; 1 means the embedding distances rank the candidates as the edits do.
    """
    edits = edit_distance[:, 1:].to(distances.dtype)
    ordered = (edits.unsqueeze(2) < edits.unsqueeze(1)) & (edits.unsqueeze(2) > 0)
    agree = (distances.unsqueeze(2) < distances.unsqueeze(1)) & ordered
    return agree.sum().to(distances.dtype) / ordered.sum().clamp_min(1).to(distances.dtype)


def resolve_added_edge_attributes(choice: str, data_info: Mapping[str, Any]) -> str:
    """``zinc`` or ``batch`` for ``objective_config.added_edge_attributes`` (``auto``: ``zinc`` for Hu molecules)."""
    if choice == "auto":
        return "zinc" if data_info.get("feature_scheme") == HU_CHEM else "batch"
    if choice not in ("zinc", "batch"):
        raise ConfigError(f"d-sla: added_edge_attributes must be auto, zinc or batch, got {choice!r}. Use auto.")
    if choice == "zinc" and int(data_info.get("num_edge_features", 0)) < 2:
        raise ConfigError(
            "d-sla: added_edge_attributes=zinc needs Hu bond features [bond type, bond direction] "
            f"(num_edge_features >= 2, got {data_info.get('num_edge_features', 0)}). Use auto or batch."
        )
    return choice


def _check(config: DSLAConfig) -> None:
    problems = []
    if config.num_perturbed < 1:
        problems.append(f"num_perturbed must be >= 1 (got {config.num_perturbed}; the paper uses 3)")
    if not 0.0 <= config.mask_strength <= 1.0:
        problems.append(f"mask_strength must be in [0, 1] (got {config.mask_strength}; the paper uses 0.8)")
    if config.edge_pert_strength <= 0.0:
        problems.append(f"edge_pert_strength must be > 0 (got {config.edge_pert_strength}; the paper uses 0.2)")
    if config.num_hops < 1:
        problems.append(f"num_hops must be >= 1 (got {config.num_hops}; the paper uses 3)")
    for name in ("edit_coeff", "margin_coeff", "margin"):
        if getattr(config, name) < 0.0:
            problems.append(f"{name} must be >= 0 (got {getattr(config, name)})")
    if problems:
        raise ConfigError("d-sla: " + "; ".join(problems) + ". Fix objective_config accordingly.")


class DSLA(Objective):
    """D-SLA: graph discrimination + edit-distance + margin losses on perturbed candidates (module docstring)."""

    def __init__(self, config: DSLAConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder)
        _check(config)
        self.config = dataclasses.asdict(config)
        self.num_perturbed = int(config.num_perturbed)
        self.strong = bool(config.strong_perturbation)
        self.mask_strength = float(config.mask_strength)
        self.edge_pert_strength = float(config.edge_pert_strength)
        self.num_hops = int(config.num_hops)
        self.edit_coeff = float(config.edit_coeff)
        self.margin_coeff = float(config.margin_coeff)
        self.margin = float(config.margin)
        self.added_edge_attributes = resolve_added_edge_attributes(config.added_edge_attributes, data_info)
        token = data_info.get("node_mask_token")
        self.mask_token = None if token is None else [float(v) for v in token]
        embed_dim = getattr(encoder, "embed_dim", None)
        if not isinstance(embed_dim, int) or embed_dim < 1:
            raise ConfigError(f"d-sla: the encoder {type(encoder).__name__} has no integer embed_dim. Use a graph-level encoder such as gin.")
        self.score = score_head(embed_dim)

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        graph = batch.get("graph") if isinstance(batch, Mapping) else None
        if graph is None or getattr(graph, "edge_index", None) is None:
            raise DatasetError(
                "d-sla needs graph-level batches {'graph': torch_geometric Batch, ...}; got keys "
                f"{sorted(batch) if isinstance(batch, Mapping) else type(batch).__name__}. Use a graph-set dataset such as bbbp or mutag."
            )
        candidates = make_candidates(
            graph,
            num_perturbed=self.num_perturbed,
            strong=self.strong,
            mask_strength=self.mask_strength,
            edge_pert_strength=self.edge_pert_strength,
            num_hops=self.num_hops,
            mask_token=self.mask_token,
            added_edge_attributes=self.added_edge_attributes,
        )
        count = candidates.num_candidates
        embeddings = self.encoder({"graph": candidates.graph})
        representations = embeddings.reshape(-1, count, embeddings.shape[-1])
        scores = self.score(representations).squeeze(-1).float()
        discrimination = graph_discrimination_loss(scores)
        edits = candidates.edit_distance
        edit = edit_distance_loss(representations, edits)
        weak = representations[:, : 1 + self.num_perturbed]
        margin = margin_loss(weak, self.margin)
        loss = discrimination + self.edit_coeff * edit + self.margin_coeff * margin
        with torch.no_grad():
            accuracy = discrimination_accuracy(scores)
            order = edit_order_agreement(candidate_distances(representations.detach()), edits)
        return {
            "loss": loss,
            "gd": discrimination.detach(),
            "edit": edit.detach(),
            "margin": margin.detach(),
            "gd_accuracy": accuracy,
            "edit_order": order,
        }

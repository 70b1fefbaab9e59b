"""``sbm-graphs``: a generated graph-classification set (needs no files), the graph-level
counterpart of ``sbm`` for objectives that need graph-level batches (D-SLA).

Class 0 graphs are Erdős–Rényi graphs; class 1 graphs are two-community stochastic block models
with the same expected number of edges, so the class is in the structure, not in the features.
Node features are ``num_features`` Gaussian values (no class information). Each graph has between
``min_nodes`` and ``max_nodes`` nodes; both edge directions are stored, as torch-geometric expects.
"""

from __future__ import annotations

import torch

from selfsup.errors import DatasetError

from ..configs import SBMGraphsConfig
from .graph_set import GraphSetSource
from .tu import stratified_split

__all__ = ["SBMGraphs", "make_graph"]


def make_graph(nodes: int, two_communities: bool, config: SBMGraphsConfig, generator: torch.Generator):
    """``(x [n, F], edge_index [2, 2E])`` of one graph: ER at the SBM's expected density, or the SBM."""
    from torch_geometric.data import Data

    community = torch.arange(nodes) % 2
    same = community[:, None] == community[None, :]
    sbm = torch.where(same, torch.tensor(config.p_in), torch.tensor(config.p_out))
    pairs = nodes * (nodes - 1) / 2
    same_pairs = float(torch.triu(same, diagonal=1).sum())
    density = (config.p_in * same_pairs + config.p_out * (pairs - same_pairs)) / pairs
    prob = sbm if two_communities else torch.full((nodes, nodes), density)
    upper = torch.triu(torch.rand(nodes, nodes, generator=generator) < prob, diagonal=1).nonzero().T
    edge_index = torch.cat([upper, upper.flip(0)], dim=1).contiguous()
    x = torch.randn(nodes, config.num_features, generator=generator)
    return Data(x=x, edge_index=edge_index)


class SBMGraphs(GraphSetSource):
    """The ``sbm-graphs`` dataset; see :class:`~selfsup_graph.configs.SBMGraphsConfig`.

    Splits ``train``/``val``/``test``: a seeded class-stratified 60/20/20 split of the graphs.
    """

    def __init__(self, config: SBMGraphsConfig) -> None:
        if config.num_graphs < 10 or not 2 <= config.min_nodes <= config.max_nodes:
            raise DatasetError(
                f"sbm-graphs: num_graphs={config.num_graphs}, min_nodes={config.min_nodes}, max_nodes="
                f"{config.max_nodes}: need num_graphs >= 10 and 2 <= min_nodes <= max_nodes. Fix data.*."
            )
        for key in ("p_in", "p_out"):
            if not 0.0 <= getattr(config, key) <= 1.0:
                raise DatasetError(f"sbm-graphs: {key}={getattr(config, key)} is not a probability. Set data.{key} in [0, 1].")
        generator = torch.Generator().manual_seed(config.seed)
        labels = torch.arange(config.num_graphs) % 2
        labels = labels[torch.randperm(config.num_graphs, generator=generator)]
        sizes = torch.randint(config.min_nodes, config.max_nodes + 1, (config.num_graphs,), generator=generator)
        graphs = [make_graph(int(n), bool(y), config, generator) for n, y in zip(sizes, labels)]
        super().__init__(
            "sbm-graphs", graphs, labels, stratified_split(labels, 0.2, 0.2, config.seed), num_classes=2,
            node_features=f"{config.num_features} Gaussian values (no class information)",
            task="binary", extra_info={"generator": "ER (class 0) vs two-community SBM (class 1)"},
        )

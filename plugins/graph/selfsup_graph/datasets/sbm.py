"""``sbm``: a generated stochastic block model with informative node features (needs no files)."""

from __future__ import annotations

import torch

from selfsup.errors import DatasetError

from ..configs import SBMConfig
from .source import NodeGraphSource

__all__ = ["StochasticBlockModel", "make_sbm"]


def make_sbm(config: SBMConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x [N, F], edge_index [2, E] upper-triangular, labels [N])`` from one private generator.

    Communities are balanced (node ``i`` is in ``i % K``, then nodes are shuffled);
    each unordered pair is an edge with probability ``p_in`` inside a community
    and ``p_out`` across; features are ``feature_signal * mu_c + N(0, I)`` with
    ``mu_c ~ N(0, I)``.
    """
    g = torch.Generator().manual_seed(config.seed)
    n, k = config.num_nodes, config.num_classes
    labels = (torch.arange(n) % k)[torch.randperm(n, generator=g)]
    means = torch.randn(k, config.num_features, generator=g) * config.feature_signal
    x = means[labels] + torch.randn(n, config.num_features, generator=g)
    same = labels[:, None] == labels[None, :]
    prob = torch.where(same, torch.tensor(config.p_in), torch.tensor(config.p_out))
    draws = torch.rand(n, n, generator=g) < prob
    upper = torch.triu(draws, diagonal=1)
    edge_index = upper.nonzero().T.contiguous()
    return x, edge_index, labels


class StochasticBlockModel(NodeGraphSource):
    """The ``sbm`` dataset: see :class:`~selfsup_graph.configs.SBMConfig`.

    Splits ``train``/``val``/``test`` (a seeded 60/20/20 node split, for probes) and ``all`` (every node).
    """

    def __init__(self, config: SBMConfig) -> None:
        if config.num_classes < 2 or config.num_nodes < 2 * config.num_classes:
            raise DatasetError(
                f"sbm: num_nodes={config.num_nodes} and num_classes={config.num_classes} need "
                "num_classes >= 2 and num_nodes >= 2 * num_classes. Raise data.num_nodes."
            )
        for key in ("p_in", "p_out"):
            value = getattr(config, key)
            if not 0.0 <= value <= 1.0:
                raise DatasetError(f"sbm: {key}={value} is not a probability in [0, 1]. Set data.{key} in [0, 1].")
        if config.num_features < 1:
            raise DatasetError(f"sbm: num_features={config.num_features} must be >= 1.")
        x, edge_index, labels = make_sbm(config)
        # node-level probes get a seeded 60/20/20 train/val/test split of the nodes
        order = torch.randperm(config.num_nodes, generator=torch.Generator().manual_seed(config.seed + 1))
        cut1, cut2 = int(0.6 * config.num_nodes), int(0.8 * config.num_nodes)
        masks = {}
        for split, index in (("train", order[:cut1]), ("val", order[cut1:cut2]), ("test", order[cut2:])):
            masks[split] = torch.zeros(config.num_nodes, dtype=torch.bool)
            masks[split][index] = True
        super().__init__("sbm", x, edge_index, labels, masks, config.num_classes)

"""Adjacency helpers shared by the data sources and the objectives (torch only)."""

from __future__ import annotations

import torch

__all__ = ["undirected_edge_index", "row_normalized_adjacency", "contrastive_target"]


def undirected_edge_index(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Symmetrise, drop self-loops and duplicates: ``[2, E]`` int64 with both directions, sorted.

    An empty input gives an empty ``[2, 0]`` tensor. Raises ``ValueError`` on
    indices outside ``[0, num_nodes)``.
    """
    edge_index = torch.as_tensor(edge_index, dtype=torch.long).reshape(2, -1)
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"edge_index holds node ids outside [0, {num_nodes}).")
    both = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    both = both[:, both[0] != both[1]]
    keys = torch.unique(both[0] * num_nodes + both[1])
    return torch.stack([keys // num_nodes, keys % num_nodes])


def row_normalized_adjacency(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    r"""Â = D⁻¹(A + I) as a sparse COO tensor ``[N, N]`` (float32).

    ``A`` is the symmetric 0/1 adjacency of ``edge_index`` (self-loops and
    duplicates dropped first), ``D`` the row sums of ``A + I``. This is SCGC's
    ``load_graph`` (``gayanku/SCGC:utils.py``: symmetrise, ``+ sp.eye``,
    ``normalize`` by rows). A graph with no edges gives Â = I.
    """
    edges = undirected_edge_index(edge_index, num_nodes).to(edge_index.device)
    loops = torch.arange(num_nodes, device=edge_index.device)
    index = torch.cat([edges, torch.stack([loops, loops])], dim=1)
    degree = torch.bincount(index[0], minlength=num_nodes).to(torch.float32)
    values = 1.0 / degree[index[0]]
    with torch.sparse.check_sparse_tensor_invariants(enable=True):
        return torch.sparse_coo_tensor(index, values, (num_nodes, num_nodes)).coalesce()


def contrastive_target(edge_index: torch.Tensor, num_nodes: int, order: int, *, cumulative: bool) -> torch.Tensor:
    r"""The dense ``[N, N]`` soft-positive matrix T of SCGC / SCGC*.

    * ``cumulative=False`` (SCGC): T = Â^r;
    * ``cumulative=True`` (SCGC*, "influence-augmented"): T = Σ_{k=1}^{r} Â^k,

    with Â from :func:`row_normalized_adjacency`. Mirrors ``get_A_r_flex`` in
    ``gayanku/SCGC:train.py``; the powers are taken as sparse @ dense products.
    """
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}.")
    adj = row_normalized_adjacency(edge_index, num_nodes)
    power = adj.to_dense()
    target = power.clone()
    for _ in range(order - 1):
        power = torch.sparse.mm(adj, power)
        target = target + power if cumulative else power
    return target

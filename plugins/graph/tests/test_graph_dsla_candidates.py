"""D-SLA candidates: edit distances known by construction and equal to the real edits, masks, symmetry."""

from __future__ import annotations

import math

import pytest
import torch
from torch_geometric.data import Batch, Data

from selfsup.errors import ConfigError
from selfsup_graph.dsla_candidates import choose_per_group, intra_group_pairs, k_hop_mask, make_candidates

MASK = [119.0, 0.0]


def _graph(num_nodes: int, pairs: list[tuple[int, int]], bond: int = 0) -> Data:
    """A Hu-featurised molecule-like graph: x = [atom type, 0], both directions of each bond, attr [bond, 0]."""
    x = torch.stack([torch.arange(num_nodes) % 5 + 5, torch.zeros(num_nodes, dtype=torch.long)], dim=1)
    if pairs:
        u, v = torch.tensor(pairs).T
        edge_index = torch.cat([torch.stack([u, v]), torch.stack([v, u])], dim=1)
    else:
        edge_index = torch.zeros(2, 0, dtype=torch.long)
    edge_attr = torch.stack([torch.full((edge_index.shape[1],), bond), torch.zeros(edge_index.shape[1], dtype=torch.long)], dim=1)
    return Data(x=x, edge_index=edge_index, edge_attr=edge_attr)


def _graphs() -> list[Data]:
    ring = [(i, (i + 1) % 6) for i in range(6)]
    naphthalene = [(i, (i + 1) % 10) for i in range(10)] + [(0, 5)]
    chain = [(i, i + 1) for i in range(11)]
    star = [(0, i) for i in range(1, 8)]
    return [_graph(6, ring, 3), _graph(10, naphthalene, 3), _graph(1, []), _graph(2, [(0, 1)], 1), _graph(12, chain), _graph(8, star)]


def _edge_set(edge_index: torch.Tensor, offset: int, n: int) -> set[tuple[int, int]]:
    local = edge_index - offset
    keep = (local >= 0).all(0) & (local < n).all(0)
    return {(int(a), int(b)) for a, b in local[:, keep].T}


def _within(edge_index: torch.Tensor, ptr: torch.Tensor, g: int) -> set[tuple[int, int]]:
    return _edge_set(edge_index, int(ptr[g]), int(ptr[g + 1] - ptr[g]))


def test_candidates_edit_distance_equals_the_real_edits() -> None:
    torch.manual_seed(0)
    graphs = _graphs()
    batch = Batch.from_data_list(graphs)
    out = make_candidates(batch, mask_token=MASK)
    C = out.num_candidates
    assert C == 5 and out.graph.num_graphs == len(graphs) * C
    assert out.edit_distance.shape == (len(graphs), C)
    ptr = out.graph.ptr
    for b, g in enumerate(graphs):
        n = g.num_nodes
        original = {(int(a), int(c)) for a, c in g.edge_index.T}
        undirected = {tuple(sorted(e)) for e in original}
        for c in range(C):
            index = b * C + c
            assert int(ptr[index + 1] - ptr[index]) == n
            edges = _within(out.graph.edge_index, ptr, index)
            assert all((v, u) in edges for u, v in edges), "not symmetric"
            assert all(u != v for u, v in edges), "self-loop added"
            directed_count = int(((out.graph.edge_index[0] >= ptr[index]) & (out.graph.edge_index[0] < ptr[index + 1])).sum())
            assert directed_count == len(edges), "duplicate edge"
            und = {tuple(sorted(e)) for e in edges}
            changed = len(und ^ undirected)
            assert out.edit_distance[b, c].item() == changed / 2
            if c == 0:
                assert und == undirected
        # weak candidates: e_i = max(1, floor(E_sub * 0.2 * i)) or what the graph allows; non-decreasing
        weak = out.edit_distance[b, 1:4]
        assert torch.all(weak[1:] >= weak[:-1])
    # the single atom cannot be edited; the others are, with the strong candidate editing the most
    assert out.edit_distance[2].tolist() == [0.0] * 5
    for b in (0, 1, 4, 5):
        assert out.edit_distance[b, 1] >= 1 and out.edit_distance[b, 4] >= out.edit_distance[b, 3]


def test_strong_candidate_budget_is_floor_of_four_fifths_of_all_edges() -> None:
    torch.manual_seed(1)
    chain = _graph(30, [(i, i + 1) for i in range(29)])
    out = make_candidates(Batch.from_data_list([chain]), mask_token=MASK)
    assert out.edit_distance[0, 4].item() == math.floor(29 * 0.2 * 4)


def test_weak_edits_stay_inside_the_k_hop_subgraph_and_masks_are_counted() -> None:
    torch.manual_seed(2)
    chain = _graph(40, [(i, i + 1) for i in range(39)])
    out = make_candidates(Batch.from_data_list([chain]), mask_token=MASK, num_hops=3)
    x = out.graph.x.view(5, 40, 2)
    masked = (x == torch.tensor(MASK, dtype=x.dtype)).all(-1)
    original = {(i, i + 1) for i in range(39)}
    for c in range(4):
        positions = torch.nonzero(masked[c]).squeeze(1)
        # a 3-hop ball on a chain has 4..7 nodes; 80 % of it (floored) is masked, all within 6 positions of each other
        assert int(positions.numel()) in {math.floor(0.8 * k) for k in range(4, 8)}
        assert int(positions.max() - positions.min()) <= 6
        edges = {tuple(sorted(e)) for e in _within(out.graph.edge_index, out.graph.ptr, c)}
        touched = {node for e in edges ^ original for node in e}
        if touched:
            assert max(touched) - min(touched) <= 6
    assert int(masked[4].sum()) == math.floor(0.8 * 40)
    # unmasked atoms keep their features
    assert torch.equal(x[0][~masked[0]], chain.x[~masked[0]].to(x.dtype))


def test_kept_edges_keep_attributes_and_added_bonds_follow_the_zinc_statistics() -> None:
    torch.manual_seed(3)
    graphs = [_graph(12, [(i, i + 1) for i in range(11)], bond=2) for _ in range(200)]
    out = make_candidates(Batch.from_data_list(graphs), mask_token=MASK)
    attr = out.graph.edge_attr
    kept = attr[:, 0] == 2  # every original bond is triple here; sampled triples are 1.1 %
    added = attr[~kept]
    assert added.shape[0] > 1000
    frequencies = torch.bincount(added[:, 0], minlength=4).float() / added.shape[0]
    assert torch.allclose(frequencies[[0, 1, 3]], torch.tensor([0.375, 0.296, 0.318]) / (1 - 0.011), atol=0.04)
    assert torch.all(added[(added[:, 0] == 1), 1] == 0)  # double bonds have no direction
    assert torch.all(attr[kept, 1] == 0)


def test_float_features_are_masked_with_zeros_and_batch_attributes_are_copied() -> None:
    torch.manual_seed(4)
    g = Data(x=torch.ones(9, 3), edge_index=torch.tensor([[0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8], [1, 0, 2, 1, 3, 2, 4, 3, 5, 4, 6, 5, 7, 6, 8, 7]]))
    g.edge_attr = torch.tensor([[1.0, 0.0]]).repeat(16, 1)
    out = make_candidates(Batch.from_data_list([g, g]), added_edge_attributes="batch")
    assert ((out.graph.x == 0).all(1) | (out.graph.x == 1).all(1)).all()
    assert int((out.graph.x == 0).all(1).view(2, 5, 9).sum(-1)[0, 4]) == 7
    assert torch.all(out.graph.edge_attr == torch.tensor([1.0, 0.0]))


def test_candidates_are_deterministic_under_a_seed_and_reject_bad_settings() -> None:
    batch = Batch.from_data_list(_graphs())
    torch.manual_seed(5)
    a = make_candidates(batch, mask_token=MASK)
    torch.manual_seed(5)
    b = make_candidates(batch, mask_token=MASK)
    assert torch.equal(a.graph.edge_index, b.graph.edge_index) and torch.equal(a.graph.x, b.graph.x)
    with pytest.raises(ConfigError, match="added_edge_attributes"):
        make_candidates(batch, added_edge_attributes="copy")
    one_column = Batch.from_data_list([Data(x=torch.ones(2, 1), edge_index=torch.tensor([[0, 1], [1, 0]]), edge_attr=torch.ones(2, 1))])
    with pytest.raises(ConfigError, match="batch"):
        make_candidates(one_column, added_edge_attributes="zinc")


def test_helpers_choose_pair_and_reach_correctly() -> None:
    torch.manual_seed(6)
    group = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])
    eligible = torch.tensor([True, True, False, True, True, False, False, True, True])
    chosen = choose_per_group(group, eligible, torch.tensor([2, 5, 1]))
    assert chosen.tolist()[:5] == [True, True, False, True, True]
    assert not chosen[5] and not chosen[6] and int(chosen[7:].sum()) == 1
    u, v = intra_group_pairs(torch.tensor([3, 4, 5, 8, 9]), torch.tensor([0, 0, 0, 1, 1]), 2)
    assert sorted(zip(u.tolist(), v.tolist())) == [(3, 4), (3, 5), (4, 5), (8, 9)]
    path = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    assert k_hop_mask(path, torch.tensor([0]), 5, 2).tolist() == [True, True, True, False, False]

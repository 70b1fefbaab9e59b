"""Golden values of the graph losses (hand-computed in each loss module's docstring)."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup_graph.graph_ops import contrastive_target, row_normalized_adjacency, undirected_edge_index
from selfsup_graph.losses.dec import dec_kl_loss, student_t_assignment, target_distribution
from selfsup_graph.losses.ncontrast import cosine_similarity_matrix, neighbourhood_contrastive_loss
from selfsup_graph.losses.reconstruction import reconstruction_loss


def test_ncontrast_golden_value() -> None:
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    target = torch.eye(3) + torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    e = math.e
    expected = -(math.log(2 / (2 + e)) + math.log(2 / 3) + math.log(1 / (2 + e))) / 3
    loss = neighbourhood_contrastive_loss(z, target, tau=1.0)
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx(0.93840, abs=1e-5)


def test_ncontrast_tau_multiplies_similarity_and_diagonal_is_zero() -> None:
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    sim = cosine_similarity_matrix(z)
    assert torch.equal(torch.diagonal(sim), torch.zeros(2))
    target = torch.eye(2)  # only the self-loop is positive: row i gives 1 / (1 + exp(tau))
    for tau in (0.25, 2.0):
        loss = neighbourhood_contrastive_loss(z, target, tau=tau)
        assert loss.item() == pytest.approx(-math.log(1 / (1 + math.exp(tau)) + 1e-8), abs=1e-6)


def test_ncontrast_zero_embedding_is_finite() -> None:
    z = torch.zeros(3, 4, requires_grad=True)
    loss = neighbourhood_contrastive_loss(z, torch.eye(3), tau=1.0)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z.grad).all()


def test_dec_golden_values() -> None:
    z = torch.tensor([[0.0], [1.0]])
    centers = torch.tensor([[0.0], [1.0]])
    q = student_t_assignment(z, centers, dof=1.0)
    assert torch.allclose(q, torch.tensor([[2 / 3, 1 / 3], [1 / 3, 2 / 3]]), atol=1e-6)
    p = target_distribution(q)
    assert torch.allclose(p, torch.tensor([[0.8, 0.2], [0.2, 0.8]]), atol=1e-6)
    expected = 0.8 * math.log(0.8 / (2 / 3)) + 0.2 * math.log(0.2 / (1 / 3))
    assert dec_kl_loss(q, p).item() == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx(0.0437, abs=1e-4)


def test_dec_kl_matches_torch_kl_div_batchmean() -> None:
    torch.manual_seed(0)
    q = student_t_assignment(torch.randn(7, 3), torch.randn(4, 3))
    p = target_distribution(q)
    reference = torch.nn.functional.kl_div(q.log(), p, reduction="batchmean")
    assert dec_kl_loss(q, p).item() == pytest.approx(reference.item(), rel=1e-5)
    assert torch.allclose(q.sum(1), torch.ones(7)) and torch.allclose(p.sum(1), torch.ones(7))


def test_target_distribution_has_no_gradient() -> None:
    z = torch.randn(5, 2, requires_grad=True)
    p = target_distribution(student_t_assignment(z, torch.randn(3, 2)))
    assert not p.requires_grad


def test_reconstruction_golden_value() -> None:
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    x_hat = torch.tensor([[0.5, 0.0], [0.0, 0.0]])
    assert reconstruction_loss(x_hat, x).item() == pytest.approx(0.3125)


def test_row_normalized_adjacency_and_targets() -> None:
    # path 0-1-2, given with a duplicate, a reversed copy and a self-loop
    edges = torch.tensor([[0, 1, 1, 2, 1], [1, 0, 2, 1, 1]])
    assert undirected_edge_index(edges, 3).tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    adj = row_normalized_adjacency(edges, 3).to_dense()
    expected = torch.tensor([[1 / 2, 1 / 2, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.0, 1 / 2, 1 / 2]])
    assert torch.allclose(adj, expected)
    assert torch.allclose(contrastive_target(edges, 3, 1, cumulative=True), expected)
    assert torch.allclose(contrastive_target(edges, 3, 2, cumulative=False), expected @ expected)
    assert torch.allclose(contrastive_target(edges, 3, 3, cumulative=True), expected + expected @ expected + expected @ expected @ expected)


def test_graph_without_edges_gives_identity() -> None:
    empty = torch.zeros(2, 0, dtype=torch.long)
    assert torch.equal(row_normalized_adjacency(empty, 4).to_dense(), torch.eye(4))
    assert torch.equal(contrastive_target(empty, 4, 2, cumulative=True), 2 * torch.eye(4))

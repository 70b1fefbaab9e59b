"""Golden values of the joint-embedding losses (hand-derived) and their official comparisons.

Official values were computed on CPU (one process, gloo) with the official code copied to a
temporary folder (never committed): ``facebookresearch/dino@7c446df:main_dino.py::DINOLoss`` and
``facebookresearch/swav@06b1b7c:main_swav.py`` (``distributed_sinkhorn`` and the loss block of
``train``), on the inputs built by :func:`_official_inputs`.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from selfsup_vision.heads.sinkhorn import sinkhorn_knopp
from selfsup_vision.losses.byol import byol_loss, regression_loss
from selfsup_vision.losses.dino import dino_loss, update_center
from selfsup_vision.losses.nt_xent import nt_xent
from selfsup_vision.losses.swav import swav_loss


# ---------------------------------------------------------------- NT-Xent
def test_nt_xent_golden_orthogonal_pairs() -> None:
    """z1 = z2 = I₂, τ = 1. Anchor a₀: logits [a₀·b₀, a₀·b₁, a₀·a₁] = [1, 0, 0] (a₀·a₀ masked),
    ℓ = log(e + 2) − 1 for each of the 4 (anchor, direction) terms; loss = mean_i(ℓ_a + ℓ_b) = 2ℓ."""
    eye = torch.eye(2)
    expected = 2 * (math.log(math.e + 2) - 1)
    assert nt_xent(eye, eye, temperature=1.0).item() == pytest.approx(expected, rel=1e-6)


def test_nt_xent_golden_temperature_and_scale_invariance() -> None:
    """τ = 0.5 doubles the logits: ℓ = log(e² + 2) − 2; rows are L2-normalised first (×3 changes nothing)."""
    eye = torch.eye(2)
    expected = 2 * (math.log(math.e**2 + 2) - 2)
    assert nt_xent(3 * eye, eye, temperature=0.5).item() == pytest.approx(expected, rel=1e-6)


def test_nt_xent_golden_non_trivial() -> None:
    """z1 = [[1,0],[0,1]], z2 = [[1,1],[1,-1]]/√2, τ = 1, c = 1/√2; a₀·a₁ = b₀·b₁ = 0.
    Row 0: a₀·b = [c, c] → ℓ_a(0) = log(2e^c + 1) − c; b₀·a = [c, c] → ℓ_b(0) the same.
    Row 1: a₁·b = [c, −c], target −c → ℓ_a(1) = log(e^c + e^−c + 1) + c; b₁·a = [c, −c] → ℓ_b(1) the same.
    mean_i(ℓ_a + ℓ_b) = log(2e^c + 1) + log(e^c + e^−c + 1)."""
    c = 1 / math.sqrt(2)
    z1 = torch.eye(2)
    z2 = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    expected = math.log(2 * math.exp(c) + 1) + math.log(math.exp(c) + math.exp(-c) + 1)
    assert nt_xent(z1, z2, temperature=1.0).item() == pytest.approx(expected, rel=1e-6)


def test_nt_xent_self_similarity_is_masked() -> None:
    """With the self-term left in, the loss of identical views would differ (the mask matters)."""
    z = torch.randn(6, 4, generator=torch.Generator().manual_seed(1))
    a = F.normalize(z, dim=1)
    unmasked = torch.cat([a @ a.T, a @ a.T], 1) / 0.5
    wrong = 2 * F.cross_entropy(unmasked, torch.arange(6)).item()
    assert nt_xent(z, z, temperature=0.5).item() != pytest.approx(wrong, rel=1e-3)


def test_nt_xent_with_gathered_rows_equals_the_full_batch() -> None:
    """Rank 1 of 2 (rows 3..5) against the gathered batch: the mean of both ranks' losses is the full loss."""
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    full = nt_xent(z1, z2, temperature=0.2)
    halves = [nt_xent(z1[s], z2[s], temperature=0.2, z1_all=z1, z2_all=z2, offset=s.start) for s in (slice(0, 3), slice(3, 6))]
    assert ((halves[0] + halves[1]) / 2).item() == pytest.approx(full.item(), rel=1e-6)


# ---------------------------------------------------------------- BYOL
def test_byol_regression_golden() -> None:
    """2 − 2cos: orthogonal → 2, identical direction → 0, 45° → 2 − √2."""
    p = torch.tensor([[1.0, 0.0], [2.0, 0.0], [1.0, 0.0]])
    z = torch.tensor([[0.0, 3.0], [5.0, 0.0], [1.0, 1.0]])
    assert regression_loss(p, z).tolist() == pytest.approx([2.0, 0.0, 2 - math.sqrt(2)], abs=1e-6)


def test_byol_loss_is_symmetric_sum() -> None:
    """p1 vs z2 and p2 vs z1, summed (not averaged): 2 + (2 − √2) for one row."""
    p1, z2 = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    p2, z1 = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]])
    assert byol_loss(p1, p2, z1, z2).item() == pytest.approx(2 + 2 - math.sqrt(2), abs=1e-6)


def test_byol_target_gets_no_gradient() -> None:
    p = torch.randn(3, 4, requires_grad=True)
    z = torch.randn(3, 4, requires_grad=True)
    byol_loss(p, p, z, z).backward()
    assert z.grad is None and p.grad is not None


# ---------------------------------------------------------------- DINO
def test_dino_loss_golden_two_prototypes() -> None:
    """K = 2, two global views only, centre 0, τ_t = τ_s = 1. Teacher logits [0, 0] → q = [½, ½];
    student logits [0, ln 3] → p = [¼, ¾]; CE = −½ ln ¼ − ½ ln ¾ for both (g, v) pairs."""
    t = torch.zeros(1, 2)
    s = torch.tensor([[0.0, math.log(3.0)]])
    expected = -0.5 * math.log(0.25) - 0.5 * math.log(0.75)
    got = dino_loss([s, s], [t, t], torch.zeros(1, 2), student_temp=1.0, teacher_temp=1.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_dino_centering_changes_the_target() -> None:
    """A centre of [ln 3, 0] turns teacher logits [ln 3, 0] into a uniform target (golden as above)."""
    t = torch.tensor([[math.log(3.0), 0.0]])
    s = torch.tensor([[0.0, math.log(3.0)]])
    expected = -0.5 * math.log(0.25) - 0.5 * math.log(0.75)
    got = dino_loss([s, s], [t, t], torch.tensor([[math.log(3.0), 0.0]]), student_temp=1.0, teacher_temp=1.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_dino_skips_same_view_pairs() -> None:
    """With 2 global + 1 local student view, the pairs are (0,1), (0,2), (1,0), (1,2): 4 terms.
    Make only student view 0 differ: it appears in 1 of the 4 terms."""
    t = torch.zeros(1, 2)
    good = torch.zeros(1, 2)  # CE with uniform target = ln 2
    bad = torch.tensor([[0.0, math.log(3.0)]])
    ce_bad = -0.5 * math.log(0.25) - 0.5 * math.log(0.75)
    got = dino_loss([bad, good, good], [t, t], torch.zeros(1, 2), student_temp=1.0, teacher_temp=1.0)
    assert got.item() == pytest.approx((ce_bad + 3 * math.log(2.0)) / 4, rel=1e-6)


def test_dino_center_update_golden() -> None:
    c = torch.tensor([[1.0, 0.0]])
    teacher = [torch.tensor([[0.0, 2.0]]), torch.tensor([[2.0, 4.0]])]  # mean [1, 3]
    assert update_center(c, teacher, 0.9)[0].tolist() == pytest.approx([1.0, 0.3])


def _official_inputs() -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    B, K, V = 4, 6, 4
    student = torch.randn(V * B, K, generator=g)
    teacher = torch.randn(2 * B, K, generator=g)
    center = torch.randn(1, K, generator=g) * 0.1
    output = F.normalize(torch.randn(V * B, 5, generator=g), dim=1) @ F.normalize(torch.randn(K, 5, generator=g), dim=1).T
    return student, teacher, center, output


def test_dino_loss_matches_official_values() -> None:
    """Official DINOLoss(out_dim=6, ncrops=4, teacher temp 0.04, student 0.1, centre momentum 0.9)."""
    student, teacher, center, _ = _official_inputs()
    loss = dino_loss(student.chunk(4), teacher.chunk(2), center, student_temp=0.1, teacher_temp=0.04)
    assert loss.item() == pytest.approx(12.19006061553955, rel=1e-6)
    new = update_center(center, teacher.chunk(2), 0.9)
    official = [-0.09376063197851181, 0.056925609707832336, 0.1343947947025299,
                -0.031096987426280975, -0.0359250083565712, 0.02916734293103218]
    assert new[0].tolist() == pytest.approx(official, abs=1e-7)


# ---------------------------------------------------------------- SwAV / Sinkhorn
def test_swav_loss_matches_official_values() -> None:
    """Official loop: crops_for_assign [0, 1], nmb_crops [2, 2], τ 0.1, ε 0.05, 3 iterations."""
    *_, output = _official_inputs()
    scores = output.chunk(4)
    codes = [sinkhorn_knopp(scores[a], epsilon=0.05, iterations=3) for a in (0, 1)]
    assert swav_loss(scores, codes, [0, 1], temperature=0.1).item() == pytest.approx(5.826634407043457, rel=1e-6)


def test_swav_loss_golden() -> None:
    """Two views, K = 2, one sample; code of view 0 = [1, 0], view 1's scores [0, ln 3]·τ (τ = 1):
    CE = −ln ¼ ; code of view 1 = [0, 1] vs view 0's scores [0, 0]: CE = ln 2. Mean over the 2 assigned crops."""
    scores = [torch.zeros(1, 2), torch.tensor([[0.0, math.log(3.0)]])]
    codes = [torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])]
    expected = (-math.log(0.25) + math.log(2.0)) / 2
    assert swav_loss(scores, codes, [0, 1], temperature=1.0).item() == pytest.approx(expected, rel=1e-6)


def test_sinkhorn_equipartition() -> None:
    """Rows sum to 1 (each sample's code); columns approach B/K = 4 (equal share per prototype):
    with SwAV's 3 iterations at ε 0.05 the largest deviation (2.80 here) is already below the
    hard assignment's (6), and it shrinks with more iterations (0.29 at 10, < 0.01 at 50)."""
    g = torch.Generator().manual_seed(3)
    scores = F.normalize(torch.randn(64, 8, generator=g), dim=1) @ F.normalize(torch.randn(16, 8, generator=g), dim=1).T
    argmax_share = torch.bincount(scores.argmax(1), minlength=16).float()
    deviations = []
    for iterations in (3, 10, 50):
        q = sinkhorn_knopp(scores, epsilon=0.05, iterations=iterations)
        assert q.sum(1).tolist() == pytest.approx([1.0] * 64, abs=1e-5)
        deviations.append((q.sum(0) - 4).abs().max().item())
    assert (argmax_share - 4).abs().max().item() > deviations[0] > deviations[1] > deviations[2]
    assert deviations[2] < 0.01


def test_sinkhorn_golden_uniform_scores() -> None:
    """Equal scores: every code is uniform 1/K."""
    q = sinkhorn_knopp(torch.zeros(3, 4), epsilon=0.05, iterations=3)
    assert q.flatten().tolist() == pytest.approx([0.25] * 12)

"""MYOW (``myow``): golden values of its loss, the mining property, the weight ramp, the
gradient wiring and one training step recomputed by hand.

**Comparison with the official code** (``nerdslab/myow`` at ``73f2b43``, run on CPU in a
scratch folder, not committed; 2026-12-08): the official ``MYOWTrainer`` (``symmetric_loss=True``,
``view_miner_k=1``, ``transform=None``, ``transform_m=None``, SGD) and this objective were given
the same fixed weights (a 16-px 3-channel ``resnet18`` with ``zero_init_last=false``, projector
64 → 16, projector_m/predictor_m 32 → 8, the official ``MLP3`` weights copied from ours; the
target a copy of the online network, ``_reset_moving_average``) and the same fixed tensors (view 1,
view 2 — also the anchors, as the trainer uses ``view1`` for mining when ``transform_m`` is
off — and a separate 8-image pool batch, ``torch.rand`` with seed 1), at the official step 1 of a
ramp from 0 to 2 steps (mined weight w = 0.5). Agreement: the official three back-propagated
pieces 0.653106 + 0.713569 (BYOL halves, each weighted ½/(1+w)) + 0.571111 (w/(1+w)·L_mined)
sum to 1.9377866, ours 1.9377867; the mined indices agree ([6, 0, 1, 3, 1, 1, 2, 1] both); the
gradients of every online parameter (encoder, projector, predictor, projector_m, predictor_m)
agree to 1.2e-7 relative (max over tensors of max |Δ| / max |g|). The official heads' first
Linear has a bias that ours (``mlp``, Linear without bias before BatchNorm) lacks: it is a no-op
before train-mode BatchNorm (its official gradient was ≤ 4.5e-8), so it was set to 0.

Deliberate deviations (argued in :mod:`selfsup_vision.objectives.myow`): the pool is the step's
own batch with each anchor's image excluded (the official CIFAR script's second iterator over
the same ``DistributedSampler`` yields exactly the anchors' images — checked with torch's
``DistributedSampler``: both iterators give identical batches in every epoch — and does not
exclude the anchor); per-sample light augmentation (the official applies one crop and flip per
batch tensor); one backward instead of three; the ramp in fractions of the run instead of epochs.

**No quality test** (an honest attempt, 2026-12-08, about 25 minutes as for ``byol``): MYOW shows
no gain over its random-init twin at a test-sized budget, like BYOL (see
``test_vision_ssl_quality_ema.py``, whose protocol and ``measure`` helper were used:
``pretrain`` on ``digits``, batch 64, AdamW lr 1e-3, wd 1e-4, 5 % warm-up, one thread,
``evaluators=[knn, linear-probe]``, the run's own random-init twin; seed 0; k-NN then linear
probe, pretrained / random init):

* 2-block ``vit-tiny`` (4-px patches), heads 256 → 64, mined heads 128 → 32, momentum 0.99,
  global crops (0.4, 1), 100 steps, mined loss from 10 % to 20 % of the run: k-NN 0.367 / 0.472
  (−0.106), lin 0.928 / 0.900 (+0.028) (54 CPU-s).
* the same with the mined loss at weight 1 from step 1: k-NN 0.328 / 0.472 (−0.144), lin 0.889 /
  0.900 (−0.011) (59 CPU-s).
* ``resnet18`` (CIFAR stem, ``zero_init_last=false``) on 8-px digits, the same heads, 60 steps:
  k-NN 0.833 / 0.900 (−0.067), lin 0.939 / 0.944 (−0.006) (67 CPU-s).
* Beyond a test's budget, the 400-step setting where BYOL starts to gain (2-block ``vit-tiny``,
  heads 1024 → 128, mined heads 256 → 64, momentum 0.99, the default ramp 0.125 → 0.1375):
  k-NN 0.550 / 0.472 (+0.078), lin 0.939 / 0.900 (+0.039) (211 CPU-s, one seed; BYOL in that
  setting, seed 0: +0.017 / +0.028). One seed and ten test allowances: not a test.

So the module tests what a quality test would exercise — the loss, the mining, the ramp and the
wiring — each check killing named mutants (``vis-myow-*`` in ``scripts/mutations.py``, all 12
killed).
"""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.errors import ConfigError
from selfsup_vision.backbone_configs import ViTConfig
from selfsup_vision.encoders.backbones import build_vit_tiny
from selfsup_vision.heads.mining import mine_views, pairwise_distance
from selfsup_vision.losses.byol import byol_loss
from selfsup_vision.losses.myow import mined_loss_weight, mined_view_loss, myow_loss
from selfsup_vision.objectives.myow import MYOW
from selfsup_vision.ssl_configs import MYOWConfig

INFO = {"channels": 1, "height": 16, "width": 16}
SMALL = {"hidden_dim": 32, "proj_dim": 8, "mined_hidden_dim": 16, "mined_proj_dim": 4}


def _myow(**overrides: object) -> MYOW:
    torch.manual_seed(0)
    encoder = build_vit_tiny(ViTConfig(size="tiny", patch_size=4, depth=1), INFO)
    return MYOW(MYOWConfig(**{**SMALL, **overrides}), encoder, INFO)


def _images(n: int = 8, seed: int = 3) -> torch.Tensor:
    return torch.rand(n, 1, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# ---------------------------------------------------------------- golden values


def test_mined_view_loss_golden() -> None:
    # rows: cos = 1 -> 0; cos = 1/sqrt(2) -> 2 - sqrt(2); the mean of the two
    q = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    v = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    assert mined_view_loss(q, v).item() == pytest.approx((2 - math.sqrt(2)) / 2, abs=1e-6)


@pytest.mark.parametrize(("weight", "expected"), [(0.0, 1.0), (1.0, 2.5), (0.5, 2.0)])
def test_myow_loss_golden(weight: float, expected: float) -> None:
    """BYOL halves r(p1, z2) = 2 (orthogonal) and r(p2, z1) = 0 give the symmetric mean ½·2 = 1;
    the mined row is opposite its target, r = 4. L = 1/(1+w)·1 + w/(1+w)·4: w = 0 -> 1, w = 1 ->
    2.5, w = 0.5 -> 2/3 + 4/3 = 2."""
    p1 = p2 = z1 = torch.tensor([[1.0, 0.0]])
    z2 = torch.tensor([[0.0, 1.0]])
    q_m, v_m = torch.tensor([[1.0, 0.0]]), torch.tensor([[-1.0, 0.0]])
    loss, byol, mined = myow_loss(p1, p2, z1, z2, weight, q_m, v_m)
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    assert byol.item() == pytest.approx(1.0, abs=1e-6)
    assert (mined is None) == (weight == 0) and (mined is None or mined.item() == pytest.approx(4.0, abs=1e-6))


def test_myow_loss_needs_the_mined_pair_when_weighted() -> None:
    p = torch.ones(2, 3)
    assert myow_loss(p, p, p, p, 0.0)[0].item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="q_m"):
        myow_loss(p, p, p, p, 0.5)


def test_mined_targets_get_no_gradient() -> None:
    q = torch.randn(4, 3, requires_grad=True)
    v = torch.randn(4, 3, requires_grad=True)
    mined_view_loss(q, v).backward()
    assert q.grad is not None and q.grad.abs().sum() > 0 and v.grad is None


# ---------------------------------------------------------------- the ramp


def test_weight_ramp_is_the_official_schedule() -> None:
    """Official CIFAR: 0 before epoch 100 of 800, linear to 1 at epoch 110, 1 after (here the
    fractions 0.125 and 0.1375 of 800 steps)."""
    w = [mined_loss_weight(t, 800, 0.125, 0.1375, 1.0) for t in (0, 99, 100, 105, 110, 111, 799)]
    assert w == pytest.approx([0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0])
    assert mined_loss_weight(102, 800, 0.125, 0.1375, 2.0) == pytest.approx(0.4)
    assert mined_loss_weight(0, 10, 0.0, 0.0, 0.7) == pytest.approx(0.7)  # no warm-up: on from the first step


def test_objective_follows_the_ramp_and_mines_only_when_weighted() -> None:
    """4 steps, warm-up 0.5 (ends at t = 2), ramp end 0.75 (t = 3): weights 0, 0, 0 (t = 2 starts
    the ramp at 0), 1. Mining (the mined heads' gradient, the logged ``loss_mined``) happens only
    at the step whose weight is > 0."""
    obj = _myow(mined_warmup=0.5, mined_rampup_end=0.75, mined_max_weight=1.0)
    seen = []
    for step in range(1, 5):
        obj.zero_grad(set_to_none=True)
        out = obj.training_step({"x": _images()}, step=step, phase="main")
        out["loss"].backward()
        grad = obj.predictor_m[0].weight.grad
        mined = grad is not None and bool(grad.abs().sum() > 0)
        seen.append((float(out["mined_weight"]), "loss_mined" in out, mined))
        obj.on_step_end(step=step, max_steps=4)
    assert seen == [(0.0, False, False), (0.0, False, False), (0.0, False, False), (1.0, True, True)]


def test_sgd_run_goes_through_the_start_of_the_mined_loss(tmp_path) -> None:
    """Through the product's path with the default optimizer (SGD with momentum, torch's fused
    kernel): the mined heads idle for 2 steps, then train. Fused SGD raises a ``TypeError`` when
    a parameter's first gradient comes after the others have momentum buffers; the objective's
    zero gradient for the idle heads at its first step prevents it (see the objective's
    docstring). The mined loss is logged from step 3 on, with the ramp's weights."""
    from selfsup import pretrain

    result = pretrain(
        modality="vision", objective="myow", dataset="digits", encoder="vit-tiny", seed=0, evaluators=[],
        run_dir=tmp_path / "run", encoder_config={"patch_size": 4, "depth": 1},
        objective_config={**SMALL, "mined_warmup": 0.5, "mined_rampup_end": 0.75},
        trainer={"max_steps": 4, "batch_size": 16, "progress": "off", "device": "cpu", "threads": 1, "lr": 0.1},
    )
    assert result.config["trainer"]["optimizer"] == "sgd"
    assert [line.get("mined_weight") for line in result.history] == [0.0, 0.0, 0.0, 1.0]
    assert ["loss_mined" in line for line in result.history] == [False, False, False, True]


def test_a_resumed_objective_reads_the_weight_from_its_buffer() -> None:
    obj = _myow(mined_warmup=0.1, mined_rampup_end=0.5)
    obj.on_step_end(step=3, max_steps=10)  # the next step's weight: t = 3 -> (3 - 1) / (5 - 1) = 0.5
    fresh = _myow(mined_warmup=0.1, mined_rampup_end=0.5)
    assert fresh.current_weight() == 0.0
    fresh.load_state_dict(obj.state_dict())
    assert fresh.current_weight() == pytest.approx(0.5)


# ---------------------------------------------------------------- mining


def test_mining_golden_nearest_by_cosine() -> None:
    """Anchor (1, 0): pool rows at angles 90°, ~5.7° (scaled by 10: norms do not matter), 180°."""
    anchors = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    pool = torch.tensor([[0.0, 2.0], [10.0, 1.0], [-1.0, 0.0]])
    d = pairwise_distance(anchors, pool)
    assert d[0].tolist() == pytest.approx([2.0, 2 - 2 * 10 / math.sqrt(101), 4.0], abs=1e-6)
    assert mine_views(anchors, pool, 1).tolist() == [1, 0]


def test_mining_excludes_the_anchor_itself() -> None:
    """Pool = the anchors (the same images, as the objective's pool): without the exclusion every
    anchor mines itself; with it, its nearest *other* row (hand-chosen: 0 <-> 1 at 10°, 2 -> 1 at 30°, 3 -> 2 at 60°)."""
    angles = torch.tensor([0.0, 10.0, 40.0, 100.0]) * math.pi / 180
    rows = torch.stack([angles.cos(), angles.sin()], dim=1)
    assert mine_views(rows, rows, 1).tolist() == [0, 1, 2, 3]
    assert mine_views(rows, rows, 1, exclude=torch.arange(4)).tolist() == [1, 0, 1, 2]


def test_mining_draws_uniformly_among_the_k_nearest() -> None:
    """k = 2: anchor 0's two nearest other rows are 1 and 2; over 400 draws both occur about
    equally often and no other row (nor itself) ever does."""
    angles = torch.tensor([0.0, 10.0, 20.0, 90.0, 180.0]) * math.pi / 180
    rows = torch.stack([angles.cos(), angles.sin()], dim=1)
    torch.manual_seed(0)
    picks = torch.stack([mine_views(rows[:1], rows, 2, exclude=torch.tensor([0])) for _ in range(400)]).flatten()
    counts = torch.bincount(picks, minlength=5).tolist()
    assert counts[0] == counts[3] == counts[4] == 0
    assert 150 < counts[1] < 250 and counts[1] + counts[2] == 400


def test_mining_refuses_a_pool_smaller_than_k() -> None:
    rows = torch.randn(3, 4)
    with pytest.raises(ConfigError, match="mined_k=3"):
        mine_views(rows, rows, 3, exclude=torch.arange(3))


# ---------------------------------------------------------------- wiring


def _diverged(obj: MYOW) -> MYOW:
    """Make the target differ from the online network (as after EMA updates), so that a branch
    mix-up changes the result."""
    with torch.no_grad():
        g = torch.Generator().manual_seed(7)
        for t in (obj.target, obj.target_m):
            for p in t.parameters():
                p.add_(0.3 * torch.randn(p.shape, generator=g) * (p.abs().mean() + 1e-3))
    return obj


def test_mined_pair_mines_online_anchors_against_the_target_pool() -> None:
    """The anchors go through the online encoder, the pool through the target encoder, the mined
    rows through the *target* projector and projector_m, the anchors through the online projector,
    projector_m and predictor_m (the official cascaded layout), recomputed by hand."""
    obj = _diverged(_myow())
    obj.train()
    anchors, pool = _images(6, 1), _images(6, 2)
    own = torch.arange(6)
    q_m, v_m, mined = obj.mined_pair(anchors, pool, exclude=own)
    with torch.no_grad():
        y = obj.encoder.forward_images(anchors)
        y_pool = obj.target.network.backbone.forward_images(pool)
        d = pairwise_distance(y, y_pool)
        d[own, own] = float("inf")
        expected = d.argmin(dim=1)
        v_expected = obj.target_m.network(obj.target.network.head(y_pool[expected]))
        q_expected = obj.predictor_m(obj.projector_m(obj.online.head(y)))
        online_pool = pairwise_distance(y, obj.encoder.forward_images(pool))
        online_pool[own, own] = float("inf")
    assert mined.tolist() == expected.tolist()
    assert online_pool.argmin(dim=1).tolist() != expected.tolist()  # the branches matter for this input
    assert torch.allclose(v_m, v_expected, atol=1e-5) and torch.allclose(q_m, q_expected, atol=1e-5)
    with torch.no_grad():
        v_online = obj.projector_m(obj.online.head(y_pool[expected]))
    assert not torch.allclose(v_m, v_online, atol=1e-3)


def test_mined_loss_reaches_the_mined_heads_and_not_the_target() -> None:
    """The mined loss alone: gradients in the encoder, the projector, projector_m and predictor_m;
    none in BYOL's predictor (not on the mined path) nor in any target parameter."""
    obj = _myow()
    q_m, v_m, _ = obj.mined_pair(_images(6, 1), _images(6, 2), exclude=torch.arange(6))
    mined_view_loss(q_m, v_m).backward()
    for name in ("encoder", "projector_m", "predictor_m"):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in getattr(obj, name).parameters()), name
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in obj.online.head.parameters())
    assert all(p.grad is None for p in obj.predictor.parameters())
    assert all(p.grad is None for p in (*obj.target.parameters(), *obj.target_m.parameters()))


def test_full_step_gives_no_gradient_to_the_targets_and_updates_them_by_ema() -> None:
    obj = _myow(mined_warmup=0.0, mined_rampup_end=0.0)
    out = obj.training_step({"x": _images()}, step=1, phase="main")
    out["loss"].backward()
    assert "loss_mined" in out
    assert all(p.grad is None for p in (*obj.target.parameters(), *obj.target_m.parameters()))
    assert all(p.grad is not None for p in obj.predictor_m.parameters())
    before = [p.detach().clone() for p in obj.target_m.parameters()]
    with torch.no_grad():
        for p in obj.projector_m.parameters():
            p.add_(1.0)
    obj.on_step_end(step=1, max_steps=10)
    m = obj.target_m.momentum(0, 10)
    assert m == pytest.approx(0.98)
    for old, new, online in zip(before, obj.target_m.parameters(), obj.projector_m.parameters()):
        assert torch.allclose(new, m * old + (1 - m) * online, atol=1e-6)


def test_training_step_recomputed_by_hand() -> None:
    """One step at weight 1 equals the loss recomputed from the same random draws: BYOL on the two
    views (each prediction regressing the *other* view's target), the light anchors mined in the
    light pool with each anchor's own image excluded."""
    obj = _myow(mined_warmup=0.0, mined_rampup_end=0.0)
    x = _images()
    torch.manual_seed(11)
    loss = obj.training_step({"x": x}, step=1, phase="main")["loss"].item()
    torch.manual_seed(11)
    v1, v2 = obj.make_views({"x": x})
    anchors, pool = obj.light_views(x)
    assert not torch.equal(anchors, pool)  # independent light views
    with torch.no_grad():
        p1, p2 = obj.predictor(obj.online(v1)), obj.predictor(obj.online(v2))
        z1, z2 = obj.target(v1), obj.target(v2)
        q_m, v_m, mined = obj.mined_pair(anchors, pool, exclude=torch.arange(8))
    assert (mined != torch.arange(8)).all()
    expected = 0.5 * (0.5 * byol_loss(p1, p2, z1, z2).item()) + 0.5 * mined_view_loss(q_m, v_m).item()
    assert loss == pytest.approx(expected, rel=1e-5)
    assert abs(loss - (0.5 * (0.5 * byol_loss(p1, p2, z2, z1).item()) + 0.5 * mined_view_loss(q_m, v_m).item())) > 1e-4


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match="mined_k=0"):
        _myow(mined_k=0)
    with pytest.raises(ConfigError, match="mined_warmup=0.5, mined_rampup_end=0.2"):
        _myow(mined_warmup=0.5, mined_rampup_end=0.2)
    with pytest.raises(ConfigError, match=r"mined_scale=\[0.0, 1.0\]"):
        _myow(mined_scale=[0.0, 1.0])
    with pytest.raises(ConfigError, match="mined_max_weight"):
        _myow(mined_max_weight=-1.0)
    with pytest.raises(ConfigError, match="myow uses exactly 2 views.*views=simclr"):
        _myow(views="dino")

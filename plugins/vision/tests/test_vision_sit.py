"""SiT (``sit``, GMML version): golden values of both loss terms, the GMML corruption, the masked
L1's support, the teacher's wiring and a short reconstruction check on digits.

**Comparison with the official code** (``Sara-Ahmed/SiT`` at ``7f22e9c``, run on CPU in a scratch
folder, not committed; ``.cuda()`` made a no-op, a one-process gloo group for
``concat_all_gather``; torch 2.x, 2026-12-08): on ``torch.manual_seed(0)`` tensors

* the official ``SimCLR(0.2)(s, t, epoch)`` on ``s, t = randn(16, 16)`` gives 2.4767537117,
  ours (``sit_contrastive`` on the two halves) 2.4767537117 (identical; pinned below as
  :func:`test_contrastive_matches_the_official_value`);
* the official masked L1 (``F.l1_loss(..., reduction='none')[mask == 1].mean()``) on
  ``[4, 3, 32, 32]`` tensors with a channel-shared random mask: 1.1223392487, ours 1.1223393679
  (relative 1.1e-7, float32 summation order);
* the official ``CLSHead(24, 32, hidden_dim=64)`` and ``RECHead(24, 3, 4)`` with their weights
  loaded into ours (``convTrans`` renamed ``deconv``), train mode, one fixed token batch
  ``[16, 17, 24]``: max |Δ| 0.0 for both heads; the full loss ``c + 1·L_rec`` on those outputs:
  official 2.6961021423, ours 2.6961023808 (relative 8.8e-8).

The official student is its own DeiT-style ViT; ours is timm's (not compared: different weight
layout, same architecture family). Deviations are listed in :mod:`selfsup_vision.objectives.sit`.

**No quality test** (measured, 2026-12-08, with ``test_vision_ssl_quality_ema.py``'s ``measure``
protocol: ``pretrain`` on ``digits``, batch 64, AdamW lr 1e-3, wd 1e-4, one thread, the run's own
random-init twin): 2-block ``vit-tiny`` (4-px patches), CLS head 256 → 64, momentum 0.99, the
default corruption, 100 steps, seed 0: k-NN 0.506 / 0.472 (+0.033), linear probe 0.900 / 0.894
(+0.006) (140 s wall on a shared CPU); seed 1: k-NN 0.406 / 0.500 (−0.094), linear probe 0.922 /
0.922 (±0) (126 s). No consistent gain at test size, so no quality test. The
behavioural check here is the reconstruction instead:
:func:`test_masked_reconstruction_beats_mean_fill_on_digits` (1-block ``vit-tiny``, 40 steps:
masked L1 0.311 against 0.551 for filling the corrupted pixels with the training mean; asserted
below 0.9 × the baseline).
Mutants ``sit-*`` in ``scripts/mutations.py``.
"""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.errors import ConfigError
from selfsup_vision.backbone_configs import ResNetConfig, ViTConfig
from selfsup_vision.encoders.backbones import build_resnet18, build_vit_tiny
from selfsup_vision.heads.sit import SiTReconHead, sit_cls_head
from selfsup_vision.losses.sit import masked_l1, moco_contrastive, sit_contrastive, sit_loss
from selfsup_vision.objectives.sit import SiT
from selfsup_vision.ssl_configs import SiTConfig
from selfsup_vision.views.gmml import gmml_blocks, gmml_corrupt, gmml_replace

INFO = {"channels": 1, "height": 16, "width": 16}
SMALL = {"hidden_dim": 32, "out_dim": 8}


def _sit(**overrides: object) -> SiT:
    torch.manual_seed(0)
    encoder = build_vit_tiny(ViTConfig(size="tiny", patch_size=4, depth=1), INFO)
    return SiT(SiTConfig(**{**SMALL, **overrides}), encoder, INFO)


# ---------------------------------------------------------------- losses: golden values
def test_masked_l1_golden_value() -> None:
    clean = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    recon = torch.zeros_like(clean)
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    assert masked_l1(recon, clean, mask).item() == pytest.approx((1 + 4) / 2)
    # a 3-channel image with a 1-channel mask: every channel of a masked pixel counts
    clean3, recon3 = clean.expand(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)
    recon3[:, 1] = 1.0
    assert masked_l1(recon3, clean3, mask).item() == pytest.approx((1 + 4 + 0 + 3 + 1 + 4) / 6)


def test_masked_l1_ignores_unmasked_predictions() -> None:
    g = torch.Generator().manual_seed(0)
    clean, recon = torch.randn(2, 3, 8, 8, generator=g), torch.randn(2, 3, 8, 8, generator=g)
    mask = (torch.rand(2, 1, 8, 8, generator=g) < 0.5).float()
    base = masked_l1(recon, clean, mask)
    changed = recon + 10.0 * (1 - mask)
    assert masked_l1(changed, clean, mask).item() == pytest.approx(base.item(), abs=1e-7)
    assert masked_l1(recon + 10.0 * mask, clean, mask).item() != pytest.approx(base.item())
    assert masked_l1(recon, clean, torch.zeros_like(mask)).item() == 0.0


def test_contrastive_golden_value() -> None:
    eye = torch.eye(2)
    # logits [[5, 0], [0, 5]] at τ 0.2: CE = log(1 + e⁻⁵), scaled by 2τ = 0.4
    one = 0.4 * math.log1p(math.exp(-5.0))
    assert moco_contrastive(3.0 * eye, eye, temperature=0.2).item() == pytest.approx(one, rel=1e-6)
    assert sit_contrastive(eye, eye, eye, eye, temperature=0.2).item() == pytest.approx(2 * one, rel=1e-6)
    # swapped keys: q̂ᵢ·k̂ᵢ = 0 → CE = log(1 + e⁵)
    swapped = eye.flip(0)
    assert moco_contrastive(eye, swapped, temperature=0.2).item() == pytest.approx(0.4 * math.log1p(math.exp(5.0)), rel=1e-6)
    # the pairing is s₁ with t₂ and s₂ with t₁
    assert sit_contrastive(eye, eye, swapped, eye, temperature=0.2).item() == pytest.approx(
        0.4 * math.log1p(math.exp(-5.0)) + 0.4 * math.log1p(math.exp(5.0)), rel=1e-6)


def test_contrastive_gathered_keys_and_offset() -> None:
    q = torch.tensor([[1.0, 0.0]])
    k_all = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # this rank's key is row 1 of the gathered keys
    expected = 0.4 * math.log1p(math.exp(-5.0))
    assert moco_contrastive(q, k_all[1:], k_all=k_all, offset=1).item() == pytest.approx(expected, rel=1e-6)


def test_contrastive_matches_the_official_value() -> None:
    torch.manual_seed(0)
    s, t = torch.randn(16, 16), torch.randn(16, 16)
    s1, s2 = s.chunk(2)
    t1, t2 = t.chunk(2)
    assert sit_contrastive(s1, s2, t1, t2, temperature=0.2).item() == pytest.approx(2.4767537117004395, rel=1e-6)


def test_keys_get_no_gradient_and_total() -> None:
    q, k = torch.randn(4, 3, requires_grad=True), torch.randn(4, 3, requires_grad=True)
    moco_contrastive(q, k).backward()
    assert q.grad is not None and k.grad is None
    assert sit_loss(torch.tensor(1.5), torch.tensor(0.25), 4).item() == pytest.approx(2.5)


# ---------------------------------------------------------------- heads
def test_heads_shapes_and_layout() -> None:
    head = sit_cls_head(12, 32, 8)
    assert [type(m).__name__ for m in head] == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "GELU",
                                                  "Linear", "BatchNorm1d"]
    assert head[7].affine is False and head[1].affine
    assert head(torch.randn(5, 12)).shape == (5, 8)
    rec = SiTReconHead(12, 3, 4)
    assert rec(torch.randn(2, 16, 12)).shape == (2, 3, 16, 16)


# ---------------------------------------------------------------- GMML corruption
def test_corruption_covers_half_and_mask_matches_changed_pixels() -> None:
    g = torch.Generator().manual_seed(0)
    images = torch.rand(6, 3, 32, 32, generator=g) * 0.9 + 0.1  # no zeros: every dropped pixel changes
    corrupted, mask = gmml_corrupt(images, 0.5, generator=g)
    assert mask.shape == (6, 1, 32, 32)
    assert (mask.flatten(1).mean(1) >= 0.5).all()
    changed = (corrupted != images).any(1, keepdim=True)
    assert torch.equal(changed, mask.bool())
    assert (corrupted[mask.bool().expand_as(corrupted)] == 0).all()


def test_corruption_blocks_are_bounded_and_aligned() -> None:
    g = torch.Generator().manual_seed(1)
    m = gmml_blocks(32, 32, 0.5, align=4, generator=g)
    assert m.float().mean() >= 0.5
    cells = m.reshape(8, 4, 8, 4)  # every 4×4 cell is all in or all out
    assert torch.equal(cells.all(3).all(1), cells.any(3).any(1))
    assert gmml_corrupt(torch.ones(2, 1, 8, 8), 0.0)[1].sum() == 0


def test_replacement_pastes_from_the_batch() -> None:
    g = torch.Generator().manual_seed(2)
    clean = torch.arange(8, dtype=torch.float32).view(8, 1, 1, 1).expand(8, 1, 16, 16).clone() + 1
    corrupted, mask = gmml_corrupt(clean, 0.5, generator=g)
    out, out_mask = gmml_replace(clean, corrupted, mask, 0.3, generator=g)
    replaced = [i for i in range(8) if not torch.equal(out_mask[i], mask[i])]
    assert replaced and len(replaced) < 8  # probability ½ per image
    for i in range(8):
        if i in replaced:
            outside = ~out_mask[i].bool()
            assert torch.equal(out[i][outside], clean[i][outside])  # redone from the clean image
            inside = out[i][out_mask[i].bool()]
            assert out_mask[i].mean() >= 0.3 and (inside == inside[0]).all()  # one other image's pixels
        else:
            assert torch.equal(out[i], corrupted[i])
    assert any(not torch.equal(out[i], clean[i]) for i in replaced)  # pasted from other images


# ---------------------------------------------------------------- objective wiring
def test_refuses_non_vit_encoders() -> None:
    encoder = build_resnet18(ResNetConfig(), INFO)
    with pytest.raises(ConfigError, match="encoder=vit-small"):
        SiT(SiTConfig(**SMALL), encoder, INFO)


def test_teacher_gets_no_gradient_and_its_ema_update_is_applied() -> None:
    model = _sit(momentum_teacher=0.5)
    x = torch.rand(8, 1, 16, 16) * 2 - 1
    out = model.training_step({"x": x}, step=1, phase="train")
    assert {"loss", "contrastive", "reconstruction"} <= set(out)
    assert out["loss"].item() == pytest.approx(out["contrastive"].item() + out["reconstruction"].item(), rel=1e-5)
    out["loss"].backward()
    assert all(p.grad is None and not p.requires_grad for p in model.teacher.parameters())
    assert model.student.rec_head.deconv.weight.grad is not None
    assert model.student.cls_head[0].weight.grad is not None
    assert model.encoder.trunk.patch_embed.proj.weight.grad is not None
    before = [p.clone() for p in model.teacher.network.parameters()]
    with torch.no_grad():
        for p in model.student.parameters():
            p.add_(1.0)
    model.on_step_end(step=1, max_steps=10)  # m = 0.5 at the first step
    for old, new, online in zip(before, model.teacher.network.parameters(), model.student.parameters()):
        assert torch.allclose(new, 0.5 * old + 0.5 * online, atol=1e-6)
    assert model.evaluation_encoder() is model.teacher.network.backbone


def test_teacher_sees_clean_views_and_student_corrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _sit(drop_replace=0.0)  # zeros only: the corrupted pixels are recognisable
    seen: dict[str, torch.Tensor] = {}
    def spy(name: str, forward):  # noqa: ANN001, ANN202
        def wrapped(x: torch.Tensor, recons: bool = True):  # noqa: ANN202
            seen[name] = x
            return forward(x, recons)
        return wrapped

    monkeypatch.setattr(model.student, "forward", spy("s", model.student.forward))
    monkeypatch.setattr(model.teacher.network, "forward", spy("t", model.teacher.network.forward))
    views = [torch.rand(4, 1, 16, 16) + 0.5, torch.rand(4, 1, 16, 16) + 0.5]
    monkeypatch.setattr(model, "make_views", lambda batch: views)
    model.training_step({"x": torch.zeros(4, 1, 16, 16)}, step=1, phase="train")
    assert torch.equal(seen["t"], torch.cat(views))
    assert (seen["s"] == 0).flatten(1).float().mean(1).min() >= 0.5


def _digits() -> torch.Tensor:
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().images, dtype=torch.float32).unsqueeze(1) / 16.0 * 2 - 1
    return torch.nn.functional.interpolate(x, size=16, mode="bilinear", align_corners=False)


def test_masked_reconstruction_beats_mean_fill_on_digits() -> None:
    """After 40 AdamW steps the masked L1 on held-out corrupted digits is below filling every
    corrupted pixel with the training mean."""
    torch.set_num_threads(1)
    data = _digits()
    train, test = data[:1500], data[1500:1564]
    model = _sit(drop_replace=0.0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    g = torch.Generator().manual_seed(0)
    for step in range(1, 41):
        batch = train[torch.randint(0, len(train), (64,), generator=g)]
        loss = model.training_step({"x": batch}, step=step, phase="train")["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.on_step_end(step=step, max_steps=40)
    model.eval()
    corrupted, mask = gmml_corrupt(test, 0.5, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        _, recon = model.student(corrupted)
    ours = masked_l1(recon, test, mask).item()
    baseline = masked_l1(torch.full_like(test, train.mean().item()), test, mask).item()
    assert ours < 0.9 * baseline, (ours, baseline)

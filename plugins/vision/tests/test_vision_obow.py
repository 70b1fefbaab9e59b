"""OBoW (``obow``): golden values of the loss pieces, the BoW target's properties, the μ update,
the vocabulary queue, the weight generator, the wiring (teacher without gradient, EMA after the
step, the official step order) and the BoW perplexity after a few steps on digits.

**Comparison with the official code** (``valeoai/obow`` at HEAD of the stored snapshot, run on
CPU in a scratch folder, not committed; 2026-12-08): the official ``OBoW`` model
(``obow/builder_obow.py``; ``bow_levels=[block3, block4]``, ``inv_delta=10``, ``kappa=5``,
K = 16 words per level, no linear classifier, ``alpha=1.0`` so that its pre-step teacher update
leaves the teacher an exact copy of the student) and this objective (``drop_border=true``) were
given the same fixed weights — a 48-px 3-channel ``resnet18`` (CIFAR stem,
``zero_init_last=false``) wrapped as the official ``feature_extractor`` (pooled features without
``out_feat_keys``, ``feature_maps`` with them), the official initial vocabularies and the weight
generators' Linear/BatchNorm weights copied into ours — the same fixed tensors (the teacher's
image ``[4, 3, 48, 48]``, the two 34-px crops and five 21-px patches per image, ``torch.rand``
with seed 1) and the same RNG seed before the step (the vocabulary's random locations).
Agreement: the official loss pieces 3.7390831 (crops) + 4.1115012 (patches) sum to 7.8505840,
ours 7.8505812 (3.6e-7 relative); the BoW targets agree to 1.6e-6 (level block3) and 1.3e-6
(block4) absolute (the official distance is a convolution, ours an einsum); μ after the step
(4.3566689, 9.2365847) and the updated vocabularies and pointers agree exactly; the gradients of
every encoder and generator weight agree to 3.3e-6 relative (max over 64 tensors of max |Δ| /
max |g|). The official per-batch/per-image perplexities were 15.99/15.99 (block3) and 13.37/9.81
(block4).

Deliberate deviations (argued in :mod:`selfsup_vision.objectives.obow`): the teacher moves after
the optimiser step (as ``byol``/``dino`` here; the official moves it before the next targets, with
the schedule index one step later); on maps under 5 px the border is kept and the 3×3 pooling
shrinks (``drop_border=null``; official at ImageNet scale); patches are independent random crops of
a grid cell's area; no monitoring classifier; ``[-1, 1]`` images.

**No quality test** (measured, seed 0, the default command on ``digits``: ``resnet18``, K 8192,
batch 128; about 5 images/s on a shared CPU): 5 steps: k-NN 0.550 vs 0.706 random init, linear
probe 0.856 vs 0.872; 20 steps (``evaluators=[knn]``, 184 s wall): k-NN 0.639 vs 0.706; 100 steps
(318 CPU-s, 18 min wall on the shared CPU): linear probe 0.922 vs 0.872 (+0.050), k-NN 0.650 vs
0.706 (−0.056), one seed. The BoW perplexity per batch / per image: 110 / 36 (``block3``) and
53 / 10 (``block4``) after 20 steps, 872 / 543 and 944 / 324 after 100, of K = 8192
(``test_perplexity_neither_collapsed_nor_uniform_on_digits`` checks the same with K = 64). The
only gain (linear probe, 100 steps, one seed) is far over a test's budget; the mechanics are tested here instead, each check
killing named mutants (``obow-*`` in ``scripts/mutations.py``, all 26 killed).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from selfsup.errors import ConfigError
from selfsup_vision.backbone_configs import ResNetConfig, ViTConfig
from selfsup_vision.encoders.backbones import build_resnet18, build_vit_tiny
from selfsup_vision.heads.obow import BoWVocabulary, WeightGenerator, sample_local_words
from selfsup_vision.losses.obow import (
    bow_kl,
    bow_logits,
    bow_perplexity,
    bow_target,
    drop_border,
    min_distance_mean,
    obow_loss,
    squared_distances,
    update_min_distance_mean,
)
from selfsup_vision.objectives.obow import OBoW, teacher_view
from selfsup_vision.ssl_configs import OBoWConfig

INFO = {"channels": 1, "height": 16, "width": 16}


def _obow(info: dict = INFO, **overrides: object) -> OBoW:
    torch.manual_seed(0)
    encoder = build_resnet18(ResNetConfig(zero_init_last=False), info)
    return OBoW(OBoWConfig(**{"num_words": 16, **overrides}), encoder, info)


def _images(n: int = 8, side: int = 16, seed: int = 3) -> torch.Tensor:
    return torch.rand(n, 1, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# --- loss pieces: golden values ---------------------------------------------------------------


def test_squared_distances_golden() -> None:
    features = torch.tensor([[1.0, 0.0], [2.0, 3.0]]).view(1, 2, 1, 2)  # locations (1, 2), (0, 3)
    words = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    d = squared_distances(features, words)
    assert d.shape == (1, 3, 1, 2)
    expected = torch.tensor([[5.0, 9.0], [1.0, 5.0], [0.0, 2.0]])  # ‖(1,2)−v‖², ‖(0,3)−v‖²
    torch.testing.assert_close(d[0, :, 0], expected)
    assert min_distance_mean(d).item() == pytest.approx(1.0)  # mean(0, 2)


def test_mu_update_golden() -> None:
    mu = update_min_distance_mean(torch.tensor(0.5), torch.tensor(2.5), decay=0.99)
    assert mu.item() == pytest.approx(0.99 * 0.5 + 0.01 * 2.5)
    assert update_min_distance_mean(torch.tensor(0.5), torch.tensor(2.5), decay=0.9).item() == pytest.approx(0.7)


def test_bow_target_golden() -> None:
    # two words, two locations; d = [[0, 2], [2, 0]] at (u1, u2); δ/μ = 1
    dist = torch.tensor([[0.0, 2.0], [2.0, 0.0]]).view(1, 2, 1, 2)
    y = bow_target(dist, torch.tensor(2.0), inv_delta=2.0)
    a = 1 / (1 + math.exp(-2))  # softmax of (0, −2): the near word's code at each location
    torch.testing.assert_close(y, torch.tensor([[0.5, 0.5]]))  # max over u: (a, a), L1 → ½
    # one location only: no max-pooling across locations
    y1 = bow_target(dist[..., :1], torch.tensor(2.0), inv_delta=2.0)
    torch.testing.assert_close(y1, torch.tensor([[a, 1 - a]]))
    # δ/μ scales the distances: μ = 4 halves the sharpness
    b = 1 / (1 + math.exp(-1))
    torch.testing.assert_close(bow_target(dist[..., :1], torch.tensor(4.0), 2.0), torch.tensor([[b, 1 - b]]))
    # max, not mean, over locations: codes (a, 1−a) and (½, ½) give max (a, ½), normalised
    dist3 = torch.tensor([[0.0, 1.0], [2.0, 1.0]]).view(1, 2, 1, 2)
    m = torch.tensor([a, 0.5])
    torch.testing.assert_close(bow_target(dist3, torch.tensor(2.0), 2.0), (m / m.sum()).view(1, 2))


def test_drop_border() -> None:
    x = torch.arange(25.0).view(1, 1, 5, 5)
    assert drop_border(x).shape == (1, 1, 3, 3)
    assert drop_border(x)[0, 0, 0, 0].item() == 6.0
    assert drop_border(x, 0) is x


def test_logits_and_kl_golden() -> None:
    f = torch.tensor([[1.0, 2.0]])
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    torch.testing.assert_close(bow_logits(f, w, kappa=5.0), torch.tensor([[5.0, 10.0, 11.0]]))
    logits = torch.tensor([[0.0, math.log(3.0)], [0.0, 0.0]])  # softmax (¼, ¾) and (½, ½)
    target = torch.tensor([[0.5, 0.5]])
    # batchmean over the 2 crops of the one image: ½·[Σ y log(y/p)] per row
    kl1 = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert bow_kl(logits, target).item() == pytest.approx(kl1 / 2, abs=1e-6)
    with pytest.raises(ValueError):
        bow_kl(torch.zeros(3, 2), torch.full((2, 2), 0.5))


def test_obow_loss_sums_crop_types_and_averages_levels() -> None:
    torch.manual_seed(0)
    targets = [F.softmax(torch.randn(2, 4), 1), F.softmax(torch.randn(2, 3), 1)]
    crops = [[torch.randn(4, 4), torch.randn(4, 3)], [torch.randn(6, 4), torch.randn(6, 3)]]
    expected = sum((bow_kl(c[0], targets[0]) + bow_kl(c[1], targets[1])) / 2 for c in crops)
    torch.testing.assert_close(obow_loss(crops, targets), expected)
    # view-major rows: rows j and j + B are the same image's two crops
    one = bow_kl(crops[0][0][:2], targets[0]) + bow_kl(crops[0][0][2:], targets[0])
    torch.testing.assert_close(bow_kl(crops[0][0], targets[0]), one / 2)


def test_perplexity_golden() -> None:
    per_batch, per_image = bow_perplexity(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    assert per_image == pytest.approx(math.exp(-math.log(1 + 1e-5)), rel=1e-5)
    assert per_batch == pytest.approx(math.exp(-math.log(0.5 + 1e-5)), rel=1e-4)


# --- vocabulary and weight generator -----------------------------------------------------------


def test_vocabulary_queue_wraps_and_checks_batch() -> None:
    vocab = BoWVocabulary(6, 2)
    assert (vocab.words >= 0).all() and vocab.mu.item() == 0.5
    for step in range(4):
        vocab.push(torch.full((2, 2), float(step)))
    # rows 0-1 hold step 3 (wrapped), 2-3 step 1, 4-5 step 2
    torch.testing.assert_close(vocab.words[:, 0], torch.tensor([3.0, 3, 1, 1, 2, 2]))
    assert int(vocab.pointer) == 2
    with pytest.raises(ConfigError, match="multiple"):
        vocab.push(torch.zeros(4, 2))


def test_sample_local_words_picks_pooled_locations() -> None:
    x = torch.randn(3, 2, 5, 5)
    pooled = F.avg_pool2d(x, 3, stride=1).flatten(2)  # [3, 2, 9]
    torch.manual_seed(1)
    rows = sample_local_words(x)
    for i in range(3):
        assert ((pooled[i].T - rows[i]).abs().sum(1) < 1e-5).any()
    torch.manual_seed(1)
    index = torch.randint(0, 9, (3,))
    torch.testing.assert_close(rows, pooled[torch.arange(3), :, index])
    assert sample_local_words(torch.randn(2, 2, 2, 2)).shape == (2, 2)  # kernel shrinks to the map


def test_weight_generator_formula() -> None:
    torch.manual_seed(0)
    gen = WeightGenerator(3, 4)
    assert gen[0].bias is None and gen[0].out_features == 8 and gen[3].out_features == 4
    v = torch.randn(10, 3) * 5
    w = gen(v)
    torch.testing.assert_close(w.norm(dim=1), torch.ones(10))
    h = F.relu(gen[1](F.normalize(v, dim=1) @ gen[0].weight.T))
    torch.testing.assert_close(w, F.normalize(h @ gen[3].weight.T + gen[3].bias, dim=1))


# --- objective wiring ---------------------------------------------------------------------------


def test_refuses_vit_and_bad_levels() -> None:
    vit = build_vit_tiny(ViTConfig(size="tiny", patch_size=4, depth=1), INFO)
    with pytest.raises(ConfigError, match="resnet18"):
        OBoW(OBoWConfig(num_words=16), vit, INFO)
    with pytest.raises(ConfigError, match="bow_levels"):
        _obow(bow_levels=["block2"])
    with pytest.raises(ConfigError, match="momentum"):
        _obow(momentum_base=1.1)


def test_step_order_teacher_targets_and_no_teacher_gradient() -> None:
    obj = _obow()
    obj.train()
    x = _images()
    words_before = [v.words.clone() for v in obj.vocabularies]
    teacher_before = [p.clone() for p in obj.teacher.network.parameters()]
    torch.manual_seed(0)
    out = obj.training_step({"x": x}, step=1, phase="train")
    out["loss"].backward()
    assert all(p.grad is None for p in obj.teacher.network.parameters())
    assert all(not p.requires_grad for p in obj.teacher.network.parameters())
    assert all(p.grad is not None for p in obj.generators.parameters())
    assert obj.encoder.trunk.conv1.weight.grad is not None
    for v, before in zip(obj.vocabularies, words_before):
        assert int(v.pointer) == 8 and not torch.equal(v.words[:8], before[:8])
        torch.testing.assert_close(v.words[8:], before[8:])
        assert v.mu.item() != 0.5
    for level in ("block3", "block4"):
        assert f"perp_b_{level}" in out and f"perp_i_{level}" in out
    # the teacher moves towards the student only at the step's end, by the cosine momentum
    with torch.no_grad():
        for p in obj.encoder.parameters():
            p.add_(1.0)
    assert all(torch.equal(a, b) for a, b in zip(obj.teacher.network.parameters(), teacher_before))
    obj.on_step_end(step=1, max_steps=10)
    m = obj.teacher.momentum(0, 10)
    assert m == pytest.approx(0.99)
    for t, s, b in zip(obj.teacher.network.parameters(), obj.encoder.parameters(), teacher_before):
        torch.testing.assert_close(t, m * b + (1 - m) * s)


def test_predictions_use_the_vocabulary_before_its_update() -> None:
    obj = _obow()
    obj.train()
    x = _images()
    crops = [[_images(8, 11, 4), _images(8, 11, 5)], [_images(8, 7, 6)]]
    words = [v.words.clone() for v in obj.vocabularies]
    torch.manual_seed(0)
    loss, targets = obj.loss_from_views(x, crops)
    obj.vocabularies.load_state_dict(obj.vocabularies.state_dict())  # keep the updated queue
    # recompute by hand with the pre-update words, the updated μ (targets) and the official formula
    logits = obj.bow_predictions(crops, words)
    torch.testing.assert_close(loss, obow_loss(logits, targets))
    maps = obj.teacher.network.feature_maps(x)
    for i, (vocab, target) in enumerate(zip(obj.vocabularies, targets)):
        dist = squared_distances(maps[i], words[i])  # 4×4 and 2×2 maps: border kept (drop_border=null)
        mu = update_min_distance_mean(torch.tensor(0.5), min_distance_mean(dist))
        torch.testing.assert_close(vocab.mu, mu)
        torch.testing.assert_close(target, bow_target(dist, mu, 10.0))
        torch.testing.assert_close(target.sum(1), torch.ones(8))


def test_border_is_dropped_on_large_maps() -> None:
    info = {"channels": 1, "height": 48, "width": 48}
    obj = _obow(info)
    obj.train()
    x = _images(4, 48)
    words = [v.words.clone() for v in obj.vocabularies]
    torch.manual_seed(0)
    targets = obj.teacher_targets(x)
    maps = obj.teacher.network.feature_maps(x)  # 12×12 and 6×6
    for i, vocab in enumerate(obj.vocabularies):
        inner = maps[i][:, :, 1:-1, 1:-1]
        mu = update_min_distance_mean(torch.tensor(0.5), min_distance_mean(squared_distances(inner, words[i])))
        torch.testing.assert_close(vocab.mu, mu)
    assert all(torch.allclose(t.sum(1), torch.ones(4)) for t in targets)


def test_eval_mode_leaves_vocabulary_alone() -> None:
    obj = _obow()
    obj.eval()
    before = [v.words.clone() for v in obj.vocabularies]
    obj.teacher_targets(_images())
    assert all(torch.equal(v.words, b) and v.mu.item() == 0.5 for v, b in zip(obj.vocabularies, before))


def test_teacher_view_only_flips() -> None:
    x = _images(64)
    v = teacher_view(x)
    same = (v == x).flatten(1).all(1)
    flipped = (v == x.flip(-1)).flatten(1).all(1)
    assert bool((same | flipped).all()) and 10 < int(flipped.sum()) < 54


def test_perplexity_neither_collapsed_nor_uniform_on_digits() -> None:
    from sklearn.datasets import load_digits

    digits = torch.tensor(load_digits().images[:256], dtype=torch.float32).unsqueeze(1) / 8.0 - 1.0
    digits = F.interpolate(digits, size=16, mode="bilinear", antialias=True)
    obj = _obow(num_words=64)
    obj.train()
    opt = torch.optim.SGD(obj.parameters(), lr=0.05, momentum=0.9)
    for step in range(1, 5):
        torch.manual_seed(step)
        out = obj.training_step({"x": digits[(step - 1) * 32: step * 32]}, step=step, phase="train")
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        obj.on_step_end(step=step, max_steps=4)
    assert torch.isfinite(out["loss"])
    for level in ("block3", "block4"):
        assert 1.5 < float(out[f"perp_b_{level}"]) < 0.95 * 64
        assert 1.0 < float(out[f"perp_i_{level}"]) < 0.95 * 64


def test_targets_come_from_the_teacher_not_the_student() -> None:
    obj = _obow()
    obj.train()
    with torch.no_grad():
        for p in obj.encoder.parameters():
            p.mul_(1.5)  # the student moves away from the teacher
    x = _images()
    words = [v.words.clone() for v in obj.vocabularies]
    torch.manual_seed(0)
    targets = obj.teacher_targets(x)
    teacher_maps = obj.teacher.network.feature_maps(x)
    for i, target in enumerate(targets):
        mu = update_min_distance_mean(torch.tensor(0.5), min_distance_mean(squared_distances(teacher_maps[i], words[i])))
        torch.testing.assert_close(target, bow_target(squared_distances(teacher_maps[i], words[i]), mu, 10.0))

"""Tests written to kill specific wrong-method mutants of T-JEPA's masks (see scripts/mutate.py).

Mutants killed here, each of which left every earlier tabular test green:

* the M target sets of a row are identical (one target order drawn per row instead of per
  mask and row);
* the context size drawn with ``int()`` (truncation) instead of ``round()``, which makes the
  largest context size (almost) never drawn.
"""

from __future__ import annotations

import torch

from selfsup_tabular.objectives.masks import MaskSizeRange, sample_jepa_masks, sample_mask_sizes


def test_the_target_sets_of_one_row_are_drawn_independently():
    """With 16 non-context features and 4 targets of 4, identical sets have probability ~1/1820 each."""
    torch.manual_seed(0)
    masks = sample_jepa_masks(256, 20, 4, 4, 4, device="cpu")
    sets = masks.targets.sort(dim=2).values  # [M, B, n_trg]
    same_as_first = (sets == sets[:1]).all(dim=2)[1:]  # [M-1, B]
    # Independent draws: P(set m equals set 0) = 1 / C(16, 4) = 1/1820 per row and mask.
    assert same_as_first.float().mean().item() < 0.01
    # ... and every feature outside the context is a target of some mask about as often as chance says.
    union = torch.zeros(256, 20, dtype=torch.bool)
    for target in masks.targets:
        union.scatter_(1, target, True)
    # E|union| = 16 (1 - (12/16)^4) ≈ 10.94 features per row; identical sets give exactly 4.
    assert 10.0 < union.sum(dim=1).float().mean().item() < 12.0


def test_context_sizes_follow_the_rounded_uniform_formula():
    """n_ctx = min + round((max - min) U): the two end sizes get half the mass of the inner ones.

    With min=2, max=6 (k = 4 steps) the probabilities are 1/8, 1/4, 1/4, 1/4, 1/8; truncation
    (``int``) gives 1/4 to each of 2..5 and ~0 to 6. 20,000 draws: the standard error of each
    frequency is <= 0.0031, so the 0.02 tolerance is > 6 standard errors.
    """
    torch.manual_seed(0)
    draws = 20_000
    context, target = MaskSizeRange(2, 6), MaskSizeRange(1, 1)  # 6 + 1 <= 40: never rejected
    counts = torch.zeros(7)
    for _ in range(draws):
        n_context, n_target = sample_mask_sizes(40, context, target)
        assert n_target == 1
        counts[n_context] += 1
    freq = counts / draws
    expected = torch.tensor([0, 0, 1 / 8, 1 / 4, 1 / 4, 1 / 4, 1 / 8])
    assert torch.allclose(freq, expected, atol=0.02), freq.tolist()


def test_target_sizes_follow_the_rounded_uniform_formula():
    torch.manual_seed(1)
    draws = 20_000
    context, target = MaskSizeRange(1, 1), MaskSizeRange(3, 5)
    counts = torch.zeros(6)
    for _ in range(draws):
        counts[sample_mask_sizes(40, context, target)[1]] += 1
    expected = torch.tensor([0, 0, 0, 1 / 4, 1 / 2, 1 / 4])
    assert torch.allclose(counts / draws, expected, atol=0.02), (counts / draws).tolist()


def test_tjepa_targets_come_from_the_ema_target_encoder():
    """Kills ``tjepa-targets-from-online-encoder``: the loss regresses the *target* encoder's
    latents, so changing only the target encoder changes the loss, and changing only the
    online encoder's parameters leaves the targets (the ``target_std`` diagnostic) alone."""
    from selfsup_tabular.encoders import FTTransformer, FTTransformerConfig
    from selfsup_tabular.objectives import TJEPA, TJEPAConfig

    info = {"num_numerical": 6, "cardinalities": [3, 4], "num_features": 8, "task": "binary", "num_classes": 2}
    torch.manual_seed(0)
    encoder = FTTransformer(FTTransformerConfig(d_token=16, n_layers=1, n_heads=2, d_ffn=32), info)
    objective = TJEPA(TJEPAConfig(predictor_dim=16, predictor_layers=1, predictor_ffn=32), encoder, info)
    objective.eval()
    generator = torch.Generator().manual_seed(1)
    batch = {"numerical": torch.randn(32, 6, generator=generator),
             "categorical": torch.stack([torch.randint(0, 3, (32,), generator=generator),
                                         torch.randint(0, 4, (32,), generator=generator)], 1)}

    def step():
        torch.manual_seed(5)  # the same masks every time
        return objective.training_step(batch, step=1, phase="main")

    base = step()
    with torch.no_grad():
        for parameter in objective.target_encoder.parameters():
            parameter.add_(0.5 * torch.randn_like(parameter))
    moved_target = step()
    assert abs(moved_target["loss"].item() - base["loss"].item()) > 1e-4
    assert abs(moved_target["target_std"].item() - base["target_std"].item()) > 1e-4
    with torch.no_grad():
        for parameter in objective.encoder.parameters():
            parameter.add_(0.5 * torch.randn_like(parameter))
    moved_online = step()
    assert moved_online["target_std"].item() == moved_target["target_std"].item()

"""Tests written to kill specific wrong-method mutants of SSAST/SSAMBA (see scripts/mutate.py).

Mutants killed here:

* ``ssast-gen-targets-at-disc-mask``: the generative MSE compares the predictions made at the
  *generative* mask's positions with targets taken at the *discriminative* mask's positions.
  With independent masks (as released) that loss still falls during training, so only a test
  that recomputes the loss from the two masks sees it.
* ``ssast-infonce-positives-shifted`` (each prediction's positive is its neighbour's patch) and
  ``ssast-disc-targets-at-gen-mask`` (InfoNCE targets taken at the generative mask): both still
  train and passed every other test; the InfoNCE recomputed from the discriminative mask sees them.
"""

from __future__ import annotations

import pytest
import torch

from selfsup_audio.configs import AMBAConfig, ASTConfig, SSAMBAConfig, SSASTConfig
from selfsup_audio.encoders.ast import ASTEncoder
from selfsup_audio.encoders.mamba import AMBAEncoder
from selfsup_audio.objectives.ssamba import SSAMBA
from selfsup_audio.objectives.ssast import SSAST

INFO = {"num_mel_bins": 128, "target_length": 128}


def _ssast(task: str) -> SSAST:
    torch.manual_seed(0)
    encoder = ASTEncoder(ASTConfig(embed_dim=32, depth=1, num_heads=2), INFO)
    return SSAST(SSASTConfig(num_masked=20, task=task), encoder, INFO)


def _ssamba(task: str) -> SSAMBA:
    torch.manual_seed(0)
    encoder = AMBAEncoder(AMBAConfig(embed_dim=32, depth=2), INFO)
    return SSAMBA(SSAMBAConfig(num_masked=20, task=task), encoder, INFO)


def _fixed_masks(objective: SSAST, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint masks; the objective's sampler returns them in order (discriminative, generative)."""
    generator = torch.Generator().manual_seed(3)
    order = torch.rand(batch, objective.encoder.num_patches, generator=generator).argsort(dim=1)
    mask_d, mask_g = order[:, :20].contiguous(), order[:, 20:40].contiguous()
    queue = [mask_d, mask_g]
    objective.sample_mask = lambda b, device: queue.pop(0)  # the sampler is the only thing replaced
    return mask_d, mask_g


def _one_step(build, task):
    """One training step on fixed input and masks, in eval mode (no dropout / drop-path: the
    recomputations in the tests must see the same network); ``at(mask)`` gathers the raw patches."""
    objective = build(task)
    objective.eval()
    torch.manual_seed(1)
    x = torch.randn(4, 128, 128).cumsum(1) * 0.05
    mask_d, mask_g = _fixed_masks(objective, 4)
    out = objective.training_step({"x": x}, step=1, phase="main")
    patches = objective.encoder.unfold(x)
    at = lambda m: torch.gather(patches, 1, m[..., None].expand(-1, -1, patches.shape[-1]))  # noqa: E731
    return objective, x, mask_d, mask_g, out, at


@pytest.mark.parametrize("build", [_ssast, _ssamba], ids=["ssast", "ssamba"])
@pytest.mark.parametrize("task", ["joint", "generative"])
def test_generative_loss_is_the_mse_against_the_patches_at_the_generative_mask(build, task):
    objective, x, mask_d, mask_g, out, at = _one_step(build, task)
    predictions = objective.gen_head(objective.masked_outputs(x, mask_g))
    right = torch.mean((predictions - at(mask_g)) ** 2)
    wrong = torch.mean((predictions - at(mask_d)) ** 2)
    assert abs(right.item() - wrong.item()) > 1e-3  # the two candidate losses are distinguishable
    assert out["mse"].item() == pytest.approx(right.item(), rel=1e-5)


def _infonce_code_variant(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """SSAST's released InfoNCE written out: S[b, i, j] = x_i . c_j, -mean log softmax_j S[b, i, i]."""
    scores = targets @ predictions.transpose(1, 2)
    return -(scores.diagonal(dim1=1, dim2=2) - scores.logsumexp(dim=-1)).mean()


@pytest.mark.parametrize("build", [_ssast, _ssamba], ids=["ssast", "ssamba"])
@pytest.mark.parametrize("task", ["joint", "discriminative"])
def test_discriminative_loss_is_the_infonce_against_the_patches_at_the_discriminative_mask(build, task):
    """The positive of the prediction at masked position i is the raw patch at i (not a neighbour's
    patch, not a patch of the generative mask)."""
    objective, x, mask_d, mask_g, out, at = _one_step(build, task)
    predictions = objective.disc_head(objective.masked_outputs(x, mask_d))
    right = _infonce_code_variant(predictions, at(mask_d)).item()
    for wrong in (at(mask_d).roll(1, dims=1), at(mask_g)):  # the two mutants' targets
        assert abs(right - _infonce_code_variant(predictions, wrong).item()) > 1e-3
    assert out["nce"].item() == pytest.approx(right, rel=1e-5)


@pytest.mark.parametrize("build", [_ssast, _ssamba], ids=["ssast", "ssamba"])
def test_generative_gradient_reaches_only_the_generative_masks_outputs(build):
    """d L_g / d(encoder output) is non-zero exactly at the generative mask's positions."""
    objective = build("generative")
    objective.eval()
    torch.manual_seed(1)
    x = torch.randn(2, 128, 128).cumsum(1) * 0.05
    mask_d, mask_g = _fixed_masks(objective, 2)
    captured = {}
    encode = objective.encoder.encode
    encode_at = getattr(objective.encoder, "encode_at", None)

    def encode_and_keep(tokens):
        out = encode(tokens)
        out.retain_grad()
        captured["out"] = out
        return out

    def encode_at_and_keep(tokens, index):  # the AST computes only the outputs at ``index``
        out = encode_at(tokens, index)
        out.retain_grad()
        captured["out"], captured["index"] = out, index
        return out

    objective.encoder.encode = encode_and_keep
    if encode_at is not None:
        objective.encoder.encode_at = encode_at_and_keep
    out = objective.training_step({"x": x}, step=1, phase="main")
    out["loss"].backward()
    if encode_at is not None:  # outputs only at the indices asked for: they must be the generative mask's
        assert torch.equal(captured["index"], mask_g)
        assert (captured["out"].grad.abs().sum(-1) > 0).all()
        return
    grad = captured["out"].grad[:, objective.encoder.num_cls_tokens :].abs().sum(-1)  # [B, N]
    touched = grad > 0
    expected = torch.zeros_like(touched).scatter_(1, mask_g, True)
    assert torch.equal(touched, expected)
    assert not touched.gather(1, mask_d).any()

"""AST encoder and ssast objective: conformance kits, shapes, masking, learning, plugin import."""

from __future__ import annotations

import math

import pytest
import torch
from selfsup.errors import ConfigError
from selfsup.testing import EncoderContract, ObjectiveContract, PluginImportContract
from selfsup_audio.configs import ASTConfig, SSASTConfig
from selfsup_audio.encoders.ast import ASTEncoder
from selfsup_audio.objectives.ssast import SSAST, PatchTokenEncoder

TINY_DATA = {"train_per_class": 2, "val_per_class": 1, "test_per_class": 1}
TINY_ENCODER = {"embed_dim": 32, "depth": 2, "num_heads": 2}
INFO = {"num_mel_bins": 128, "target_length": 128}


class TestASTContract(EncoderContract):
    modality = "audio"
    dataset = "synthetic-sounds"
    dataset_config = TINY_DATA
    encoder = "ast"
    encoder_config = TINY_ENCODER
    capabilities = (PatchTokenEncoder,)


class TestASTFrameContract(TestASTContract):
    encoder_config = {**TINY_ENCODER, "tokens": "frame", "num_cls_tokens": 1, "pool": "cls"}


class TestSSASTContract(ObjectiveContract):
    modality = "audio"
    dataset = "synthetic-sounds"
    dataset_config = TINY_DATA
    encoder = "ast"
    encoder_config = TINY_ENCODER
    objective = "ssast"


class TestSSASTFrameSharedMaskContract(TestSSASTContract):
    encoder_config = {**TINY_ENCODER, "tokens": "frame"}
    objective_config = {"independent_masks": False, "nce_variant": "paper"}


class TestAudioPluginImport(PluginImportContract):
    plugin_module = "selfsup_audio.plugin"
    heavy_modules = ("torchaudio", "scipy")


@pytest.mark.parametrize("size,dim,depth,heads", [("tiny", 192, 12, 3), ("small", 384, 12, 6), ("base", 768, 12, 12)])
def test_paper_sizes(size, dim, depth, heads):
    enc = ASTEncoder(ASTConfig(size=size), {"num_mel_bins": 128, "target_length": 1024})
    assert enc.embed_dim == dim and len(enc.blocks) == depth and enc.blocks[0].attn.num_heads == heads
    assert enc.num_patches == 512 and enc.pos_embed.shape[1] == 514
    if size == "tiny":
        params = sum(p.numel() for p in enc.parameters())
        assert 5e6 < params < 7e6  # ~6M (README)


def test_patch_and_frame_tokens_of_a_10s_clip_are_512():
    info = {"num_mel_bins": 128, "target_length": 1024}
    patch = ASTEncoder(ASTConfig(embed_dim=16, depth=1, num_heads=1), info)
    frame = ASTEncoder(ASTConfig(embed_dim=16, depth=1, num_heads=1, tokens="frame"), info)
    assert patch.grid == (8, 64) and frame.grid == (1, 512)
    x = torch.randn(2, 1024, 128)
    assert patch.unfold(x).shape == (2, 512, 256) and frame.unfold(x).shape == (2, 512, 256)
    assert patch.embed(x).shape == (2, 512, 16)


def test_unfold_is_frequency_major():
    enc = ASTEncoder(ASTConfig(embed_dim=16, depth=1, num_heads=1), INFO)
    x = torch.zeros(1, 128, 128)  # [B, T, F]
    x[0, 16:32, 0:16] = 1.0  # time patch 1, frequency patch 0 -> token 0 * 8 + 1
    x[0, 0:16, 16:32] = 2.0  # time patch 0, frequency patch 1 -> token 1 * 8 + 0
    patches = enc.unfold(x)
    assert patches[0, 1].eq(1).all() and patches[0, 8].eq(2).all()
    assert patches[0].abs().sum() == 16 * 16 * 3


def test_bad_patch_shape_is_a_config_error():
    with pytest.raises(ConfigError, match="whole number"):
        ASTEncoder(ASTConfig(embed_dim=16, depth=1, num_heads=1), {"num_mel_bins": 128, "target_length": 100})


def _objective(**kwargs):
    torch.manual_seed(0)
    enc = ASTEncoder(ASTConfig(embed_dim=32, depth=2, num_heads=2), INFO)
    return SSAST(SSASTConfig(**kwargs), enc, INFO)


def test_masked_tokens_are_replaced_before_positions():
    obj = _objective(num_masked=10)
    x = torch.randn(2, 128, 128) * 0.5
    mask = obj.sample_mask(2, torch.device("cpu"))
    a = obj.masked_outputs(x, mask)
    x2 = x.clone()
    patches = obj.encoder.unfold(x2)
    # changing a masked patch's content does not change anything (it is replaced by mask_embed)
    t = int(mask[0, 0])
    f, tt = divmod(t, obj.encoder.grid[1])
    x2[0, tt * 16 : (tt + 1) * 16, f * 16 : (f + 1) * 16] += 5.0
    assert not torch.equal(obj.encoder.unfold(x2), patches)
    torch.testing.assert_close(obj.masked_outputs(x2, mask), a)


def test_independent_masks_per_task_and_initial_losses():
    obj = _objective()
    assert obj.num_masked == 50 and obj.cluster
    torch.manual_seed(1)
    x = torch.randn(8, 128, 128) * 0.5
    out = obj.training_step({"x": x}, step=1, phase="main")
    # L_d ≈ log N_m at init; L_g ≈ Var(x) = 0.25 plus the output variance of the default-initialised
    # head (PyTorch Linear init, as in SSAST); joint = L_d + 10 L_g
    assert out["nce"].item() == pytest.approx(math.log(50), abs=0.1)
    assert 0.25 < out["mse"].item() < 0.45
    assert out["loss"].item() == pytest.approx(out["nce"].item() + 10 * out["mse"].item(), rel=1e-5)
    calls = []
    original = obj.sample_mask
    obj.sample_mask = lambda b, d: calls.append(1) or original(b, d)
    obj.training_step({"x": x}, step=1, phase="main")
    assert len(calls) == 2  # two masks, as released


def test_frame_tokens_switch_to_uniform_masking():
    torch.manual_seed(0)
    enc = ASTEncoder(ASTConfig(embed_dim=32, depth=1, num_heads=2, tokens="frame"), INFO)
    assert not SSAST(SSASTConfig(), enc, INFO).cluster


def test_single_task_variants():
    x = torch.randn(4, 128, 128) * 0.5
    d = _objective(task="discriminative")
    assert d.gen_head is None and "mse" not in d.training_step({"x": x}, step=1, phase="main")
    g = _objective(task="generative")
    assert g.disc_head is None and "nce" not in g.training_step({"x": x}, step=1, phase="main")
    with pytest.raises(ConfigError):
        _objective(num_masked=63)


def test_a_few_steps_reduce_the_loss():
    obj = _objective(num_masked=30)
    torch.manual_seed(2)
    x = torch.randn(16, 128, 128).cumsum(1) * 0.05  # smooth along time: learnable structure
    opt = torch.optim.Adam(obj.parameters(), lr=1e-3)
    losses = []
    for _ in range(25):
        out = obj.training_step({"x": x}, step=1, phase="main")
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(out["loss"].item())
    assert sum(losses[-5:]) / 5 < losses[0] * 0.9


@pytest.mark.parametrize("attention", ["fused", "materialised"])
def test_encode_at_equals_the_full_encoding_gathered(attention):
    """The last block computing only the asked-for outputs changes nothing but the work; the two
    attention implementations give the same outputs (float32 rounding)."""
    torch.manual_seed(0)
    enc = ASTEncoder(ASTConfig(embed_dim=32, depth=2, num_heads=2, attention=attention), INFO)
    tokens = enc.embed(torch.randn(3, 128, 128))
    index = torch.stack([torch.randperm(enc.num_patches)[:7] for _ in range(3)])
    full = enc.encode(tokens)[:, enc.num_cls_tokens :]
    expected = torch.gather(full, 1, index[..., None].expand(-1, -1, full.shape[-1]))
    torch.testing.assert_close(enc.encode_at(tokens, index), expected, rtol=1e-5, atol=1e-6)
    torch.manual_seed(0)
    other = ASTEncoder(ASTConfig(embed_dim=32, depth=2, num_heads=2,
                                 attention="fused" if attention == "materialised" else "materialised"), INFO)
    torch.testing.assert_close(other.encode(tokens.detach()), enc.encode(tokens.detach()), rtol=1e-5, atol=1e-6)


def test_bad_attention_is_a_config_error():
    with pytest.raises(ConfigError, match="attention"):
        ASTEncoder(ASTConfig(attention="flash"), INFO)


def test_joint_step_equals_two_separate_masked_passes():
    """The released code's two passes (``mpc`` with the first mask, ``mpg`` with the second), run
    as one encoder call over 2B clips: same outputs per task as two separate passes."""
    obj = _objective(num_masked=10)
    x = torch.randn(3, 128, 128) * 0.5
    mask_d, mask_g = obj.sample_mask(3, x.device), obj.sample_mask(3, x.device)
    out_d, out_g = obj._two_passes(x, mask_d, mask_g)
    torch.testing.assert_close(out_d, obj.masked_outputs(x, mask_d), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out_g, obj.masked_outputs(x, mask_g), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(out_d, obj.masked_outputs(x, mask_g))  # the masks really differ

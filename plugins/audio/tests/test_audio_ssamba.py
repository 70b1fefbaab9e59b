"""The bidirectional Mamba encoder (amba) and the ssamba objective: conformance kits, paper sizes,
bidirectionality, the scan choice inside the model, initial losses and learning."""

from __future__ import annotations

import math

import pytest
import torch
from selfsup.errors import ConfigError, IncompatibleComponentsError
from selfsup.registry import get_registry
from selfsup.testing import EncoderContract, ObjectiveContract
from selfsup_audio.configs import AMBAConfig, ASTConfig, SSAMBAConfig
from selfsup_audio.encoders.ast import ASTEncoder
from selfsup_audio.encoders.mamba import AMBAEncoder
from selfsup_audio.objectives.ssamba import SSAMBA
from selfsup_audio.objectives.ssast import SSAST, PatchTokenEncoder

TINY_DATA = {"train_per_class": 2, "val_per_class": 1, "test_per_class": 1}
TINY_ENCODER = {"embed_dim": 32, "depth": 2}
INFO = {"num_mel_bins": 128, "target_length": 128}


class TestAMBAContract(EncoderContract):
    modality = "audio"
    dataset = "synthetic-sounds"
    dataset_config = TINY_DATA
    encoder = "amba"
    encoder_config = TINY_ENCODER
    capabilities = (PatchTokenEncoder,)


class TestAMBAFrameRMSNormContract(TestAMBAContract):
    encoder_config = {**TINY_ENCODER, "tokens": "frame", "norm": "rmsnorm", "pool": "cls"}


class TestSSAMBAContract(ObjectiveContract):
    modality = "audio"
    dataset = "synthetic-sounds"
    dataset_config = TINY_DATA
    encoder = "amba"
    encoder_config = TINY_ENCODER
    objective = "ssamba"


def _encoder(**kwargs) -> AMBAEncoder:
    torch.manual_seed(0)
    return AMBAEncoder(AMBAConfig(**{**TINY_ENCODER, **kwargs}), INFO)


@pytest.mark.parametrize("size,dim", [("tiny", 192), ("small", 384), ("base", 768)])
def test_paper_sizes(size, dim):
    enc = AMBAEncoder(AMBAConfig(size=size), {"num_mel_bins": 128, "target_length": 1024})
    assert enc.embed_dim == dim and len(enc.layers) == 24  # 12 forward/backward pairs
    assert enc.num_patches == 512 and enc.pos_embed.shape[1] == 513  # one CLS token
    mixer = enc.layers[0].mixer
    assert mixer.in_proj.out_features == 4 * dim  # x and z, expand 2
    assert mixer.forward_branch.A_log.shape == (2 * dim, 16) and mixer.forward_branch.dt_rank == math.ceil(dim / 16)
    if size == "tiny":
        params = sum(p.numel() for p in enc.parameters())
        assert 6.5e6 < params < 7.2e6  # SSAMBA-tiny ~6.8M (third-party count); SSAST-tiny ~6M


def test_tokenisation_is_the_asts():
    """Same patch grid, unfold targets and (with equal conv weights) embeddings as the AST."""
    amba = _encoder()
    ast = ASTEncoder(ASTConfig(embed_dim=32, depth=1, num_heads=1), INFO)
    ast.patch_embed.load_state_dict(amba.patch_embed.state_dict())
    x = torch.randn(2, 128, 128)
    assert amba.grid == ast.grid == (8, 8)
    torch.testing.assert_close(amba.unfold(x), ast.unfold(x))
    torch.testing.assert_close(amba.embed(x), ast.embed(x))


def test_every_output_sees_the_whole_sequence():
    """Bidirectional: the first patch's output depends on the last patch, and vice versa."""
    enc = _encoder(drop_path_rate=0.0).eval()
    tokens = torch.randn(1, 64, 32, requires_grad=True)
    out = enc.encode(tokens) @ torch.randn(32)  # not .sum(): a normalised row sums to a constant
    (grad_first,) = torch.autograd.grad(out[0, 1], tokens, retain_graph=True)
    (grad_last,) = torch.autograd.grad(out[0, -1], tokens)
    assert grad_first[0, -1].abs().sum() > 0 and grad_last[0, 0].abs().sum() > 0


def test_v2_mixer_runs_one_branch_on_the_reversed_sequence():
    """With the backward branch's weights tied to the forward branch's, the v2 mixer
    (``(y_fwd + flip(y_bwd(flip(x)))) / 2``) commutes with reversing the sequence; untied, it does not."""
    mixer = _encoder(drop_path_rate=0.0).layers[0].mixer.eval()
    hidden = torch.randn(1, 40, 32)
    with torch.no_grad():
        assert not torch.allclose(mixer(hidden.flip(1)).flip(1), mixer(hidden), atol=1e-4)
        mixer.backward_branch.load_state_dict(mixer.forward_branch.state_dict())
        torch.testing.assert_close(mixer(hidden.flip(1)).flip(1), mixer(hidden), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("scan", ["reference", "chunked", "cpu-kernel"])
def test_mirrored_blocks_equal_vims_flips(scan):
    """A branch with ``reverse``, a mixer and a block with ``mirrored`` equal Vim's formulation,
    which flips the sequence in and the outputs back; so does the whole encoder (written out here
    with flips, as ``both_models.py`` / Vim's forward run the backward block of each pair)."""
    encoder = _encoder(scan=scan, drop_path_rate=0.0).eval()
    mixer = encoder.layers[1].mixer
    hidden = torch.randn(2, 37, encoder.embed_dim)
    x, z = torch.randn(2, 2, 37, mixer.out_proj.in_features).unbind(0)
    flip = lambda t: t.flip(1)  # noqa: E731
    with torch.no_grad():
        branch = mixer.backward_branch
        torch.testing.assert_close(branch(x, z, reverse=True), flip(branch(flip(x), flip(z))), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(mixer(hidden, mirrored=True), flip(mixer(flip(hidden))), atol=1e-5, rtol=1e-5)
        tokens = encoder.embed(torch.randn(2, 128, 128) * 0.5)
        hidden = torch.cat([encoder.cls_token.expand(2, -1, -1), tokens], dim=1) + encoder.pos_embed
        residual = None
        for forward_block, backward_block in zip(encoder.layers[0::2], encoder.layers[1::2]):
            h_f, r_f = forward_block(hidden, residual)
            h_b, r_b = backward_block(flip(hidden), None if residual is None else flip(residual))
            hidden, residual = h_f + flip(h_b), r_f + flip(r_b)
        expected = encoder.norm_f(encoder.norm_f(residual + hidden))
        torch.testing.assert_close(encoder.encode(tokens), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("scan", ["chunked", "cpu-kernel"])
def test_fast_and_reference_scans_give_the_same_model_output_and_gradients(scan):
    fast = _encoder(scan=scan, scan_chunk=8)
    reference = _encoder(scan="reference")
    reference.load_state_dict(fast.state_dict())
    x = torch.randn(2, 128, 128) * 0.5
    torch.manual_seed(0)
    out = fast({"x": x})
    torch.manual_seed(0)  # the same drop-path draws
    ref = reference({"x": x})
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    out.square().sum().backward()
    ref.square().sum().backward()
    for (name, p), q in zip(fast.named_parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-4, msg=lambda m: f"{name}: {m}")


def test_delta_bias_init_follows_vim_v2():
    """Vim v2 marks only the forward ``dt_proj.bias`` ``_no_reinit``: its Δ starts log-uniform in
    [1e-3, 0.1]; ``dt_proj_b``'s bias is zeroed (Δ = softplus(0)). Both Δ weights are U(±dt_rank^-0.5)."""
    for layer in _encoder().layers:
        forward, backward = layer.mixer.forward_branch, layer.mixer.backward_branch
        dt_forward = torch.nn.functional.softplus(forward.dt_proj.bias)
        assert dt_forward.min() >= 1e-3 * (1 - 1e-4) and dt_forward.max() <= 0.1 * (1 + 1e-4)
        assert torch.equal(backward.dt_proj.bias, torch.zeros_like(backward.dt_proj.bias))
        for branch in (forward, backward):
            assert branch.dt_proj.weight.abs().max() <= branch.dt_rank ** -0.5
    mamba_init = _encoder(backward_delta_bias="mamba").layers[0].mixer.backward_branch
    dt_backward = torch.nn.functional.softplus(mamba_init.dt_proj.bias)
    assert dt_backward.min() >= 1e-3 * (1 - 1e-4) and dt_backward.max() <= 0.1 * (1 + 1e-4)


@pytest.mark.parametrize("bad", [{"size": "huge"}, {"depth": 3}, {"norm": "batch"}, {"scan": "cuda"},
                                 {"pool": "max"}, {"drop_path_rate": 1.0}, {"backward_delta_bias": "one"}])
def test_bad_configs_are_config_errors(bad):
    with pytest.raises(ConfigError, match="encoder_config"):
        AMBAEncoder(AMBAConfig(**{**TINY_ENCODER, **bad}), INFO)


def test_bad_patch_shape_is_a_config_error():
    with pytest.raises(ConfigError, match="whole number"):
        AMBAEncoder(AMBAConfig(**TINY_ENCODER), {"num_mel_bins": 128, "target_length": 100})


def test_ssamba_is_ssast_on_the_mamba_encoder_and_registered_for_audio():
    spec = get_registry().get("objective", "ssamba", modality="audio")
    assert spec.supports("audio") and not spec.supports("vision")
    assert spec.trainer_defaults["optimizer"] == "adamw" and spec.trainer_defaults["lr"] == 1e-4
    # SSAMBA's (and SSAST's) optimiser decays every parameter, biases and norms included
    for name in ("ssamba", "ssast"):
        defaults = get_registry().get("objective", name, modality="audio").trainer_defaults
        assert defaults["exclude_bias_and_norm_from_weight_decay"] is False and defaults["weight_decay"] > 0
    assert get_registry().get("encoder", "audio-mamba", modality="audio").name == "amba"
    obj = SSAMBA(SSAMBAConfig(), _encoder(), INFO)
    assert isinstance(obj, SSAST) and obj.num_masked == round(300 / 512 * 64) and obj.cluster
    ast = ASTEncoder(ASTConfig(embed_dim=32, depth=1, num_heads=1), INFO)
    with pytest.raises(IncompatibleComponentsError, match="encoder='amba'"):
        SSAMBA(SSAMBAConfig(), ast, INFO)


def test_initial_losses_and_two_masks():
    obj = SSAMBA(SSAMBAConfig(num_masked=50), _encoder(), INFO)
    torch.manual_seed(1)
    x = torch.randn(8, 128, 128) * 0.5
    calls = []
    original = obj.sample_mask
    obj.sample_mask = lambda b, d: calls.append(1) or original(b, d)
    out = obj.training_step({"x": x}, step=1, phase="main")
    assert len(calls) == 2  # independent masks for the two tasks, as released
    assert out["nce"].item() == pytest.approx(math.log(50), abs=0.1)  # InfoNCE at init ≈ log N_m
    assert 0.25 < out["mse"].item() < 0.45  # ≈ Var(x) = 0.25 plus the head's output variance
    assert out["loss"].item() == pytest.approx(out["nce"].item() + 10 * out["mse"].item(), rel=1e-5)


def test_a_few_steps_reduce_the_loss():
    torch.manual_seed(0)
    obj = SSAMBA(SSAMBAConfig(num_masked=30), _encoder(drop_path_rate=0.0), INFO)
    torch.manual_seed(2)
    x = torch.randn(8, 128, 128).cumsum(1) * 0.05  # smooth along time: learnable structure
    opt = torch.optim.AdamW(obj.parameters(), lr=2e-3)
    losses = []
    for _ in range(20):
        out = obj.training_step({"x": x}, step=1, phase="main")
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(out["loss"].item())
    assert sum(losses[-5:]) / 5 < losses[0] * 0.9


def test_tiny_ssamba_pretrain_end_to_end(tmp_path):
    from selfsup import load_encoder, pretrain

    result = pretrain(
        modality="audio", objective="ssamba", encoder="amba", run_dir=tmp_path / "run",
        data={"train_per_class": 4, "val_per_class": 1, "test_per_class": 2},
        encoder_config={"embed_dim": 16, "depth": 2}, evaluators=["linear-probe"],
        trainer={"max_steps": 2, "batch_size": 8, "progress": "off", "log_every": 1},
    )
    assert math.isfinite(result.metrics["linear-probe/accuracy"])
    assert {"loss", "nce", "mse"} <= set(result.history[-1])
    assert isinstance(load_encoder(tmp_path / "run"), AMBAEncoder)


def test_ssamba_picks_its_encoder_and_refuses_another_before_training(tmp_path):
    """`selfsup pretrain modality=audio objective=ssamba` needs no encoder key (it used to fail on the AST)."""
    from selfsup import pretrain
    from selfsup.config import resolve

    resolved = resolve({"modality": "audio", "objective": "ssamba"}, get_registry())
    assert resolved.encoder.name == "amba" and resolved.config.encoder == "amba"
    assert resolve({"modality": "audio"}, get_registry()).encoder.name == "ast"  # ssast keeps the modality's
    with pytest.raises(IncompatibleComponentsError, match="Objective 'ssamba' .* trains only the encoder\\(s\\) amba .*not 'ast'.*Use encoder=amba"):
        resolve({"modality": "audio", "objective": "ssamba", "encoder": "ast"}, get_registry())
    result = pretrain(
        modality="audio", objective="ssamba", run_dir=tmp_path / "run", evaluators=[], data=TINY_DATA,
        encoder_config=TINY_ENCODER, trainer={"max_steps": 1, "batch_size": 4, "progress": "off"},
    )
    assert type(result.encoder).__name__ == "AMBAEncoder" and len(result.history) == 1

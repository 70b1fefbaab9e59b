"""MAE: the loss's golden values, masks, positions, patch order, and equality with the official model.

The official comparison: ``facebookresearch/mae@efb2a80`` ``models_mae.py`` (run from a copy,
with two edits needed by today's libraries: ``qk_scale=None`` dropped from the timm ``Block``
calls, ``np.float`` → ``np.float64`` in ``util/pos_embed.py``), built as
``MaskedAutoencoderViT(img_size=16, patch_size=4, in_chans=3, embed_dim=32, depth=2,
num_heads=4, decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2, mlp_ratio=4,
norm_layer=partial(nn.LayerNorm, eps=1e-6))``, every parameter but the position embeddings
overwritten by :func:`_fill` (same names, same order), on the image of :func:`_image` with
``torch.manual_seed(123)`` before ``forward`` (its ``torch.rand`` noise is the first draw).
It returned 1.00269759 (``norm_pix_loss=True``) and 0.23462892 (``False``), with 24 masked
patches; ours returned the same values and bit-identical predictions and masks.
"""

from __future__ import annotations

import math

import pytest
import torch

from selfsup_vision.configs_mim import MAEConfig, MAEViTConfig
from selfsup_vision.encoders.mae_vit import build_mae_vit, patchify, random_masking, sincos_2d
from selfsup_vision.losses.mae import mae_loss, normalised_patch_targets
from selfsup_vision.objectives.mae import MAE


def _fill(named: list[tuple[str, torch.nn.Parameter]], seed: int = 0) -> None:
    generator = torch.Generator().manual_seed(seed)
    for name, p in sorted(named, key=lambda kv: kv[0]):
        if not name.endswith("pos_embed"):
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.1)


def _image() -> torch.Tensor:
    return torch.linspace(-1, 1, 2 * 3 * 16 * 16).reshape(2, 3, 16, 16).sin() * 0.9


def _small_mae(norm_pix: bool = True) -> MAE:
    encoder = build_mae_vit(MAEViTConfig(patch_size=4, embed_dim=32, depth=2, num_heads=4), {"channels": 3, "height": 16, "width": 16})
    return MAE(MAEConfig(decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2, norm_pix_loss=norm_pix), encoder, {})


@pytest.mark.parametrize(("norm_pix", "official"), [(True, 1.00269759), (False, 0.23462892)])
def test_loss_equals_the_official_models_on_a_fixed_input(norm_pix: bool, official: float) -> None:
    model = _small_mae(norm_pix)
    _fill([(name.split(".", 1)[1], p) for name, p in model.named_parameters()])
    torch.manual_seed(123)
    noise = torch.rand(2, 16)
    loss, _, mask = model.loss(_image(), noise)
    assert int(mask.sum()) == 24
    assert loss.item() == pytest.approx(official, rel=2e-6)


def test_parameter_names_are_the_official_ones() -> None:
    names = {name.split(".", 1)[1].split(".")[0] for name, _ in _small_mae().named_parameters()}
    assert names == {
        "patch_embed", "cls_token", "pos_embed", "blocks", "norm", "decoder_embed", "mask_token",
        "decoder_pos_embed", "decoder_blocks", "decoder_norm", "decoder_pred",
    }


def test_loss_golden_value_counts_only_masked_patches() -> None:
    patches = torch.tensor([[[1.0, 3.0], [0.0, 4.0]]])  # two patches of two values
    pred = torch.tensor([[[0.0, 0.0], [100.0, -100.0]]])  # the visible (second) patch is far off
    mask = torch.tensor([[1.0, 0.0]])
    # raw pixels: ((0-1)^2 + (0-3)^2) / 2 = 5 on the one masked patch
    assert mae_loss(pred, patches, mask, norm_pix=False).item() == pytest.approx(5.0)
    # normalised: mean 2, unbiased var 2 -> target ±1/sqrt(2 + 1e-6); error 1/(2 + 1e-6)
    assert mae_loss(pred, patches, mask, norm_pix=True).item() == pytest.approx(1 / (2 + 1e-6), rel=1e-6)
    # both patches masked: (5 + (100^2 + 104^2)/2) / 2 for raw pixels
    both = mae_loss(pred, patches, torch.ones(1, 2), norm_pix=False).item()
    assert both == pytest.approx((5 + (100**2 + 104**2) / 2) / 2)


def test_visible_patches_get_no_gradient() -> None:
    torch.manual_seed(0)
    patches = torch.randn(3, 8, 12)
    pred = torch.randn(3, 8, 12, requires_grad=True)
    mask = (torch.rand(3, 8) < 0.75).float()
    mae_loss(pred, patches, mask).backward()
    assert pred.grad is not None
    assert torch.all(pred.grad[mask == 0] == 0)
    assert torch.all(pred.grad[mask == 1].abs().sum(-1) > 0)


def test_normalised_targets_use_the_unbiased_variance() -> None:
    out = normalised_patch_targets(torch.tensor([[1.0, 2.0, 3.0]]))
    assert out[0].tolist() == pytest.approx([-1 / math.sqrt(1 + 1e-6), 0.0, 1 / math.sqrt(1 + 1e-6)])


def test_random_masking_keeps_the_lowest_noise_patches() -> None:
    x = torch.arange(8, dtype=torch.float32).reshape(1, 8, 1)
    noise = torch.tensor([[0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4]])
    kept, mask, ids_restore = random_masking(x, 0.75, noise)
    assert kept.flatten().tolist() == [1.0, 3.0]  # int(8 * 0.25) = 2 patches, lowest noise first
    assert mask.flatten().tolist() == [1, 0, 1, 0, 1, 1, 1, 1]
    shuffled = torch.argsort(noise, dim=1)
    assert torch.equal(torch.gather(shuffled, 1, ids_restore), torch.arange(8).unsqueeze(0))


def test_encoder_sees_only_the_visible_patches() -> None:
    model = _small_mae()
    latent, mask, _ = model.encoder.forward_masked(_image(), 0.75)
    assert latent.shape == (2, 1 + 4, 32)  # class token + 16 * 0.25 visible patches
    assert mask.sum(dim=1).tolist() == [12.0, 12.0]


def test_sincos_positions_golden_values() -> None:
    emb = sincos_2d(4, 2)
    s, c = math.sin(1.0), math.cos(1.0)
    expected = [[0, 0, 0, 0], [0, 1, 0, 1], [s, c, 0, 1], [0, 1, s, c], [s, c, s, c]]
    assert emb.tolist() == [pytest.approx(row) for row in expected]


def test_patchify_order_is_row_major_patches_of_pixel_then_channel() -> None:
    images = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    patches = patchify(images, 2)
    assert patches.shape == (2, 4, 12)
    assert torch.equal(patches[1, 1], images[1, :, 0:2, 2:4].permute(1, 2, 0).reshape(-1))
    assert torch.equal(patches[0, 2], images[0, :, 2:4, 0:2].permute(1, 2, 0).reshape(-1))


def test_probe_embedding_pools_every_patch() -> None:
    model = _small_mae()
    encoder = model.encoder.eval()
    images = _image()
    base = encoder({"x": images})
    changed = images.clone()
    changed[:, :, 12:, 12:] += 1.0  # only the last patch
    assert base.shape == (2, 32)
    assert not torch.allclose(encoder({"x": changed}), base)
    encoder.pool = "cls"
    assert torch.allclose(encoder({"x": images}), encoder.run_blocks(encoder.tokens(images))[:, 0])


def test_bad_sizes_are_named_errors() -> None:
    from selfsup.errors import ConfigError

    with pytest.raises(ConfigError, match="multiple of encoder_config.patch_size=5"):
        build_mae_vit(MAEViTConfig(patch_size=5), {"channels": 3, "height": 32, "width": 32})
    with pytest.raises(ConfigError, match="pool"):
        build_mae_vit(MAEViTConfig(pool="max"), {"channels": 3, "height": 32, "width": 32})
    encoder = build_mae_vit(MAEViTConfig(), {"channels": 3, "height": 32, "width": 32})
    with pytest.raises(ConfigError, match="mask_ratio"):
        MAE(MAEConfig(mask_ratio=1.0), encoder, {})


def test_pretrain_from_the_embedded_default_trains_and_saves_the_encoder(tmp_path) -> None:
    import selfsup

    result = selfsup.pretrain(
        modality="vision", objective="mae", run_dir=tmp_path / "run", evaluators=[],
        encoder_config={"embed_dim": 32, "depth": 1, "num_heads": 2},
        trainer={"max_steps": 3, "batch_size": 16, "progress": "off", "log_every": 1},
    )
    assert result.config["encoder"] == "mae-vit"
    assert (result.run_dir / "encoder.safetensors").is_file()
    reloaded = selfsup.load_encoder(result.run_dir)
    batch = {"x": torch.rand(2, 1, 16, 16) * 2 - 1}
    with torch.no_grad():
        assert torch.allclose(reloaded(batch), result.encoder.eval()(batch), atol=1e-6)

"""The GAN objectives: core conformance kits, phases, D's real slices, EMA, sample grids, a tiny pretrain."""

from __future__ import annotations

import pytest
import torch

from selfsup import pretrain
from selfsup.errors import ConfigError
from selfsup.registry import get_registry
from selfsup.testing import EncoderContract, ObjectiveContract, PluginImportContract
from selfsup_vision.configs import AugSelfGANConfig, BigGANDiscriminatorConfig, DiffAugmentGANConfig
from selfsup_vision.networks.encoder import build_discriminator_trunk
from selfsup_vision.objectives.gan import AugSelfGAN, DiffAugmentGAN

TINY_D = {"channels": 16, "blocks": 2, "downsample_blocks": 2}
TINY_GAN = {"dim_z": 8, "g_channels": 8, "d_steps": 2, "sample_every": 0}
INFO = {"name": "digits", "channels": 1, "image_size": 16, "num_classes": 10}


class TestTrunkContract(EncoderContract):
    modality = "vision"
    dataset = "digits"
    encoder = "biggan-d"
    encoder_config = TINY_D


class TestAugSelfContract(ObjectiveContract):
    modality = "vision"
    dataset = "digits"
    encoder = "biggan-d"
    encoder_config = TINY_D
    objective = "augself-gan"
    objective_config = TINY_GAN


class TestDiffAugmentContract(TestAugSelfContract):
    objective = "diffaugment"


class TestPluginImport(PluginImportContract):
    plugin_module = "selfsup_vision.plugin"
    heavy_modules = ("torch", "torchvision", "sklearn", "scipy")


def _objective(cls=AugSelfGAN, **changes):
    torch.manual_seed(0)
    trunk = build_discriminator_trunk(BigGANDiscriminatorConfig(**TINY_D), INFO)
    config_cls = AugSelfGANConfig if cls is AugSelfGAN else DiffAugmentGANConfig
    return cls(config_cls(**{**TINY_GAN, **changes}), trunk, INFO)


def test_phases_split_networks_and_carry_the_paper_ratio():
    objective = _objective(d_steps=4, g_lr=1e-4)
    d_phase, g_phase = objective.phases()
    assert (d_phase.name, d_phase.repeats, g_phase.name, g_phase.repeats) == ("discriminator", 4, "generator", 1)
    d_ids, g_ids = {id(p) for p in d_phase.parameters}, {id(p) for p in g_phase.parameters}
    assert not d_ids & g_ids
    assert {id(p) for p in objective.encoder.parameters()} <= d_ids
    assert {id(p) for p in objective.augself_heads.parameters()} <= d_ids
    assert g_ids == {id(p) for p in objective.generator.parameters()}
    assert g_phase.optimizer == {"lr": 1e-4} and d_phase.optimizer == {}
    assert not any(p.requires_grad for p in objective.generator_ema.parameters())
    assert len(_objective(DiffAugmentGAN).augself_heads) == 0


def test_each_discriminator_repeat_reads_its_own_real_slice():
    objective = _objective(d_steps=2)
    x = torch.arange(8, dtype=torch.float32).view(8, 1, 1, 1).expand(8, 1, 16, 16)
    batch = {"x": x, "label": torch.arange(8) % 10}
    first, _ = objective._real_slice(batch, step=1)
    second, _ = objective._real_slice(batch, step=1)
    third, _ = objective._real_slice(batch, step=2)
    assert first[:, 0, 0, 0].tolist() == [0, 1, 2, 3] and second[:, 0, 0, 0].tolist() == [4, 5, 6, 7]
    assert third[:, 0, 0, 0].tolist() == [0, 1, 2, 3]


def test_discriminator_step_logs_the_augself_term_and_targets():
    objective = _objective()
    batch = {"x": torch.rand(8, 1, 16, 16) * 2 - 1, "label": torch.arange(8) % 10}
    torch.manual_seed(1)
    out = objective.training_step(batch, step=1, phase="discriminator")
    assert {"loss", "d_loss_real", "d_loss_fake", "d_loss_augself"} <= set(out)
    torch.manual_seed(1)
    plain = _objective(DiffAugmentGAN).training_step(batch, step=1, phase="discriminator")
    assert "d_loss_augself" not in plain
    g = objective.training_step(batch, step=1, phase="generator")
    assert {"loss", "g_loss_adv", "g_loss_augself"} <= set(g)
    torch.testing.assert_close(g["loss"].detach(), g["g_loss_adv"] + g["g_loss_augself"])


def test_discriminator_and_generator_steps_use_the_released_targets(monkeypatch):
    """The objective's wiring pins ``liang-hou/augself-gan:augself-biggan`` (``BigGAN.py`` ``G_D.forward``
    concatenates ``[G_z, x]``: fakes first; ``train_fns.py``: ``D_loss_augself`` = MSE(out[B:], +ω[B:]) +
    MSE(out[:B], −ω[:B]), ``G_loss_augself`` = MSE(out, ω) − MSE(out, −ω)). The predictions and ω are
    read from the real ``diff_augment`` and the real head (a spy and a forward hook, no stand-ins), and
    the logged terms are recomputed from the released formulas."""
    import torch.nn.functional as F

    from selfsup_vision.objectives import gan

    objective = _objective(policy="translation", augself="translation")
    calls: list[tuple[torch.Tensor, torch.Tensor]] = []
    real_augment = gan.diff_augment

    def spy(x, policies, strengths):
        out, omegas = real_augment(x, policies, strengths)
        calls.append((x.detach().clone(), omegas["translation"].detach().clone()))
        return out, omegas

    monkeypatch.setattr(gan, "diff_augment", spy)
    predictions: list[torch.Tensor] = []
    objective.augself_heads["translation"].register_forward_hook(lambda m, i, o: predictions.append(o.detach().clone()))
    batch = {"x": torch.rand(8, 1, 16, 16) * 2 - 1, "label": torch.arange(8) % 10}
    torch.manual_seed(1)
    out = objective.training_step(batch, step=1, phase="discriminator")
    (images, omega), pred = calls[0], predictions[0]
    assert torch.equal(images[4:], batch["x"][:4])  # [fake; real]: this repeat's 4 real rows come second
    assert not torch.equal(images[:4], batch["x"][:4])
    released = F.mse_loss(pred[4:], omega[4:]) + F.mse_loss(pred[:4], -omega[:4])
    swapped = F.mse_loss(pred[:4], omega[:4]) + F.mse_loss(pred[4:], -omega[4:])
    torch.testing.assert_close(out["d_loss_augself"], released)
    assert abs(float(released - swapped)) > 1e-4  # the check can tell the halves apart
    g = objective.training_step(batch, step=1, phase="generator")
    (_, omega), pred = calls[1], predictions[1]
    torch.testing.assert_close(g["g_loss_augself"], F.mse_loss(pred, omega) - F.mse_loss(pred, -omega))


def test_ema_copies_before_start_then_averages():
    objective = _objective(ema_start=2, ema_decay=0.5)
    with torch.no_grad():
        for p in objective.generator.parameters():
            p.add_(1.0)
    objective.on_step_end(step=1, max_steps=10)
    for a, b in zip(objective.generator_ema.parameters(), objective.generator.parameters()):
        assert torch.equal(a, b)
    before = [p.clone() for p in objective.generator_ema.parameters()]
    with torch.no_grad():
        for p in objective.generator.parameters():
            p.add_(2.0)
    objective.on_step_end(step=2, max_steps=10)
    for ema, old, new in zip(objective.generator_ema.parameters(), before, objective.generator.parameters()):
        torch.testing.assert_close(ema, 0.5 * old + 0.5 * new)


def test_sampler_is_attached_outside_the_trunk_state():
    objective = _objective()
    trunk = objective.encoder
    assert set(trunk.state_dict()) == set(build_discriminator_trunk(BigGANDiscriminatorConfig(**TINY_D), INFO).state_dict())
    images = trunk.generator_sampler.sample(5, seed=3, device=torch.device("cpu"))
    again = trunk.generator_sampler.sample(5, seed=3, device=torch.device("cpu"))
    assert images.shape == (5, 1, 16, 16) and torch.equal(images, again)
    assert images.min() >= -1 and images.max() <= 1


def test_bad_settings_are_named():
    with pytest.raises(ConfigError, match="d_steps"):
        _objective(d_steps=0)
    with pytest.raises(ConfigError, match="augself names"):
        _objective(policy="color", augself="color,cutout")
    with pytest.raises(ConfigError, match="d_augself_data='fake'"):
        _objective(d_augself_data="fake")
    with pytest.raises(ConfigError, match="4·2\\^k"):
        torch.manual_seed(0)
        AugSelfGAN(AugSelfGANConfig(**TINY_GAN), build_discriminator_trunk(BigGANDiscriminatorConfig(**TINY_D), {**INFO, "image_size": 28}), {**INFO, "image_size": 28})
    with pytest.raises(ConfigError, match="square"):
        wide = {**INFO, "height": 16, "width": 32}
        AugSelfGAN(AugSelfGANConfig(**TINY_GAN), build_discriminator_trunk(BigGANDiscriminatorConfig(**TINY_D), wide), wide)
    with pytest.raises(ConfigError, match="conditional"):
        unlabelled = {**INFO, "num_classes": None}
        AugSelfGAN(AugSelfGANConfig(**TINY_GAN), build_discriminator_trunk(BigGANDiscriminatorConfig(**TINY_D), unlabelled), unlabelled)


def test_registered_objectives_use_the_paper_settings():
    registry = get_registry()
    augself = registry.get("objective", "augself-gan")
    assert augself.trainer_defaults["lr"] == 2e-4 and list(augself.trainer_defaults["betas"]) == [0.0, 0.999]
    config = augself.default_config()
    assert (config.d_steps, config.d_augself, config.g_augself, config.ema_decay) == (4, 1.0, 1.0, 0.9999)
    plus = registry.get("objective", "augself-gan-plus").default_config()
    assert (plus.translation, plus.cutout) == (0.25, 0.75)


def test_tiny_pretrain_saves_sample_grids_and_probes_the_trunk(tmp_path):
    from PIL import Image

    result = pretrain(
        modality="vision",
        run_dir=tmp_path / "run",
        evaluators=["linear-probe"],
        encoder_config=TINY_D,
        objective_config={**TINY_GAN, "sample_every": 2, "sample_grid": 3},
        trainer={"max_steps": 3, "batch_size": 16, "progress": "off", "log_every": 1},
    )
    # 10 balanced classes (majority 0.10). Measured (seeds 0/1/2): pretrained 0.811/0.817/0.822, random
    # init 0.794/0.767/0.789; 3 steps are no quality claim, but both probes must read the trunk's features.
    assert result.metrics["linear-probe/accuracy"] > 0.10 + 0.6, result.metrics
    assert result.random_init_metrics["linear-probe/accuracy"] > 0.10 + 0.6, result.random_init_metrics
    assert {"loss/discriminator", "loss/generator", "d_loss_augself", "g_loss_augself"} <= set(result.history[-1])
    grids = sorted(p.name for p in (tmp_path / "run" / "samples").iterdir())
    assert grids == ["step-000002.png", "step-000003.png"]
    with Image.open(tmp_path / "run" / "samples" / grids[0]) as grid:
        assert grid.size == (3 * 17 + 1, 3 * 17 + 1)  # 3×3 images of 16 px, 1 px padding


def test_modality_defaults():
    modality = get_registry().get("modality", "vision")
    assert (modality.default_encoder, modality.default_objective, modality.default_dataset) == ("biggan-d", "augself-gan", "digits")
    assert modality.default_evaluators == ("linear-probe", "knn", "fd-local")


@pytest.mark.slow
def test_the_head_learns_translation_from_the_feature_difference_on_real_digits():
    """Faithful small-scale check 3 (methods-vision.md §1), through the objective: ``augself-gan``
    (policy and AugSelf head ``translation``) trained by the real :class:`Trainer` for 150 steps
    (batch 32, 1 D step per G step, Adam lr 1e-3 betas (0, 0.999); trunk 16 channels, 2 DBlocks,
    1 downsampling; G 8 channels) predicts the shifts of the 180 held-out test digits from
    h(T_ω(x)) − h(x) better than the best constant (ω = ½, MSE 0.124).

    Measured (seeds 0/1/2): head MSE 0.077/0.071/0.053 (gain over the constant 0.047/0.053/0.071,
    sd of the MSE 0.012), correlation with ω 0.68/0.84/0.69 (rows) and 0.82/0.79/0.90 (columns).
    Asserted at seed 0: MSE below the constant's by 0.03 and a positive correlation above 0.4 on
    both axes.

    D regresses the real images only (``d_augself_data=real``, the released code's ablation
    ``--SS_D_data real``). With the released targets (real +ω, generated −ω) the linear head
    cannot tell the halves apart at this budget and settles near 0 for both (seed 0: MSE
    0.31-0.40 at 150-300 steps, lr 2e-4 to 2e-3, λ_d 1 or 10; correlation below 0.31): that is
    the objective as released (its targets are pinned by
    ``test_discriminator_and_generator_steps_use_the_released_targets``), not a sign error.
    """
    from selfsup.config import TrainerConfig
    from selfsup.engine.trainer import Trainer
    from selfsup_vision.augment.diffaugment import diff_augment
    from selfsup_vision.configs import DigitsConfig
    from selfsup_vision.datasets.digits import Digits

    data = Digits(DigitsConfig())
    torch.manual_seed(0)
    trunk = build_discriminator_trunk(BigGANDiscriminatorConfig(channels=16, blocks=2, downsample_blocks=1), data.info)
    config = AugSelfGANConfig(**{**TINY_GAN, "d_steps": 1, "policy": "translation", "augself": "translation",
                                 "d_augself_data": "real"})
    objective = AugSelfGAN(config, trunk, data.info)
    trainer = TrainerConfig(max_steps=150, batch_size=32, lr=1e-3, optimizer="adam", betas=[0.0, 0.999],
                            schedule="constant", device="cpu", progress="off", log_every=1000)
    Trainer(trainer, seed=0).fit(objective, data)
    test = data.split("test").__getitems__(list(range(len(data.split("test")))))["x"]
    objective.eval()
    torch.manual_seed(123)
    with torch.no_grad():
        augmented, omega = diff_augment(test, ("translation",), objective.strengths)
        prediction = objective.augself_heads["translation"](trunk.features(augmented) - trunk.features(test))
    target = omega["translation"]
    mse, constant = float(((prediction - target) ** 2).mean()), float(((0.5 - target) ** 2).mean())
    correlation = [float(torch.corrcoef(torch.stack([prediction[:, i], target[:, i]]))[0, 1]) for i in range(2)]
    assert mse < constant - 0.03, (mse, constant)
    assert min(correlation) > 0.4, correlation


def test_generator_class_embeddings_are_not_spectrally_normalised():
    """BigGAN (augself-biggan/BigGAN.py): G's conditional-BN embeddings are plain nn.Embedding even
    with spectral norm on G's convolutions; scaling an embedding row moves the gain by the same amount."""
    from selfsup_vision.networks.biggan import ConditionalBatchNorm2d
    from selfsup_vision.networks.biggan import Generator as BigGANGenerator

    torch.manual_seed(0)
    generator = BigGANGenerator(image_size=8, image_channels=3, channels=8, dim_z=4, num_classes=3).train()
    norms = [m for m in generator.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert norms and all(type(m.gain) is torch.nn.Embedding and type(m.bias) is torch.nn.Embedding for m in norms)
    bn = norms[0]
    x, y = torch.randn(4, 8, 4, 4), torch.tensor([0, 1, 2, 0])
    with torch.no_grad():
        bn.bias.weight.zero_()
        bn.gain.weight.fill_(0.5)
        half = bn(x, y)
        bn.gain.weight.fill_(1.0)
        whole = bn(x, y)
    normalised = bn.norm(x)
    torch.testing.assert_close(half, 1.5 * normalised)
    torch.testing.assert_close(whole, 2.0 * normalised)


@pytest.mark.parametrize("height, width, side", [(28, 28, 32), (16, 32, 32), (12, 12, 16), (100, 60, 128), (4, 4, 8)])
def test_a_size_the_generator_cannot_make_names_the_one_fix(height, width, side):
    from selfsup.errors import DataMismatchError
    from selfsup_vision.objectives.gan import check_generator_size

    with pytest.raises(DataMismatchError, match=rf"has {height}×{width} images\. Set data\.image_size={side}\.$") as caught:
        check_generator_size({"name": "x", "image_size": height, "height": height, "width": width})
    assert caught.value.data_overrides == {"image_size": side}
    check_generator_size({"name": "x", "image_size": side, "height": side, "width": side})  # fits: no error


def test_pretrain_resizes_data_the_generator_cannot_make_and_says_so(tmp_path):
    """The MNIST trap (28 px for a generator of 4·2^k px), on the bundled digits at 12 px: the
    run resizes to 16 px, warns, and records data.image_size=16 so evaluate/load_encoder agree."""
    import json
    import warnings

    from omegaconf import OmegaConf

    from selfsup import load_encoder
    from selfsup.errors import SelfsupWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pretrain(
            modality="vision", run_dir=tmp_path / "run", evaluators=[], data={"image_size": 12},
            encoder_config=TINY_D, objective_config=TINY_GAN,
            trainer={"max_steps": 1, "batch_size": 16, "progress": "off"},
        )
    notes = [str(w.message) for w in caught if issubclass(w.category, SelfsupWarning)]
    assert len(notes) == 1 and "'digits' has 12×12 images" in notes[0]
    assert "Fixed for this run: data.image_size=16" in notes[0]
    assert result.config["data"]["image_size"] == 16
    assert OmegaConf.load(tmp_path / "run" / "config.yaml").data.image_size == 16
    assert json.loads((tmp_path / "run" / "data_info.json").read_text())["image_size"] == 16
    encoder = load_encoder(tmp_path / "run")
    assert encoder({"x": torch.zeros(2, 1, 16, 16)}).shape == (2, encoder.embed_dim)

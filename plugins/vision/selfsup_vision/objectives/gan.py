"""``diffaugment`` and ``augself-gan``: BigGAN-style GANs whose discriminator trunk is the encoder.

The training procedure follows ``liang-hou/augself-gan:augself-biggan/train_fns.py``
(``GAN_training_function``) and ``BigGAN.py`` (``G_D``, ``Discriminator.forward``):

* **Discriminator phase** (``Phase`` repeats = ``d_steps``; each repeat takes its own slice of
  the step's real batch, as BigGAN's loader batch holds batch·num_D_steps images):
  fresh z, y; fakes G(z, y) without gradient; the batch ``[fake; real]`` is augmented by
  DiffAugment T_ω; logits D(T_ω(x)) = w·h + ⟨e(y), h⟩ (projection discriminator) with
  h the trunk's sum-pooled feature; hinge loss. ``augself-gan`` also passes the clean batch
  through the trunk and regresses ω from h(T_ω(x)) − h(x) with one linear head per policy,
  target +ω for the real half and −ω for the fake half (``d_augself_data=real``: the real half
  only, the released code's ablation), weighted by λ_d (``d_augself``).
* **Generator phase**: fresh z, y, fresh ω, gradient through the augmentation; hinge
  generator loss plus λ_g (``g_augself``) times Σ_p MSE(Δ_p, ω_p) − MSE(Δ_p, −ω_p).
* **EMA generator** after every step: G_ema ← G before ``ema_start``, then
  G_ema ← d·G_ema + (1 − d)·G (parameters and BatchNorm statistics), as BigGAN's ``ema``.

Only ``self.encoder`` (the trunk) is saved as ``encoder.safetensors`` and probed; the
generators, the output layer, the projection embedding and the AugSelf heads live in the
objective's ``state_dict`` (so in every checkpoint). The objective attaches a
:class:`GeneratorSampler` over G_ema to the trunk (``encoder.generator_sampler``, a plain
attribute, outside the trunk's ``state_dict``), which the generative evaluators
(``fd-local``, ``fid``) sample from. Every ``sample_every`` steps (and after the last
step) a grid of G_ema samples is saved as ``<run_dir>/samples/step-NNNNNN.png``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import torch
from torch import nn

from selfsup.engine.ema import ema_update, make_target
from selfsup.errors import ConfigError, DataMismatchError
from selfsup.interfaces import Batch, Objective, Phase, StepOutput

from ..augment.diffaugment import POLICY_DIMS, AugmentStrengths, diff_augment, parse_policies
from ..configs import AugSelfGANConfig, DiffAugmentGANConfig
from ..losses.augself_discriminator import augself_discriminator_loss
from ..losses.augself_generator import augself_generator_loss
from ..losses.hinge import hinge_discriminator_loss, hinge_generator_loss
from ..networks.biggan import DiscriminatorTrunk, Generator, SNEmbedding, SNLinear, init_normal

__all__ = ["BigGANObjective", "DiffAugmentGAN", "AugSelfGAN", "GeneratorSampler", "check_generator_size", "generator_side"]


class GeneratorSampler:
    """Draws images from a generator: z ~ N(0, I), labels uniform over the classes.

    Not an ``nn.Module``, so attaching it to the trunk leaves the trunk's parameters and
    ``state_dict`` unchanged.
    """

    def __init__(self, generator: nn.Module, *, dim_z: int, num_classes: Optional[int]) -> None:
        self.generator = generator
        self.dim_z = int(dim_z)
        self.num_classes = num_classes

    @torch.no_grad()
    def sample(self, count: int, *, seed: int, device: torch.device, batch_size: int = 256,
               labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``count`` images in [−1, 1] (float32, on CPU); latents from a CPU generator seeded with ``seed``."""
        rng = torch.Generator().manual_seed(int(seed))
        network = self.generator.to(device)
        was_training = network.training
        network.eval()
        z = torch.randn(count, self.dim_z, generator=rng)
        if self.num_classes and labels is None:
            labels = torch.randint(0, self.num_classes, (count,), generator=rng)
        images = []
        for start in range(0, count, batch_size):
            y = labels[start : start + batch_size].to(device) if labels is not None and self.num_classes else None
            images.append(network(z[start : start + batch_size].to(device), y).float().cpu())
        network.train(was_training)
        return torch.cat(images) if images else torch.zeros(0)


class BigGANObjective(Objective):
    """The shared GAN; ``augself`` policies switch the self-supervised heads on."""

    def __init__(self, config: DiffAugmentGANConfig, encoder: nn.Module, data_info: Mapping[str, Any],
                 *, augself: tuple[str, ...] = (), d_augself: float = 0.0, g_augself: float = 0.0,
                 d_augself_data: str = "all") -> None:
        super().__init__(encoder)
        if not isinstance(encoder, DiscriminatorTrunk):
            raise ConfigError(
                f"{type(self).__name__} needs the discriminator trunk as its encoder (got {type(encoder).__name__}). "
                "Use encoder=biggan-d."
            )
        if config.d_steps < 1:
            raise ConfigError(f"objective_config.d_steps={config.d_steps} must be >= 1 (discriminator steps per generator step).")
        if not 0.0 <= config.ema_decay < 1.0:
            raise ConfigError(f"objective_config.ema_decay={config.ema_decay} must be in [0, 1), e.g. 0.9999.")
        self.config = config
        self.policies = parse_policies(config.policy)
        missing = [p for p in augself if p not in self.policies]
        if missing:
            raise ConfigError(
                f"objective_config.augself names {missing}, which DiffAugment does not apply "
                f"(policy='{config.policy}'). Add them to objective_config.policy or remove them from augself."
            )
        self.augself_policies = augself
        self.d_augself, self.g_augself = float(d_augself), float(g_augself)
        if d_augself_data not in ("all", "real"):
            raise ConfigError(
                f"objective_config.d_augself_data='{d_augself_data}' is not a choice. "
                "Use 'all' (real +ω, generated −ω, as released) or 'real' (real images only)."
            )
        self.d_augself_data = d_augself_data
        self.strengths = AugmentStrengths(config.brightness, config.saturation, config.contrast,
                                          config.translation, config.cutout)
        num_classes = data_info.get("num_classes") if config.conditional else None
        if config.conditional and not num_classes:
            raise ConfigError(
                f"objective_config.conditional=true needs labelled data, but '{data_info.get('name')}' has no classes. "
                "Set objective_config.conditional=false."
            )
        self.num_classes: Optional[int] = int(num_classes) if num_classes else None
        check_generator_size(data_info)
        self.generator = Generator(
            image_size=int(data_info["image_size"]), image_channels=int(data_info["channels"]),
            channels=config.g_channels or encoder.embed_dim, dim_z=config.dim_z, num_classes=self.num_classes,
            spectral_norm=config.g_spectral_norm, init_std=config.init_std,
        )
        self.generator_ema = make_target(self.generator)
        width = encoder.embed_dim
        self.d_linear = SNLinear(width, 1)
        self.d_embed = SNEmbedding(self.num_classes, width) if self.num_classes else None
        self.augself_heads = nn.ModuleDict({p: SNLinear(width, POLICY_DIMS[p]) for p in augself})
        for module in (self.d_linear, self.d_embed, self.augself_heads):
            if module is not None:
                init_normal(module, config.init_std)
        self._repeat_key: tuple[int, int] = (-1, -1)
        if config.sample_every < 0 or config.sample_grid < 1:
            raise ConfigError(
                f"objective_config.sample_every={config.sample_every} / sample_grid={config.sample_grid} are invalid. "
                "Use sample_every >= 0 (0: off) and sample_grid >= 1, e.g. 500 and 8."
            )
        # plain attribute (not a submodule): the trunk's state_dict stays the discriminator's
        object.__setattr__(encoder, "generator_sampler",
                           GeneratorSampler(self.generator_ema, dim_z=config.dim_z, num_classes=self.num_classes))

    # -- phases --------------------------------------------------------------

    def discriminator_parameters(self) -> list[nn.Parameter]:
        modules = [self.encoder, self.d_linear, self.augself_heads] + ([self.d_embed] if self.d_embed is not None else [])
        return [p for m in modules for p in m.parameters()]

    def phases(self) -> list[Phase]:
        d_opt = {"lr": self.config.d_lr} if self.config.d_lr is not None else {}
        g_opt = {"lr": self.config.g_lr} if self.config.g_lr is not None else {}
        return [
            Phase("discriminator", self.discriminator_parameters(), repeats=self.config.d_steps, optimizer=d_opt),
            Phase("generator", list(self.generator.parameters()), optimizer=g_opt),
        ]

    # -- pieces ----------------------------------------------------------------

    def _latents(self, rows: int, device: torch.device) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        z = torch.randn(rows, self.config.dim_z, device=device)
        y = torch.randint(0, self.num_classes, (rows,), device=device) if self.num_classes else None
        return z, y

    def _discriminate(self, x: torch.Tensor, y: Optional[torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Logits of T_ω(x), AugSelf predictions from h(T_ω(x)) − h(x), and ω."""
        augmented, omegas = diff_augment(x, self.policies, self.strengths)
        trunk: DiscriminatorTrunk = self.encoder  # type: ignore[assignment]
        h = trunk.features(augmented)
        logits = self.d_linear(h).squeeze(1)
        if self.d_embed is not None:
            assert y is not None
            logits = logits + (self.d_embed(y) * h).sum(dim=1)
        predictions: dict[str, torch.Tensor] = {}
        if self.augself_policies:
            difference = h - trunk.features(x)
            predictions = {p: head(difference) for p, head in self.augself_heads.items()}
        return logits, predictions, omegas

    def _real_slice(self, batch: Batch, step: int) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """This discriminator repeat's own slice of the step's real images (BigGAN's x[counter])."""
        x, y = batch["x"], batch.get("label") if self.num_classes else None
        rows = x.shape[0]
        chunk = rows // self.config.d_steps
        if chunk < 2:  # too few rows to split: every repeat sees the whole batch
            return x, y
        key = (step, self._repeat_key[1] + 1 if self._repeat_key[0] == step else 0)
        self._repeat_key = key
        start = (key[1] % self.config.d_steps) * chunk
        return x[start : start + chunk], (y[start : start + chunk] if y is not None else None)

    # -- the step ------------------------------------------------------------------

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        if phase == "discriminator":
            return self._discriminator_step(batch, step)
        if phase == "generator":
            return self._generator_step(batch)
        raise ConfigError(f"{type(self).__name__} has phases 'discriminator' and 'generator', not '{phase}'.")

    def _discriminator_step(self, batch: Batch, step: int) -> StepOutput:
        real, real_y = self._real_slice(batch, step)
        if self.config.mirror:
            flip = torch.rand(real.shape[0], 1, 1, 1, device=real.device) < 0.5
            real = torch.where(flip, real.flip(3), real)
        rows = real.shape[0]
        z, fake_y = self._latents(rows, real.device)
        with torch.no_grad():
            fake = self.generator(z, fake_y)
        both = torch.cat([fake, real.to(fake.dtype)])
        labels = torch.cat([fake_y, real_y]) if self.num_classes else None
        logits, predictions, omegas = self._discriminate(both, labels)
        loss_real, loss_fake = hinge_discriminator_loss(logits[rows:], logits[:rows])
        out: StepOutput = {"d_loss_real": loss_real.detach(), "d_loss_fake": loss_fake.detach()}
        loss = loss_real + loss_fake
        if predictions:
            ss = augself_discriminator_loss(
                {p: v[rows:] for p, v in predictions.items()}, {p: omegas[p][rows:] for p in predictions},
                {p: v[:rows] for p, v in predictions.items()}, {p: omegas[p][:rows] for p in predictions},
                data=self.d_augself_data,
            )
            loss = loss + self.d_augself * ss
            out["d_loss_augself"] = ss.detach()
        out["loss"] = loss
        return out

    def _generator_step(self, batch: Batch) -> StepOutput:
        rows = batch["x"].shape[0] // self.config.d_steps
        rows = rows if rows >= 2 else batch["x"].shape[0]
        z, fake_y = self._latents(rows, batch["x"].device)
        fake = self.generator(z, fake_y)
        logits, predictions, omegas = self._discriminate(fake, fake_y)
        adversarial = hinge_generator_loss(logits)
        out: StepOutput = {"g_loss_adv": adversarial.detach()}
        loss = adversarial
        if predictions:
            ss = augself_generator_loss(predictions, {p: omegas[p] for p in predictions})
            loss = loss + self.g_augself * ss
            out["g_loss_augself"] = ss.detach()
        out["loss"] = loss
        return out

    def on_step_end(self, *, step: int, max_steps: int) -> None:
        decay = 0.0 if step < self.config.ema_start else self.config.ema_decay
        ema_update(self.generator_ema, self.generator, decay)
        every, root = self.config.sample_every, self.config.sample_root
        if root and every and (step % every == 0 or step == max_steps):
            from pathlib import Path

            self.save_sample_grid(Path(root) / "samples" / f"step-{step:06d}.png")

    # -- sample grids -------------------------------------------------------------

    def save_sample_grid(self, path: Any) -> None:
        """A ``sample_grid × sample_grid`` PNG grid of G_ema samples (fixed latents, seed 0)."""
        from pathlib import Path

        from torchvision.utils import save_image

        count = self.config.sample_grid**2
        labels = torch.arange(count) % self.num_classes if self.num_classes else None
        sampler: GeneratorSampler = self.encoder.generator_sampler  # type: ignore[assignment]
        device = next(self.generator_ema.parameters()).device
        images = sampler.sample(count, seed=0, device=device, labels=labels)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        save_image(images.add(1.0).div(2.0).clamp(0.0, 1.0), str(path), nrow=self.config.sample_grid, padding=1)


class DiffAugmentGAN(BigGANObjective):
    """``diffaugment``: the GAN with DiffAugment and no self-supervised heads (the baseline)."""

    def __init__(self, config: DiffAugmentGANConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(config, encoder, data_info)


class AugSelfGAN(BigGANObjective):
    """``augself-gan`` / ``augself-gan-plus``: DiffAugment GAN + augmentation-aware self-supervision."""

    def __init__(self, config: AugSelfGANConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        augself = parse_policies(config.augself, key="augself")
        if not augself:
            raise ConfigError("objective_config.augself is empty. Name at least one policy, or use objective=diffaugment.")
        super().__init__(config, encoder, data_info, augself=augself,
                         d_augself=config.d_augself, g_augself=config.g_augself,
                         d_augself_data=config.d_augself_data)


def generator_side(side: int) -> int:
    """The smallest side the generator makes (4·2^k, at least 8) that is at least ``side``."""
    target = 8
    while target < side:
        target *= 2
    return target


def check_generator_size(data_info: Mapping[str, Any]) -> None:
    """The generator makes square images of side 4·2^k; other sizes (MNIST's 28 px, non-square
    folders) are a :class:`DataMismatchError` whose fix, ``data.image_size``, the core applies."""
    height = int(data_info.get("height", data_info["image_size"]))
    width = int(data_info.get("width", data_info["image_size"]))
    if height == width and height >= 8 and generator_side(height) == height:
        return
    raise DataMismatchError(
        f"The GAN's generator makes square images of side 4·2^k (8, 16, 32, 64, ...), and "
        f"'{data_info.get('name')}' has {height}×{width} images.",
        data_overrides={"image_size": generator_side(max(height, width))},
    )


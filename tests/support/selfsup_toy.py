"""A tiny in-process plugin used by the core tests: the modality "toy".

It has a data source of Gaussian blobs, an MLP encoder, a denoising objective
(which samples noise from the global RNG, so resume tests see RNG state), a
two-phase adversarial-style objective, an objective whose loss becomes NaN, and
two deterministic objectives for the distributed tests: an InfoNCE with negatives
gathered from every rank and an EMA-target (BYOL/JEPA-shaped) objective.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

import torch
from torch import nn

from selfsup import DatasetSpec, EncoderSpec, ModalitySpec, ObjectiveSpec, hookimpl
from selfsup.interfaces import DataSource, Objective, Phase


@dataclass
class BlobsConfig:
    root: str | None = None
    num_samples: int = 256
    num_features: int = 8
    num_classes: int = 3
    seed: int = 0
    #: Class centres differ only in the first ``signal_dims`` features (None: in all of them); the
    #: rest is unit noise, so a random projection mixes noise in and a learned one need not.
    signal_dims: int | None = None


class _Tensors(torch.utils.data.Dataset):
    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "label": self.y[i]}

    def __getitems__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        idx = torch.as_tensor(indices)
        return {"x": self.x[idx], "label": self.y[idx]}


class Blobs(DataSource):
    def __init__(self, config: BlobsConfig) -> None:
        g = torch.Generator().manual_seed(config.seed)
        centres = torch.randn(config.num_classes, config.num_features, generator=g) * 3
        if config.signal_dims is not None:
            centres[:, config.signal_dims :] = 0.0
        y = torch.randint(0, config.num_classes, (config.num_samples,), generator=g)
        x = centres[y] + torch.randn(config.num_samples, config.num_features, generator=g)
        cut1, cut2 = int(0.6 * len(x)), int(0.8 * len(x))
        self._splits = {"train": _Tensors(x[:cut1], y[:cut1]), "val": _Tensors(x[cut1:cut2], y[cut1:cut2]), "test": _Tensors(x[cut2:], y[cut2:])}
        self.info = {"num_features": config.num_features, "num_classes": config.num_classes, "task": "classification"}

    def split(self, name: str) -> torch.utils.data.Dataset:
        return self._splits[name]


@dataclass
class MLPConfig:
    hidden: int = 16
    embed_dim: int = 4


class MLPEncoder(nn.Module):
    def __init__(self, config: MLPConfig, data_info: dict) -> None:
        super().__init__()
        self.embed_dim = config.embed_dim
        self.net = nn.Sequential(nn.Linear(data_info["num_features"], config.hidden), nn.ReLU(), nn.Linear(config.hidden, config.embed_dim))

    def forward(self, batch: dict) -> torch.Tensor:
        return self.net(batch["x"])


@dataclass
class DenoiseConfig:
    noise: float = 0.5
    kill_at_step: int = 0
    nan_at_step: int = 0


def _pause(release: str) -> None:
    """Write ``<release>.reached``, then wait (at most 60 s) until ``release`` exists: a test
    sends a signal to the process at a known step, then lets the step finish."""
    import time
    from pathlib import Path

    Path(release + ".reached").write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while not Path(release).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


class Denoise(Objective):
    def __init__(self, config: DenoiseConfig, encoder: nn.Module, data_info: dict) -> None:
        super().__init__(encoder)
        self.config = config
        self.decoder = nn.Linear(encoder.embed_dim, data_info["num_features"])

    def training_step(self, batch: dict, *, step: int, phase: str) -> dict[str, torch.Tensor]:
        # The kill point comes from the config or, so that a resume does not change the
        # config, from SELFSUP_TOY_KILL_AT_STEP (and SELFSUP_TOY_SIGNAL: the signal's name).
        kill_at = self.config.kill_at_step or int(os.environ.get("SELFSUP_TOY_KILL_AT_STEP", "0"))
        if kill_at and step == kill_at:
            os.kill(os.getpid(), getattr(signal, os.environ.get("SELFSUP_TOY_SIGNAL", "SIGKILL")))
        if step == int(os.environ.get("SELFSUP_TOY_PAUSE_AT_STEP", "0")):
            _pause(os.environ["SELFSUP_TOY_PAUSE_FILE"])
        x = batch["x"]
        noisy = x + self.config.noise * torch.randn_like(x)
        loss = (self.decoder(self.encoder({"x": noisy})) - x).pow(2).mean()
        if self.config.nan_at_step and step >= self.config.nan_at_step:
            loss = loss * float("nan")
        return {"loss": loss}


class TwoPlayer(Objective):
    """Critic and encoder with their own optimisers (a GAN's shape)."""

    def __init__(self, config: DenoiseConfig, encoder: nn.Module, data_info: dict) -> None:
        super().__init__(encoder)
        self.critic = nn.Linear(encoder.embed_dim, 1)

    def phases(self) -> list[Phase]:
        return [
            Phase("critic", list(self.critic.parameters()), repeats=2, optimizer={"lr": 1e-2, "betas": [0.0, 0.9]}),
            Phase("encoder", list(self.encoder.parameters())),
        ]

    def training_step(self, batch: dict, *, step: int, phase: str) -> dict[str, torch.Tensor]:
        z = self.encoder(batch)
        if phase == "critic":
            return {"loss": self.critic(z.detach()).pow(2).mean()}
        return {"loss": -self.critic(z).mean() + z.pow(2).mean()}


class InfoNCE(Objective):
    """SimCLR-shaped: two fixed views, the other view of every sample on every rank as keys."""

    needs_gather = True

    def __init__(self, config: DenoiseConfig, encoder: nn.Module, data_info: dict) -> None:
        super().__init__(encoder)

    def training_step(self, batch: dict, *, step: int, phase: str) -> dict[str, torch.Tensor]:
        from selfsup.engine.distributed import rank_offset

        x = batch["x"]
        queries = nn.functional.normalize(self.encoder({"x": x}), dim=1)
        keys = nn.functional.normalize(self.gather(self.encoder({"x": x.flip(-1)})), dim=1)
        labels = torch.arange(len(x)) + rank_offset(len(x))
        return {"loss": nn.functional.cross_entropy(queries @ keys.T / 0.5, labels)}


class EMATarget(Objective):
    """BYOL/JEPA-shaped: a predictor regresses an EMA copy of the encoder on another view."""

    def __init__(self, config: DenoiseConfig, encoder: nn.Module, data_info: dict) -> None:
        super().__init__(encoder)
        import copy

        self.predictor = nn.Linear(encoder.embed_dim, encoder.embed_dim)
        self.target = copy.deepcopy(encoder).requires_grad_(False)

    def training_step(self, batch: dict, *, step: int, phase: str) -> dict[str, torch.Tensor]:
        x = batch["x"]
        with torch.no_grad():
            target = self.target({"x": 0.5 * x})
        return {"loss": (self.predictor(self.encoder({"x": x})) - target).pow(2).mean()}

    def on_step_end(self, *, step: int, max_steps: int) -> None:
        with torch.no_grad():
            for online, ema in zip(self.encoder.parameters(), self.target.parameters(), strict=True):
                ema.lerp_(online, 0.1)


@hookimpl
def register_modalities():
    return [ModalitySpec(name="toy", default_encoder="mlp", default_objective="denoise", default_dataset="blobs",
                         default_evaluators=("linear-probe",), overrides={"trainer": {"max_steps": 20, "batch_size": 32}})]


@hookimpl
def register_encoders():
    return [EncoderSpec(name="mlp", modality="toy", factory=MLPEncoder, config_cls=MLPConfig, description="toy MLP")]


@hookimpl
def register_objectives():
    return [
        ObjectiveSpec(name="denoise", modalities=frozenset({"toy"}), factory=Denoise, config_cls=DenoiseConfig,
                      trainer_defaults={"lr": 0.01}),
        ObjectiveSpec(name="two-player", modalities=frozenset({"toy"}), factory=TwoPlayer, config_cls=DenoiseConfig),
        ObjectiveSpec(name="infonce", modalities=frozenset({"toy"}), factory=InfoNCE, config_cls=DenoiseConfig),
        ObjectiveSpec(name="ema-target", modalities=frozenset({"toy"}), factory=EMATarget, config_cls=DenoiseConfig),
    ]


@hookimpl
def register_datasets():
    return [DatasetSpec(name="blobs", modality="toy", factory=Blobs, config_cls=BlobsConfig)]

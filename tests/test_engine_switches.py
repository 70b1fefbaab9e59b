"""The speed switches: no host-device synchronisation inside a step, channels_last."""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from selfsup.config import TrainerConfig
from selfsup.engine.trainer import Trainer
from selfsup.interfaces import DataSource, Objective

# Every way a tensor's value reaches the host (on CUDA each is a device synchronisation).
HOST_READS = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__")


@pytest.fixture
def host_reads(monkeypatch):
    """Count host reads of tensor values made inside ``Trainer._phase_update``."""
    counts: dict[str, int] = {}
    inside = [False]
    for name in HOST_READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            # The optimisers keep their step counters on the host by design (on CUDA the
            # engine's fused optimisers keep them on the device): their reads do not sync.
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if inside[0] and not caller.startswith("torch.optim"):
                counts[_name] = counts.get(_name, 0) + 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    update = Trainer._phase_update

    def watched(self, *args, **kwargs):
        inside[0] = True
        try:
            return update(self, *args, **kwargs)
        finally:
            inside[0] = False

    monkeypatch.setattr(Trainer, "_phase_update", watched)
    return counts


@pytest.mark.parametrize("objective", ["denoise", "two-player", "ema-target"])
@pytest.mark.parametrize("config", [{}, {"grad_clip_norm": 1.0, "accumulate_grad_batches": 2}])
def test_a_step_reads_nothing_back_from_the_device(toy, host_reads, objective, config):
    import selfsup_toy

    data = selfsup_toy.Blobs(selfsup_toy.BlobsConfig())
    encoder = selfsup_toy.MLPEncoder(selfsup_toy.MLPConfig(), data.info)
    cls = {"denoise": selfsup_toy.Denoise, "two-player": selfsup_toy.TwoPlayer, "ema-target": selfsup_toy.EMATarget}[objective]
    trainer = Trainer(TrainerConfig(max_steps=5, batch_size=16, log_every=100, **config), seed=0)
    trainer.fit(cls(selfsup_toy.DenoiseConfig(), encoder, data.info), data)
    assert host_reads == {}
    assert len(trainer.history) == 5  # the values were read, once, by the logger's flush


class _Images(DataSource):
    def __init__(self) -> None:
        self.images = torch.randn(32, 3, 8, 8)

    def split(self, name: str) -> torch.utils.data.Dataset:
        return torch.utils.data.TensorDataset(self.images)

    def collate(self, items):
        return {"image": torch.stack([item[0] for item in items])}


class _ConvObjective(Objective):
    def __init__(self) -> None:
        super().__init__(nn.Conv2d(3, 4, 3, padding=1))
        self.formats: list[bool] = []

    def training_step(self, batch, *, step, phase):
        self.formats.append(batch["image"].is_contiguous(memory_format=torch.channels_last))
        return {"loss": self.encoder(batch["image"]).pow(2).mean()}


@pytest.mark.parametrize("channels_last", [False, True])
def test_channels_last_reaches_weights_and_batches(channels_last):
    objective = _ConvObjective()
    Trainer(TrainerConfig(max_steps=2, batch_size=8, channels_last=channels_last), seed=0).fit(objective, _Images())
    assert objective.formats == [channels_last, channels_last]
    weight = objective.encoder.weight
    assert weight.is_contiguous(memory_format=torch.channels_last) == channels_last

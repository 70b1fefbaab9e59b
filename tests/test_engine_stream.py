"""Training on a streaming train split (a ``torch.utils.data.IterableDataset``): passes over the
stream, the position told to the stream, exact resume, and what is refused before training."""

from __future__ import annotations

import json

import pytest
import torch

from selfsup.config import TrainerConfig
from selfsup.engine.sampler import PositionedStream
from selfsup.engine.trainer import Trainer
from selfsup.errors import ConfigError, DatasetError
from selfsup.interfaces import DataSource

pytestmark = pytest.mark.usefixtures("torch_single_thread")


class _Stream(torch.utils.data.IterableDataset):
    """Rows in a seeded order per pass; ``set_position`` skips the batches already trained on."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y
        self.epoch, self.skip = 0, 0
        self.positions: list[tuple[int, int, int]] = []
        self.rows_read: list[int] = []

    def set_position(self, *, epoch: int, batches: int, batch_size: int) -> None:
        self.positions.append((epoch, batches, batch_size))
        self.epoch, self.skip = epoch, batches * batch_size

    def __iter__(self):
        order = torch.randperm(len(self.x), generator=torch.Generator().manual_seed(100 + self.epoch))
        for index in order[self.skip:].tolist():
            self.rows_read.append(index)
            yield {"x": self.x[index], "label": self.y[index]}


class _PlainStream(_Stream):
    set_position = None  # type: ignore[assignment]  # a stream that cannot start mid-way


class _StreamSource(DataSource):
    splits = ("train",)

    def __init__(self, rows: int = 100, stream_cls: type = _Stream) -> None:
        import selfsup_toy

        blobs = selfsup_toy.Blobs(selfsup_toy.BlobsConfig(num_samples=2 * rows))  # a train split of 1.2 x rows
        train = blobs.split("train")
        self.stream = stream_cls(train.x[:rows], train.y[:rows])
        self.info = dict(blobs.info)

    def split(self, name: str):
        if name != "train":
            raise KeyError(name)
        return self.stream


def _objective(data: DataSource):
    import selfsup_toy

    torch.manual_seed(0)
    encoder = selfsup_toy.MLPEncoder(selfsup_toy.MLPConfig(), data.info)
    return selfsup_toy.Denoise(selfsup_toy.DenoiseConfig(), encoder, data.info)


def _config(steps: int, **extra) -> TrainerConfig:
    return TrainerConfig(max_steps=steps, batch_size=32, log_every=1, schedule="constant", warmup_steps=0, **extra)


def test_passes_over_the_stream_are_told_their_epoch_and_drop_the_short_batch(toy) -> None:
    data = _StreamSource(rows=100)  # 3 batches of 32 a pass (the short fourth is dropped)
    assert isinstance(data.stream, PositionedStream)
    Trainer(_config(7), seed=0).fit(_objective(data), data)
    assert data.stream.positions == [(0, 0, 32), (1, 0, 32), (2, 0, 32)]
    first_pass = torch.randperm(100, generator=torch.Generator().manual_seed(100)).tolist()
    assert data.stream.rows_read[:96] == first_pass[:96]  # the stream's own order, not reshuffled


def test_a_resumed_stream_continues_where_the_checkpoint_left_it(tmp_path, toy) -> None:
    straight = _StreamSource()
    objective = _objective(straight)
    Trainer(_config(8), run_dir=tmp_path / "straight", seed=0).fit(objective, straight)
    first = _StreamSource()
    Trainer(_config(4), run_dir=tmp_path / "resumed", seed=0).fit(_objective(first), first)
    second = _StreamSource()
    resumed = _objective(second)
    Trainer(_config(8, resume=True), run_dir=tmp_path / "resumed", seed=0).fit(resumed, second)
    assert second.stream.positions[0] == (1, 1, 32)  # step 4 was pass 1's first batch
    losses = [[json.loads(line)["loss"] for line in (tmp_path / run / "log.jsonl").read_text().splitlines()]
              for run in ("straight", "resumed")]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    for key, value in objective.state_dict().items():
        assert torch.allclose(value, resumed.state_dict()[key], atol=1e-6), key


def test_a_stream_without_set_position_trains_but_refuses_to_resume(tmp_path, toy) -> None:
    data = _StreamSource(stream_cls=_PlainStream)
    assert not isinstance(data.stream, PositionedStream)
    Trainer(_config(4), run_dir=tmp_path, seed=0).fit(_objective(data), data)
    data = _StreamSource(stream_cls=_PlainStream)
    with pytest.raises(ConfigError, match=r"cannot start mid-stream.*set_position"):
        Trainer(_config(8, resume=True), run_dir=tmp_path, seed=0).fit(_objective(data), data)


def test_a_stream_needs_max_steps_and_at_least_one_batch(tmp_path, toy) -> None:
    data = _StreamSource()
    with pytest.raises(ConfigError, match=r"stream without a length.*Set trainer.max_steps"):
        Trainer(TrainerConfig(max_epochs=1, batch_size=32), run_dir=tmp_path, seed=0).fit(_objective(data), data)
    assert not (tmp_path / "log.jsonl").exists()
    small = _StreamSource(rows=20)  # fewer rows than one batch
    with pytest.raises(DatasetError, match=r"yielded no batch of 32 items"):
        Trainer(_config(3), seed=0).fit(_objective(small), small)

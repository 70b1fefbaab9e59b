"""Batches of distinct groups (G-SimCLR's data order): the rank sort by hand, one item per group
per batch, the trainer using it for any objective that groups its data, and its errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from selfsup.config import TrainerConfig
from selfsup.engine.sampler import GroupedBatchSampler, GroupsBatches
from selfsup.engine.trainer import Trainer
from selfsup.errors import ConfigError
from selfsup.interfaces import Objective

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def _batches(sampler, count: int) -> list[list[int]]:
    iterator = iter(sampler)
    return [next(iterator) for _ in range(count)]


def test_items_are_sorted_by_their_rank_within_the_group() -> None:
    # groups [1, 0, 1, 2, 0, 1]: ranks 0 0 1 0 1 2 -> rank 0: items 0, 1, 3; rank 1: 2, 4; rank 2: 5
    sampler = GroupedBatchSampler(torch.tensor([1, 0, 1, 2, 0, 1]), batch_size=2)
    assert sampler.batches_per_epoch() == 3
    assert _batches(sampler, 6) == [[0, 1], [3, 2], [4, 5]] * 2  # the same order every epoch, as the official code


def test_with_as_many_equal_groups_as_the_batch_size_every_batch_holds_each_group_once() -> None:
    groups = torch.randperm(24, generator=torch.Generator().manual_seed(0)) % 4  # 4 groups of 6, shuffled
    sampler = GroupedBatchSampler(groups, batch_size=4)
    batches = _batches(sampler, 6)
    assert all(sorted(groups[b].tolist()) == [0, 1, 2, 3] for b in batches)
    assert sorted(i for b in batches for i in b) == list(range(24))
    for group in range(4):  # a group's items come in index order, one per batch
        members = [i for b in batches for i in b if groups[i] == group]
        assert members == sorted(members)
    resumed = GroupedBatchSampler(groups, batch_size=4)
    resumed.load_state_dict({"epoch": 0, "position": 2})
    assert _batches(resumed, 4) == batches[2:]


class _GroupedObjective(Objective):
    """Records the rows it trains on; groups the items by their row index modulo 4."""

    def __init__(self, groups: torch.Tensor | None = None) -> None:
        super().__init__(nn.Linear(1, 2))
        self.encoder.embed_dim = 2
        self.groups = groups
        self.seen: list[list[int]] = []
        self.asked: list[int] = []

    def batch_groups(self, data, batch_size: int) -> torch.Tensor:
        self.asked.append(batch_size)
        return self.groups if self.groups is not None else torch.arange(len(data.split("train"))) % 4

    def training_step(self, batch, *, step: int, phase: str):
        self.seen.append(batch["x"][:, 0].long().tolist())
        return {"loss": self.encoder(batch["x"]).pow(2).mean()}


def test_the_trainer_takes_the_batches_of_an_objective_that_groups_its_data(make_eval_source) -> None:
    rows = torch.arange(16, dtype=torch.float32)[:, None]
    data = make_eval_source({"train": (rows, None)})
    objective = _GroupedObjective()
    assert isinstance(objective, GroupsBatches)
    Trainer(TrainerConfig(max_steps=8, batch_size=4, log_every=100), seed=0).fit(objective, data)
    assert objective.asked == [4]
    expected = _batches(GroupedBatchSampler(torch.arange(16) % 4, 4), 8)
    assert objective.seen == expected
    assert all(sorted(i % 4 for i in batch) == [0, 1, 2, 3] for batch in objective.seen)


def test_a_group_count_that_does_not_match_the_items_is_refused(make_eval_source) -> None:
    data = make_eval_source({"train": (torch.arange(16, dtype=torch.float32)[:, None], None)})
    with pytest.raises(ConfigError, match=r"gave 15 groups for the 16 items"):
        Trainer(TrainerConfig(max_steps=2, batch_size=4), seed=0).fit(_GroupedObjective(torch.zeros(15)), data)

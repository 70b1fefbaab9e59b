"""Shared fixtures of the core tests: an isolated plugin set holding the toy plugin."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

SUPPORT = Path(__file__).parent / "support"
sys.path.insert(0, str(SUPPORT))

pytest_plugins = ["selfsup.testing"]

#: The shared real datasets (absent on a user's machine: tests that need them skip).
DATA_ROOT = Path(os.environ.get("SELFSUP_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture
def toy(register_plugin):
    """The toy plugin registered into an isolated plugin set."""
    import selfsup_toy

    register_plugin(selfsup_toy, name="toy")
    return selfsup_toy



# --------------------------------------------------------------------------- evaluation helpers
# An in-memory data source and an identity encoder for tests/test_evaluation_*.py
# (fixtures, because tests are imported with --import-mode=importlib).


def _eval_source_class():
    import torch

    from selfsup.interfaces import DataSource, identity_collate

    class RowsDataset(torch.utils.data.Dataset):
        """Items ``{key: tensor[i]}``; optionally a vectorised ``__getitems__``."""

        def __init__(self, tensors, vectorised=False):
            self.tensors = tensors
            if vectorised:
                self.__getitems__ = self.getitems  # DataLoader looks the attribute up

        def __len__(self):
            return len(self.tensors["x"])

        def __getitem__(self, index):
            return {key: value[index] for key, value in self.tensors.items()}

        def getitems(self, indices):
            index = torch.as_tensor(indices)
            return {key: value[index] for key, value in self.tensors.items()}

    class WholeDataset(torch.utils.data.Dataset):
        """One item holding every row (a full-batch source, like one graph)."""

        def __init__(self, item):
            self.item = item

        def __len__(self):
            return 1

        def __getitem__(self, index):
            if index != 0:
                raise IndexError(index)
            return self.item

    class InMemorySource(DataSource):
        def __init__(self, splits, *, info=None, vectorised=False, full_batch=False, name="in-memory"):
            self.name = name
            self.splits = tuple(splits)
            self.info = dict(info or {})
            self.full_batch = full_batch
            self.vectorised = vectorised
            self.data = {split: {"x": x, **({"label": y} if y is not None else {})} for split, (x, y) in splits.items()}
            if full_batch:
                names = list(splits)
                self.all = {key: torch.cat([self.data[s][key] for s in names]) for key in self.data[names[0]]}
                start = 0
                self.ranges = {}
                for s in names:
                    self.ranges[s] = (start, start + len(self.data[s]["x"]))
                    start += len(self.data[s]["x"])
            if vectorised:
                self.collate = identity_collate

        def split(self, name):
            if name not in self.data:
                raise KeyError(name)
            if self.full_batch:
                mask = torch.zeros(len(self.all["x"]), dtype=torch.bool)
                mask[self.ranges[name][0] : self.ranges[name][1]] = True
                return WholeDataset({**self.all, "eval_mask": mask})
            return RowsDataset(self.data[name], vectorised=self.vectorised)

        def collate(self, items):
            if self.full_batch:
                return items[0]
            return super().collate(items)

    return InMemorySource


@pytest.fixture
def make_eval_source():
    """Factory: ``make_eval_source({"train": (x, y), "test": (x, y), ...}, **options) -> DataSource``.

    ``y=None`` leaves a split unlabelled. Options: ``info`` (dict); ``vectorised``
    (splits define ``__getitems__``, collate is ``identity_collate``); ``full_batch``
    (every split is one item holding the rows of all splits, with a per-split
    ``eval_mask``, like a node-level graph); ``name``.
    """
    return _eval_source_class()


@pytest.fixture
def identity_encoder():
    """Factory: ``identity_encoder(embed_dim) -> nn.Module`` whose forward returns ``batch["x"]`` (float32).

    ``seen_training`` records the ``training`` flag of every forward call.
    """
    import torch
    from torch import nn

    class IdentityEncoder(nn.Module):
        def __init__(self, embed_dim):
            super().__init__()
            self.embed_dim = embed_dim
            self.scale = nn.Parameter(torch.ones(()))  # state, like a real encoder
            self.seen_training = []

        def forward(self, batch):
            self.seen_training.append(self.training)
            return batch["x"].to(torch.float32) * self.scale

    return IdentityEncoder


@pytest.fixture
def torch_single_thread():
    """Run a test with one intra-op torch thread (restored afterwards).

    The evaluation tests use small tensors, for which a second OpenMP thread only
    adds synchronisation; on a shared 2-core machine it made them 10-50x slower.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)

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
# In-memory data source and identity encoder for tests/test_evaluation_*.py.


class _RowsDataset(torch.utils.data.Dataset):
    """Items ``{key: tensor[i]}`` over same-length tensors; optionally a vectorised ``__getitems__``."""

    def __init__(self, tensors: dict[str, torch.Tensor], vectorised: bool = False) -> None:
        self.tensors = tensors
        if vectorised:
            self.__getitems__ = self._getitems  # instance attribute: DataLoader checks hasattr

    def __len__(self) -> int:
        return len(next(iter(self.tensors.values())))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {key: value[index] for key, value in self.tensors.items()}

    def _getitems(self, indices: list[int]) -> dict[str, torch.Tensor]:
        index = torch.as_tensor(indices)
        return {key: value[index] for key, value in self.tensors.items()}


class _WholeDataset(torch.utils.data.Dataset):
    """One item holding every row (a full-batch source, like one graph)."""

    def __init__(self, item: dict[str, torch.Tensor]) -> None:
        self.item = item

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if index != 0:
            raise IndexError(index)
        return self.item


class InMemorySource:
    """A ``selfsup.interfaces.DataSource`` over in-memory tensors (built by ``make_eval_source``)."""


@pytest.fixture
def make_eval_source():
    """Factory: ``make_eval_source({"train": (x, y), "test": (x, y), ...}, **options) -> DataSource``.

    ``y=None`` makes a split unlabelled. Options: ``info`` (dict), ``vectorised``
    (datasets define ``__getitems__`` and collate is ``identity_collate``),
    ``full_batch`` (every split is the same single item with all rows of all
    splits and a per-split ``eval_mask``).
    """
    from selfsup.interfaces import DataSource, identity_collate

    class Source(DataSource):
        def __init__(self, splits, *, info=None, vectorised=False, full_batch=False, name="in-memory"):
            self.name = name
            self.splits = tuple(splits)
            self.info = dict(info or {})
            self.full_batch = full_batch
            self._vectorised = vectorised
            self._data = {
                split: {"x": x, **({"label": y} if y is not None else {})} for split, (x, y) in splits.items()
            }
            if full_batch:
                names = list(splits)
                self._all = {key: torch.cat([self._data[s][key] for s in names]) for key in self._data[names[0]]}
                sizes = [len(self._data[s]["x"]) for s in names]
                self._offsets = dict(zip(names, torch.tensor([0, *sizes]).cumsum(0).tolist(), strict=False))
                self._sizes = dict(zip(names, sizes, strict=True))
            if vectorised:
                self.collate = identity_collate

        def split(self, name):
            if name not in self._data:
                raise KeyError(name)
            if self.full_batch:
                mask = torch.zeros(len(self._all["x"]), dtype=torch.bool)
                mask[self._offsets[name] : self._offsets[name] + self._sizes[name]] = True
                return _WholeDataset({**self._all, "eval_mask": mask})
            return _RowsDataset(self._data[name], vectorised=self._vectorised)

        def collate(self, items):
            if self.full_batch:
                return items[0]
            return super().collate(items)

    return Source


@pytest.fixture
def identity_encoder():
    """Factory: ``identity_encoder(embed_dim) -> nn.Module`` returning ``batch["x"]`` as float32.

    It records in ``seen_training`` the ``training`` flag of each forward call.
    """
    from torch import nn

    class IdentityEncoder(nn.Module):
        def __init__(self, embed_dim: int) -> None:
            super().__init__()
            self.embed_dim = embed_dim
            self.scale = nn.Parameter(torch.ones(()))  # so that it has state like a real encoder
            self.seen_training: list[bool] = []

        def forward(self, batch):
            self.seen_training.append(self.training)
            return batch["x"].to(torch.float32) * self.scale

    return IdentityEncoder

"""Conformance kits: subclass one, set a few attributes, inherit the tests.

Example::

    from selfsup.testing import EncoderContract

    class TestMyEncoder(EncoderContract):
        modality = "tabular"
        encoder = "my-encoder"
        dataset = "adult-sample"          # supplies data_info and a real batch

Every kit builds its component through the registry exactly as ``pretrain``
does, on CPU, so a passing kit means the component works inside selfsup.
"""

from __future__ import annotations

import importlib
import itertools
import json
import pickle
import subprocess
import sys
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from omegaconf import OmegaConf

from ..capabilities import missing_members
from ..engine.device import seed_everything
from ..engine.sampler import GroupsBatches
from ..interfaces import DataSource, Evaluator, Objective
from ..registry import get_registry
from ..specs import NAME_PATTERN

__all__ = ["EncoderContract", "ObjectiveContract", "EvaluatorContract", "DatasetContract", "PluginImportContract"]


def _config(spec: Any, overrides: Mapping[str, Any]) -> Any:
    base = OmegaConf.structured(spec.config_cls)
    return OmegaConf.to_object(OmegaConf.merge(base, OmegaConf.create(dict(overrides))))


class _Kit:
    modality: ClassVar[str]
    dataset: ClassVar[str]
    #: Overrides of the dataset's config (e.g. a small ``root`` fixture).
    dataset_config: ClassVar[Mapping[str, Any]] = {}
    batch_size: ClassVar[int] = 8
    seed: ClassVar[int] = 0

    def build_data(self) -> DataSource:
        spec = get_registry().get("dataset", self.dataset, modality=self.modality)
        return spec.resolve_factory()(_config(spec, self.dataset_config))

    def sample_batch(self, data: DataSource, split: str = "train") -> dict[str, Any]:
        dataset = data.split(split)
        if data.full_batch:
            return data.collate([dataset[0]])
        if isinstance(dataset, torch.utils.data.IterableDataset):  # a stream: its first items
            return data.collate(list(itertools.islice(iter(dataset), self.batch_size)))
        indices = list(range(min(self.batch_size, len(dataset))))  # type: ignore[arg-type]
        if hasattr(dataset, "__getitems__"):
            return data.collate(dataset.__getitems__(indices))
        return data.collate([dataset[i] for i in indices])


def _first_rows(dataset: Any, count: int) -> list[Any]:
    """The first ``count`` items of a split, map-style or streaming."""
    if isinstance(dataset, torch.utils.data.IterableDataset):
        return list(itertools.islice(iter(dataset), count))
    return [dataset[i] for i in range(min(count, len(dataset)))]


class DatasetContract(_Kit):
    """A dataset builds, has a non-empty train split of dict items, JSON-able info, and pickles."""

    def test_spec_is_valid(self) -> None:
        spec = get_registry().get("dataset", self.dataset, modality=self.modality)
        assert NAME_PATTERN.match(spec.name) and spec.plugin

    def test_train_split_is_not_empty(self) -> None:
        data = self.build_data()
        assert "train" in data.splits
        assert _first_rows(data.split("train"), 1) != []

    def test_batches_are_dicts_of_tensors(self) -> None:
        batch = self.sample_batch(self.build_data())
        assert isinstance(batch, dict) and batch
        assert any(isinstance(v, torch.Tensor) for v in batch.values())

    def test_info_is_json_serialisable(self) -> None:
        json.dumps(self.build_data().info)

    def test_picklable(self) -> None:
        data = self.build_data()
        clone = pickle.loads(pickle.dumps(data))
        original, copied = data.split("train"), clone.split("train")
        if isinstance(original, torch.utils.data.IterableDataset):  # a stream: the same first items
            assert len(_first_rows(copied, 64)) == len(_first_rows(original, 64))
        else:
            assert len(copied) == len(original)  # type: ignore[arg-type]


class EncoderContract(_Kit):
    """An encoder builds on CPU and maps a batch to ``[rows, embed_dim]`` deterministically."""

    encoder: ClassVar[str]
    encoder_config: ClassVar[Mapping[str, Any]] = {}
    #: The capability protocols (:mod:`selfsup.capabilities`) the encoder provides, e.g. the
    #: ``PatchTokenEncoder`` an objective requires.
    capabilities: ClassVar[tuple[type, ...]] = ()

    def build_encoder(self, data: DataSource) -> torch.nn.Module:
        spec = get_registry().get("encoder", self.encoder, modality=self.modality)
        torch.manual_seed(self.seed)
        return spec.resolve_factory()(_config(spec, self.encoder_config), data.info)

    def test_output_matches_embed_dim(self) -> None:
        data = self.build_data()
        encoder = self.build_encoder(data).eval()
        with torch.no_grad():
            out = encoder(self.sample_batch(data))
        assert isinstance(encoder.embed_dim, int)
        assert out.ndim == 2 and out.shape[1] == encoder.embed_dim
        assert out.dtype == torch.float32 and torch.isfinite(out).all()

    def test_provides_declared_capabilities(self) -> None:
        encoder = self.build_encoder(self.build_data())
        for protocol in self.capabilities:
            missing = missing_members(encoder, protocol)
            assert not missing, f"{type(encoder).__name__} lacks {missing} of {protocol.__qualname__}"

    def test_state_dict_round_trip(self) -> None:
        data = self.build_data()
        first = self.build_encoder(data)
        second = self.build_encoder(data)
        with torch.no_grad():
            for p in second.parameters():
                p.add_(1.0)
        second.load_state_dict(first.state_dict())
        batch = self.sample_batch(data)
        with torch.no_grad():
            assert torch.equal(first.eval()(batch), second.eval()(batch))

    def test_deterministic_under_seed(self) -> None:
        data = self.build_data()
        a, b = self.build_encoder(data), self.build_encoder(data)
        for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items()):
            assert torch.equal(pa, pb), f"parameter {name} differs between two builds with one seed"

    def test_picklable(self) -> None:
        encoder = self.build_encoder(self.build_data())
        pickle.loads(pickle.dumps(encoder))


class ObjectiveContract(EncoderContract):
    """A finite scalar loss whose gradients reach every trainable parameter."""

    objective: ClassVar[str]
    objective_config: ClassVar[Mapping[str, Any]] = {}
    #: Parameters allowed to get no gradient in one step (e.g. an unused branch).
    no_grad_allowed: ClassVar[tuple[str, ...]] = ()

    def build_objective(self, data: DataSource) -> Objective:
        spec = get_registry().get("objective", self.objective, modality=self.modality)
        encoder = self.build_encoder(data)
        objective = spec.resolve_factory()(_config(spec, self.objective_config), encoder, data.info)
        assert isinstance(objective, Objective)
        return objective.train()

    def _step(self, objective: Objective, batch: dict[str, Any], phase: str) -> torch.Tensor:
        outputs = objective.training_step(batch, step=1, phase=phase)
        assert "loss" in outputs, f"training_step returned {sorted(outputs)}, without 'loss'"
        loss = outputs["loss"]
        assert loss.ndim == 0 and torch.isfinite(loss), f"loss {loss} is not a finite scalar"
        return loss

    def test_loss_is_finite_and_reaches_every_parameter(self) -> None:
        data = self.build_data()
        objective = self.build_objective(data)
        batch = self.sample_batch(data)
        for phase in objective.phases():
            seed_everything(self.seed)
            objective.zero_grad(set_to_none=True)
            self._step(objective, batch, phase.name).backward()
            names = {id(p): n for n, p in objective.named_parameters()}
            missing = [
                names.get(id(p), "?")
                for p in phase.parameters
                if (p.grad is None or not torch.isfinite(p.grad).all())
                and not any(names.get(id(p), "").startswith(prefix) for prefix in self.no_grad_allowed)
            ]
            assert not missing, f"phase '{phase.name}': no finite gradient for {missing}"

    def test_objective_state_dict_round_trip(self) -> None:
        data = self.build_data()
        a, b = self.build_objective(data), self.build_objective(data)
        b.load_state_dict(a.state_dict())
        for (name, ta), (_, tb) in zip(a.state_dict().items(), b.state_dict().items()):
            assert torch.equal(ta, tb), name

    def test_training_step_deterministic_under_seed(self) -> None:
        data = self.build_data()
        batch = self.sample_batch(data)
        losses = []
        for _ in range(2):
            objective = self.build_objective(data)
            seed_everything(self.seed)
            losses.append(self._step(objective, batch, objective.phases()[0].name).detach())
        assert torch.equal(losses[0], losses[1])

    def test_objective_picklable(self) -> None:
        pickle.loads(pickle.dumps(self.build_objective(self.build_data())))

    def test_batch_groups_cover_the_train_split_deterministically(self) -> None:
        """Only for an objective that groups its batches (:class:`~selfsup.engine.sampler.GroupsBatches`):
        one integer group per train item, the same for the same seed."""
        import pytest  # the kit's only pytest use; imported here so that importing the kit needs no pytest

        data = self.build_data()
        objective = self.build_objective(data)
        if not isinstance(objective, GroupsBatches):
            pytest.skip(f"{self.objective} does not group its batches")
        groups = []
        for _ in range(2):
            seed_everything(self.seed)
            groups.append(torch.as_tensor(self.build_objective(data).batch_groups(data, self.batch_size)))
        assert groups[0].dtype == torch.int64 and groups[0].shape == (len(data.split("train")),)
        assert torch.equal(groups[0], groups[1])


class EvaluatorContract(EncoderContract):
    """Returns finite floats, deterministically, and records its settings."""

    evaluator: ClassVar[str]
    evaluator_config: ClassVar[Mapping[str, Any]] = {}

    def build_evaluator(self) -> Evaluator:
        spec = get_registry().get("evaluator", self.evaluator, modality=self.modality)
        return spec.resolve_factory()(_config(spec, self.evaluator_config))

    def _run(self) -> dict[str, float]:
        data = self.build_data()
        encoder = self.build_encoder(data)
        return self.build_evaluator().evaluate(encoder, data, device=torch.device("cpu"), seed=self.seed)

    def test_returns_finite_floats_deterministically(self) -> None:
        first, second = self._run(), self._run()
        assert first and all(isinstance(v, float) for v in first.values())
        assert all(v == v and abs(v) != float("inf") for v in first.values())
        assert first == second

    def test_settings_are_json_serialisable(self) -> None:
        json.dumps(self.build_evaluator().settings())


class PluginImportContract:
    """Importing the plugin's entry-point module does not import its heavy dependencies."""

    plugin_module: ClassVar[str]
    #: Top-level modules that must not be imported by ``plugin_module``.
    heavy_modules: ClassVar[tuple[str, ...]] = ()

    def test_plugin_import_is_light(self) -> None:
        code = (
            "import sys, importlib; importlib.import_module(%r); "
            "print(','.join(m for m in %r if m in sys.modules))" % (self.plugin_module, tuple(self.heavy_modules))
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        assert out == "", f"importing {self.plugin_module} imported {out}; import them inside factories"

    def test_plugin_module_imports(self) -> None:
        importlib.import_module(self.plugin_module)

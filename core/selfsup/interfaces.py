"""What an encoder, objective, data source and evaluator must provide.

The batch contract is one dict of tensors per step. Conventional keys:

* ``"label"``: one target per embedding row (class index or regression value);
* ``"eval_mask"``: a boolean row mask selecting the rows that belong to the
  split being evaluated (used by full-batch node-level graphs, where every
  split is the same graph).

Everything else is the modality's own business.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional, Protocol, runtime_checkable

import torch
from torch import nn

__all__ = [
    "Batch",
    "DataInfo",
    "DataSource",
    "Encoder",
    "Evaluator",
    "Objective",
    "Phase",
    "StepOutput",
    "identity_collate",
]

#: One batch: a dict of tensors (and, rarely, other objects such as graph batches).
Batch = dict[str, Any]
#: JSON-serialisable facts about the data that encoders and objectives are
#: built from (``num_classes``, feature cardinalities, fitted preprocessing) and
#: ``label_tasks``, the declared task of each label (:mod:`selfsup.tasks`). Saved as ``run_dir/data_info.json`` so that an encoder can be
#: rebuilt without the data.
DataInfo = Mapping[str, Any]
#: What ``Objective.training_step`` returns: ``"loss"`` plus any scalar tensors
#: to log. Values stay on the device; the engine reads them without a
#: host-device sync per step.
StepOutput = dict[str, torch.Tensor]


@runtime_checkable
class Encoder(Protocol):
    """``encoder(batch) -> Tensor[rows, embed_dim]``: the frozen representation probes read."""

    embed_dim: int

    def __call__(self, batch: Batch) -> torch.Tensor: ...


class DataSource:
    """A dataset with named splits; returned by a ``DatasetSpec`` factory.

    Subclasses set ``info`` and implement :meth:`split`. Items of a split are
    dicts of tensors. A split dataset may define ``__getitems__(indices)``
    returning an already collated batch (the vectorised path); the default
    :meth:`collate` passes such a batch through unchanged.

    ``full_batch=True`` means each split holds exactly one item (say, one graph
    with all its nodes) and every training step uses that whole item.
    """

    #: Split names this source provides; ``"train"`` is required.
    splits: tuple[str, ...] = ("train", "val", "test")
    #: See the class docstring.
    full_batch: bool = False
    #: JSON-serialisable facts about the data (see ``DataInfo``).
    info: dict[str, Any]

    def split(self, name: str) -> torch.utils.data.Dataset:  # pragma: no cover - abstract
        raise NotImplementedError

    def collate(self, items: Sequence[Batch] | Batch) -> Batch:
        """Turn a list of items (or a pre-collated ``__getitems__`` batch) into a batch."""
        if isinstance(items, dict):
            return items
        return torch.utils.data.default_collate(list(items))

    def preprocessing_state(self) -> dict[str, Any]:
        """What this source fitted and the spec's ``input_transform`` needs to rebuild its
        "raw inputs -> batch" transform: JSON values and (top-level) tensors. Saved in the
        run folder as ``preprocessing.json`` / ``preprocessing.safetensors``. Default: ``{}``."""
        return {}


@dataclass
class Phase:
    """One optimiser and the parameters it updates.

    Most objectives have one phase. A GAN has two (``"discriminator"`` with
    ``repeats=n_critic`` and ``"generator"``), each with its own optimiser
    settings; the engine runs the phases of a step in order.
    """

    name: str
    parameters: list[nn.Parameter]
    #: Run this phase this many times per step (e.g. discriminator steps per generator step).
    repeats: int = 1
    #: Overrides of ``trainer.optimizer``/``lr``/``weight_decay``/``betas``/``momentum``
    #: for this phase only.
    optimizer: dict[str, Any] = field(default_factory=dict)
    #: The 1-based steps in which the phase runs, inclusive (``last_step=None``: to the end).
    #: Outside them the engine skips the phase entirely — no forward, no backward, no
    #: optimiser step (so its Adam moments and step count do not move) — while its lr
    #: schedule still follows the global step. E.g. a warm-up phase with ``last_step=K``
    #: and a main phase with ``first_step=K + 1``. The engine warns before training when a
    #: phase starts after the run's last step (the run would end inside a warm-up).
    first_step: int = 1
    last_step: Optional[int] = None

    def runs_at(self, step: int) -> bool:
        """Whether the phase runs in the 1-based ``step``."""
        return step >= self.first_step and (self.last_step is None or step <= self.last_step)


class Objective(nn.Module):
    """A pretraining objective. It owns the encoder and every other network.

    Subclasses implement :meth:`training_step`; multi-network methods override
    :meth:`phases`; EMA targets update in :meth:`on_step_end`. All state that a
    resumed run needs (EMA targets, queues) must be parameters or buffers, so
    that ``state_dict()`` carries it into checkpoints.
    """

    #: Whether the loss needs embeddings from every rank (global negatives): then
    #: :meth:`gather` returns all ranks' rows under ``torchrun`` (see engine/distributed.py).
    needs_gather: bool = False

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:  # pragma: no cover
        raise NotImplementedError

    def phases(self) -> list[Phase]:
        """The optimiser phases; by default one over every trainable parameter."""
        return [Phase("main", [p for p in self.parameters() if p.requires_grad])]

    def on_step_end(self, *, step: int, max_steps: int) -> None:
        """Called after every optimiser step (``step`` counts from 1); EMA updates go here."""

    def evaluation_encoder(self) -> nn.Module:
        """The network saved as ``encoder.safetensors`` and evaluated after pretraining
        (and during it): ``self.encoder`` unless a method evaluates another copy, e.g. an
        EMA target. It must have the encoder's architecture."""
        return self.encoder

    def gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` from every rank, concatenated in rank order and differentiable, when the
        objective declares ``needs_gather`` and runs under ``torchrun``; else ``tensor`` itself.

        This rank's rows start at ``selfsup.engine.distributed.rank_offset(len(tensor))``.
        """
        if not self.needs_gather:
            return tensor
        from .engine.distributed import gather_with_grad

        return gather_with_grad(tensor)

    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        for phase in self.phases():
            yield from phase.parameters


class Evaluator:
    """Scores an encoder on a data source; returned by an ``EvaluatorSpec`` factory.

    ``evaluate`` returns a flat ``{metric: value}`` dict; the caller records the
    evaluator's name, ``settings()``, the split, the seed and the dataset beside it.
    """

    #: The config dataclass; ``Evaluator(None)`` uses its defaults.
    config_cls: ClassVar[type | None] = None
    #: The split scored (``"test"`` by default); recorded with every number.
    split: str = "test"
    #: ``False`` for baselines that ignore the encoder (e.g. a probe on raw
    #: features): they run once and the number is reported for both encoders.
    uses_encoder: ClassVar[bool] = True
    #: Reported keys that are chosen hyper-parameters or counts (``l2``, ``alpha``,
    #: ``best_epoch``), not scores: the results table lists them apart, without a delta.
    hyperparameters: ClassVar[tuple[str, ...]] = ()
    #: Reported scores where lower is better (``rmse``, distances); every other score is
    #: higher-is-better. Recorded in ``metrics.json`` and marked in the results table.
    lower_is_better: ClassVar[tuple[str, ...]] = ()
    #: ``{metric: one-line explanation}`` printed under the results table (e.g. what a
    #: large delta of a distance means).
    notes: ClassVar[Mapping[str, str]] = {}

    def __init__(self, config: Any = None) -> None:
        if config is None and self.config_cls is not None:
            config = self.config_cls()
        self.config = config
        self.split = getattr(config, "split", type(self).split)

    def settings(self) -> dict[str, Any]:
        """The protocol's settings, recorded beside its numbers (the config's fields)."""
        if not dataclasses.is_dataclass(self.config):
            return {}
        values = dataclasses.asdict(self.config)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    def evaluate(
        self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int
    ) -> dict[str, float]:  # pragma: no cover - abstract
        raise NotImplementedError


def identity_collate(items: Any) -> Any:
    """Collate for datasets whose ``__getitems__`` already returns a batch."""
    return items


"""Data-parallel training under ``torchrun``: the process group, per-rank batches, DDP, gathers.

``torchrun --nproc_per_node N -m selfsup pretrain ...`` starts N processes with ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE`` set; :class:`DistributedContext` reads them. The engine
then

* keeps ``trainer.batch_size`` as the *global* batch: every rank takes its contiguous slice
  of the same seeded global batch (:class:`RankSlice`), so a run's data order, checkpoints
  and results do not depend on the world size;
* wraps the objective's training step in ``DistributedDataParallel``, which averages the
  gradients over ranks: for a loss that is a mean over the batch, the update equals the
  single-process update on the global batch;
* lets objectives with ``needs_gather = True`` see every rank's embeddings through
  :func:`gather_with_grad`, whose backward sums the gradients of all ranks, so that DDP's
  average again gives the single-process gradient of the global-batch loss;
* logs, checkpoints and evaluates on rank 0 only.

With ``trainer.strategy=fsdp`` the replicas are sharded instead (torch's ``fully_shard``,
FSDP2): every block in the encoder's ``ModuleList`` containers, the encoder, then the rest of the
objective each hold 1/W of their parameters, gradients and optimiser state between uses.
Checkpoints then hold full (unsharded) state dicts keyed by parameter name, which load under
any world size, FSDP or not.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

__all__ = [
    "DistributedContext",
    "shard_with_fsdp",
    "full_state_dicts",
    "load_state_dicts",
    "optimizer_state_by_index",
    "optimizer_state_by_name",
    "RankSlice",
    "TrainingStep",
    "gather_with_grad",
    "rank_offset",
    "broadcast_object",
    "gather_to_main",
]


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in the job (world size 1 when not launched by ``torchrun``)."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> DistributedContext:
        return cls(
            world_size=int(os.environ.get("WORLD_SIZE", "1")),
            rank=int(os.environ.get("RANK", "0")),
            local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        )

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """One accelerator per process: ``cuda`` becomes ``cuda:<LOCAL_RANK>``."""
        if self.enabled and device.type == "cuda" and device.index is None:
            return torch.device("cuda", self.local_rank)
        return device

    def leave_process_group(self) -> None:
        """Wait for every rank, release what still holds the group (DDP reducers left for the
        garbage collector), then destroy it: destroying it under a live reducer aborts the process.

        Called while an exception propagates, it skips the wait (the other ranks may never arrive).
        """
        if not dist.is_initialized():
            return
        import gc
        import sys

        if sys.exc_info()[0] is None:
            dist.barrier()
        gc.collect()
        dist.destroy_process_group()

    def init_process_group(self, device: torch.device) -> bool:
        """Join the job's process group (NCCL on CUDA, gloo on CPU); ``True`` if this call created it."""
        if not self.enabled or dist.is_initialized():
            return False
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        return True


class RankSlice:
    """This rank's contiguous slice of every global batch of a batch sampler.

    With world size W and global batch B (a multiple of W), rank r takes items
    ``[r·B/W, (r+1)·B/W)`` of each batch. The wrapped sampler keeps the position, so
    checkpoints record the global data order, independent of W.
    """

    def __init__(self, sampler: Any, rank: int, world_size: int) -> None:
        self.sampler = sampler
        self.rank = rank
        self.world_size = world_size

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.sampler:
            share = len(batch) // self.world_size
            yield batch[self.rank * share : (self.rank + 1) * share]


class TrainingStep(nn.Module):
    """The objective's ``training_step`` as a module's ``forward``, which is what DDP wraps."""

    def __init__(self, objective: nn.Module, step_fn: Callable[..., dict[str, torch.Tensor]]) -> None:
        super().__init__()
        self.objective = objective
        self.step_fn = step_fn

    def forward(self, batch: Any, *, step: int, phase: str) -> dict[str, torch.Tensor]:
        return self.step_fn(batch, step=step, phase=phase)


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Every rank's ``tensor`` concatenated along dim 0 in rank order, differentiable.

    Forward: ``[x_0; x_1; ...; x_{W-1}]``. Backward: rank r receives
    ``Σ_s ∂L_s/∂x_r``, the gradient of every rank's loss with respect to its own slice
    (``torch.distributed.nn.functional.all_gather``). With DDP averaging the parameter
    gradients over ranks, the update is that of the mean loss over the global batch.
    Identity when not distributed.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(tensor.contiguous()), dim=0)


def rank_offset(local_batch_size: int) -> int:
    """Where this rank's rows start in a :func:`gather_with_grad` result (0 when not distributed)."""
    if not (dist.is_available() and dist.is_initialized()):
        return 0
    return dist.get_rank() * local_batch_size


def broadcast_object(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (unchanged when not distributed)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def gather_to_main(value: Any) -> list[Any] | None:
    """Every rank's ``value`` in rank order on rank 0 (``None`` elsewhere); a collective."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return [value]
    holder: list[Any] | None = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
    dist.gather_object(value, holder, dst=0)
    return holder


def shard_with_fsdp(objective: nn.Module, step_fn: Callable[..., dict[str, torch.Tensor]]) -> TrainingStep:
    """Shard ``objective`` with FSDP2 and return the root module whose forward is the step.

    Units: each element of every ``ModuleList`` inside the encoder (transformer blocks,
    GNN layers), then the encoder, then the root (heads, predictors, EMA targets).
    Parameters become DTensors: build optimisers after this call.
    """
    from torch.distributed.fsdp import fully_shard

    encoder = objective.encoder
    for module in list(encoder.modules()):
        if isinstance(module, nn.ModuleList):
            for block in module:
                fully_shard(block)
    fully_shard(encoder)
    root = TrainingStep(objective, step_fn)
    fully_shard(root)
    return root


def full_state_dicts(
    objective: nn.Module, optimizers: dict[str, torch.optim.Optimizer]
) -> tuple[dict[str, torch.Tensor], dict[str, dict[str, Any]]]:
    """Unsharded model and optimiser state dicts on the CPU (a collective: every rank calls it)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict, get_optimizer_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    model = get_model_state_dict(objective, options=options)
    optim = {name: get_optimizer_state_dict(objective, optimizer, options=options) for name, optimizer in optimizers.items()}
    return model, optim


def load_state_dicts(
    objective: nn.Module,
    model: dict[str, torch.Tensor],
    optimizers: dict[str, tuple[torch.optim.Optimizer, dict[str, Any]]],
) -> None:
    """Load full state dicts written by :func:`full_state_dicts` into a sharded or plain objective."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict, set_optimizer_state_dict

    options = StateDictOptions(full_state_dict=True)
    set_model_state_dict(objective, model, options=options)
    for optimizer, state in optimizers.values():
        set_optimizer_state_dict(objective, optimizer, state, options=options)


def optimizer_state_by_index(
    objective: nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
) -> dict[str, Any]:
    """An optimiser state dict keyed by parameter name (FSDP's full form) in the
    ``optimizer.load_state_dict`` form of an unsharded ``objective`` (keyed by position)."""
    names = {id(parameter): name for name, parameter in objective.named_parameters()}
    position = {names[id(p)]: index for index, p in enumerate(p for group in optimizer.param_groups for p in group["params"])}
    return {
        "state": {position[name]: value for name, value in state["state"].items()},
        "param_groups": [{**group, "params": [position[name] for name in group["params"]]} for group in state["param_groups"]],
    }


def optimizer_state_by_name(
    objective: nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
) -> dict[str, Any]:
    """The inverse of :func:`optimizer_state_by_index`: a plain ``optimizer.state_dict()`` keyed
    by parameter name, as FSDP's full-state loading expects (a run continued with sharding)."""
    names = {id(parameter): name for name, parameter in objective.named_parameters()}
    ordered = [names[id(p)] for group in optimizer.param_groups for p in group["params"]]
    return {
        "state": {ordered[int(index)]: value for index, value in state["state"].items()},
        "param_groups": [{**group, "params": [ordered[int(index)] for index in group["params"]]} for group in state["param_groups"]],
    }

"""Optimisers, parameter groups and learning-rate schedules."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

__all__ = [
    "LARS",
    "build_optimizer",
    "build_scheduler",
    "lr_factor",
    "parameter_groups",
    "kernel_choices",
    "restore_kernel_choices",
]


class LARS(torch.optim.Optimizer):
    """SGD with momentum and layer-wise adaptive rate scaling (You et al., 2017).

    For each parameter with ``ndim > 1``: g ← g + wd·w, then
    g ← g · η·‖w‖/‖g‖ (when both norms are positive), then momentum SGD.
    1-D parameters (biases, norms) skip the adaptation, as in BYOL/SimCLR.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        trust_coefficient: float = 0.001,
    ) -> None:
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, trust_coefficient=trust_coefficient)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if p.ndim > 1:
                    grad = grad.add(p, alpha=group["weight_decay"])
                    w_norm = torch.linalg.vector_norm(p)
                    g_norm = torch.linalg.vector_norm(grad)
                    ratio = torch.where(
                        (w_norm > 0) & (g_norm > 0),
                        group["trust_coefficient"] * w_norm / g_norm.clamp_min(1e-12),
                        torch.ones_like(w_norm),
                    )
                    grad = grad.mul(ratio)
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = grad.clone()
                else:
                    state["momentum_buffer"].mul_(group["momentum"]).add_(grad)
                p.add_(state["momentum_buffer"], alpha=-group["lr"])
        return loss


def parameter_groups(parameters: Iterable[nn.Parameter], weight_decay: float, exclude_1d: bool) -> list[dict[str, Any]]:
    """Split parameters into decayed and non-decayed (biases, norm weights) groups."""
    decay, no_decay = [], []
    for p in parameters:
        (no_decay if exclude_1d and p.ndim <= 1 else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return [g for g in groups if g["params"]]


def _is_dtensor(parameter: torch.Tensor) -> bool:
    from torch.distributed.tensor import DTensor

    return isinstance(parameter, DTensor)


def build_optimizer(
    parameters: list[nn.Parameter], settings: dict[str, Any], *, device: torch.device
) -> torch.optim.Optimizer:
    """Build ``settings["optimizer"]`` over ``parameters`` (torch's fused kernels on CUDA and the CPU).

    Fused AdamW on the CPU takes a fifth of the time of the default ``foreach`` one
    (T-JEPA's 85k parameters: 0.4 ms vs 2.1 ms per step; benchmarks/tabular.md).
    """
    name = settings["optimizer"]
    groups = parameter_groups(parameters, settings["weight_decay"], settings["exclude_bias_and_norm_from_weight_decay"])
    lr = settings["lr"]
    # torch has no CPU sharding rule for the fused kernels on FSDP's DTensor parameters
    sharded = device.type == "cpu" and any(_is_dtensor(p) for p in parameters)
    fused = {"fused": True} if device.type == "cuda" or (device.type == "cpu" and not sharded) else {}
    if name in ("adamw", "adam"):
        cls = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
        return cls(groups, lr=lr, betas=tuple(settings["betas"]), **fused)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=settings["momentum"], **fused)
    if name == "lars":
        return LARS(groups, lr=lr, momentum=settings["momentum"])
    raise ValueError(f"unknown optimizer {name!r}")


#: Param-group switches that pick an implementation, not a hyper-parameter.
_KERNEL_KEYS = ("fused", "foreach", "capturable")


def kernel_choices(optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    """Each param group's implementation switches, to keep across ``load_state_dict``.

    ``load_state_dict`` copies every group setting from the checkpoint, these too;
    a checkpoint written elsewhere (another device, no sharding) must not choose
    the kernels of the run that resumes it.
    """
    return [{key: group[key] for key in _KERNEL_KEYS if key in group} for group in optimizer.param_groups]


def restore_kernel_choices(optimizer: torch.optim.Optimizer, choices: list[dict[str, Any]]) -> None:
    """Put back what :func:`kernel_choices` recorded."""
    for group, chosen in zip(optimizer.param_groups, choices, strict=True):
        group.update(chosen)


def lr_factor(
    step: int, *, total_steps: int, warmup_steps: int, schedule: str, min_ratio: float, warmup_every: int = 1
) -> float:
    """Multiplier of the peak lr at 0-based ``step``: linear warm-up, then cosine or flat.

    The warm-up is ``(step + 1) / warmup_steps``; with ``warmup_every = N > 1`` it is a staircase
    updated every N steps, ``N * floor(step / N) / warmup_steps``, as SSAST's
    ``traintest_mask.py`` sets ``lr = global_step / 1000 * lr`` when ``global_step % 50 == 0``
    (so the first N steps run at lr 0, as there).
    """
    if warmup_steps > 0 and step < warmup_steps:
        if warmup_every > 1:
            return (step - step % warmup_every) / warmup_steps
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    progress = min(max(progress, 0.0), 1.0)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    *,
    total_steps: int,
    warmup_steps: int,
    schedule: str,
    min_ratio: float,
    warmup_every: int = 1,
) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: lr_factor(step, total_steps=total_steps, warmup_steps=warmup_steps, schedule=schedule,
                               min_ratio=min_ratio, warmup_every=warmup_every),
    )

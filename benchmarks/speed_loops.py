"""What ``speed.py`` measures with: the engine's training loop and the one a user writes by hand,
the FLOPs of one step, and the device's matmul rate.

Both loops run one fresh build of an objective for ``warmup + steps`` steps with the same seed and
batches, and return a :class:`LoopTiming` (per-step wall, process-CPU and data-fetch times).
``tests/test_benchmarks_speed.py`` checks that the hand-written loop trains exactly what the
engine trains. See ``speed.py``'s docstring for what each loop includes.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "DEFAULT_DATA_DIR",
    "BenchSettings",
    "LoopTiming",
    "count_step_flops",
    "matmul_rate",
    "run_engine",
    "run_handwritten",
]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = Path(os.environ.get("SELFSUP_DATA", REPO.parent / "shared" / "data"))


@dataclass
class BenchSettings:
    """What every objective is measured with."""

    device: str = "cpu"
    precision: str = "fp32"
    steps: int = 20
    warmup: int = 3
    repeats: int = 3
    threads: int = 1
    seed: int = 0
    data_dir: str = str(DEFAULT_DATA_DIR)
    flops: bool = True


@dataclass
class LoopTiming:
    """One training run: per-step wall times, process CPU times and data-fetch times (seconds)."""

    step_s: list[float]
    data_s: list[float]
    rows: int
    objective: Any = field(default=None, repr=False)
    #: CPU time of this process per step (all its threads): insensitive to other jobs
    #: taking the cores, so the CPU-time overhead is the steadier number on a shared machine.
    cpu_s: list[float] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(self.step_s)

    def cpu_median(self) -> float:
        return statistics.median(self.cpu_s) if self.cpu_s else math.nan

    def data_share(self) -> float:
        return sum(self.data_s) / max(sum(self.step_s), 1e-12)


# --------------------------------------------------------------------------- timing helpers


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _FetchClock:
    """Accumulates seconds spent fetching items and collating them."""

    def __init__(self) -> None:
        self.total = 0.0

    @contextlib.contextmanager
    def timing(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.total += time.perf_counter() - start


class _TimedDataset(torch.utils.data.Dataset):
    """A split whose item fetches are timed."""

    def __init__(self, inner: Any, clock: _FetchClock) -> None:
        self.inner, self.clock = inner, clock

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int) -> Any:
        with self.clock.timing():
            return self.inner[index]


class _TimedBatchedDataset(_TimedDataset):
    """The same, for splits with a vectorised ``__getitems__``."""

    def __getitems__(self, indices: list[int]) -> Any:
        with self.clock.timing():
            return self.inner.__getitems__(indices)


def _timed_split(dataset: Any, clock: _FetchClock) -> _TimedDataset:
    if getattr(dataset, "__getitems__", None):
        return _TimedBatchedDataset(dataset, clock)
    return _TimedDataset(dataset, clock)


def _instrument_data(data: Any, clock: _FetchClock) -> None:
    """Time the train split's fetches and the collate on this instance only."""
    split, collate = data.split, data.collate

    def timed_split(name: str) -> Any:
        return _timed_split(split(name), clock)

    def timed_collate(items: Any) -> Any:
        with clock.timing():
            return collate(items)

    data.split = timed_split
    data.collate = timed_collate


def _batch_rows(batch: Mapping[str, Any]) -> int:
    for value in batch.values():
        if isinstance(value, torch.Tensor) and value.ndim > 0:
            return int(value.shape[0])
    return 1


def _measured(values: list[float], warmup: int) -> list[float]:
    return values[warmup:] if len(values) > warmup else values[-1:]


# --------------------------------------------------------------------------- the two loops


def run_engine(resolved: Any, data: Any, objective: Any, settings: BenchSettings) -> LoopTiming:
    """Train with the engine's ``Trainer.fit``; step ends are stamped in ``on_step_end``."""
    from selfsup.engine.device import seed_everything
    from selfsup.engine.trainer import Trainer

    trainer = Trainer(resolved.config.trainer, run_dir=None, seed=int(resolved.config.seed))
    device = trainer.device
    clock = _FetchClock()
    _instrument_data(data, clock)
    stamps: list[float] = []
    cpu_stamps: list[float] = []
    fetched: list[float] = []
    original_end = objective.on_step_end

    def on_step_end(*, step: int, max_steps: int) -> None:
        original_end(step=step, max_steps=max_steps)
        _sync(device)
        stamps.append(time.perf_counter())
        cpu_stamps.append(time.process_time())
        fetched.append(clock.total)

    objective.on_step_end = on_step_end
    seed_everything(int(resolved.config.seed))
    _sync(device)
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        trainer.fit(objective, data)
    finally:
        del objective.on_step_end
    times = [b - a for a, b in zip([start, *stamps[:-1]], stamps, strict=True)]
    cpu = [b - a for a, b in zip([cpu_start, *cpu_stamps[:-1]], cpu_stamps, strict=True)]
    fetch = [b - a for a, b in zip([0.0, *fetched[:-1]], fetched, strict=True)]
    train = data.split("train")
    rows_per_step = _rows_of(data, train, resolved.config.trainer.batch_size)
    return LoopTiming(_measured(times, settings.warmup), _measured(fetch, settings.warmup), rows_per_step, objective,
                      _measured(cpu, settings.warmup))


def _rows_of(data: Any, train: Any, batch_size: int) -> int:
    if data.full_batch:
        return _batch_rows(data.collate([train[0]]))
    return min(int(batch_size), len(train))


def _lr_lambda(total: int, warmup: int, schedule: str, min_ratio: float) -> Any:
    def factor(step: int) -> float:
        if warmup > 0 and step < warmup:
            return (step + 1) / warmup
        if schedule == "constant":
            return 1.0
        progress = min(max((step - warmup) / max(1, total - warmup), 0.0), 1.0)
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def _optimizer(parameters: list[torch.nn.Parameter], settings: Mapping[str, Any], device: torch.device) -> torch.optim.Optimizer:
    """The optimiser a user writes by hand: decay on matrices, none on biases and norms."""
    exclude = settings["exclude_bias_and_norm_from_weight_decay"]
    decay = [p for p in parameters if not (exclude and p.ndim <= 1)]
    no_decay = [p for p in parameters if exclude and p.ndim <= 1]
    groups = [g for g in ({"params": decay, "weight_decay": settings["weight_decay"]},
                          {"params": no_decay, "weight_decay": 0.0}) if g["params"]]
    fused = {"fused": True} if device.type in ("cuda", "cpu") else {}  # as the engine: the fastest kernels
    name = settings["optimizer"]
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=settings["lr"], betas=tuple(settings["betas"]), **fused)
    if name == "adam":
        return torch.optim.Adam(groups, lr=settings["lr"], betas=tuple(settings["betas"]), **fused)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=settings["lr"], momentum=settings["momentum"], **fused)
    if name == "lars":
        from selfsup.engine.optim import LARS  # an optimiser class, not engine machinery

        return LARS(groups, lr=settings["lr"], momentum=settings["momentum"])
    raise ValueError(f"unknown optimizer {name!r}")


@dataclass
class _HandPhase:
    name: str
    parameters: list[torch.nn.Parameter]
    repeats: int
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR


def _hand_phases(objective: Any, trainer_cfg: Any, total: int, device: torch.device) -> list[_HandPhase]:
    from omegaconf import OmegaConf

    base = OmegaConf.to_container(trainer_cfg, resolve=True)
    assert isinstance(base, dict)
    warmup = base["warmup_steps"] if base["warmup_steps"] is not None else int(round(base["warmup_fraction"] * total))
    phases = []
    for phase in objective.phases():
        settings = {**base, **phase.optimizer}
        optimizer = _optimizer(phase.parameters, settings, device)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, _lr_lambda(total, warmup, settings["schedule"], settings["min_lr_ratio"])
        )
        phases.append(_HandPhase(phase.name, phase.parameters, phase.repeats, optimizer, scheduler))
    return phases


def _hand_update(objective: Any, phase: _HandPhase, batch: Any, step: int, trainer_cfg: Any,
                 autocast: contextlib.AbstractContextManager[Any] | None) -> None:
    phase.optimizer.zero_grad(set_to_none=True)
    with autocast if autocast is not None else contextlib.nullcontext():
        loss = objective.training_step(batch, step=step, phase=phase.name)["loss"]
    loss.backward()
    if trainer_cfg.grad_clip_value is not None:
        torch.nn.utils.clip_grad_value_(phase.parameters, trainer_cfg.grad_clip_value)
    if trainer_cfg.grad_clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(phase.parameters, trainer_cfg.grad_clip_norm, foreach=True)
    phase.optimizer.step()


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any] | None:
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return None


def _hand_batches(data: Any, trainer_cfg: Any, seed: int, device: torch.device, clock: _FetchClock) -> Iterator[Any]:
    """The same batches as the engine's: its sampler, a plain DataLoader, the source's collate."""
    from selfsup.engine.sampler import EpochBatchSampler

    from selfsup.engine.device import move_to_device  # a recursive .to(device), as any loop has

    train = data.split("train")
    if data.full_batch:
        batch = move_to_device(data.collate([train[0]]), device)
        while True:
            yield batch
    sampler = EpochBatchSampler(len(train), min(trainer_cfg.batch_size, len(train)), seed=seed, drop_last=trainer_cfg.drop_last)
    loader = torch.utils.data.DataLoader(
        train, batch_sampler=sampler, collate_fn=data.collate, num_workers=0,
        pin_memory=device.type == "cuda", generator=torch.Generator().manual_seed(seed),
    )
    for batch in loader:
        yield move_to_device(batch, device, non_blocking=True)


def run_handwritten(resolved: Any, data: Any, objective: Any, settings: BenchSettings) -> LoopTiming:
    """Train the same objective with a plain PyTorch loop (see the module docstring)."""
    from selfsup.engine.device import seed_everything

    trainer_cfg = resolved.config.trainer
    device = torch.device(trainer_cfg.device)
    seed = int(resolved.config.seed)
    total = int(trainer_cfg.max_steps)
    objective.to(device)
    objective.train()
    phases = _hand_phases(objective, trainer_cfg, total, device)
    clock = _FetchClock()
    _instrument_data(data, clock)
    autocast = _autocast(device, settings.precision)
    seed_everything(seed)
    batches = _hand_batches(data, trainer_cfg, seed, device, clock)
    times: list[float] = []
    cpu: list[float] = []
    fetch: list[float] = []
    _sync(device)
    last, cpu_last = time.perf_counter(), time.process_time()
    for step in range(1, total + 1):
        before = clock.total
        batch = next(batches)
        for phase in phases:
            for _ in range(phase.repeats):
                _hand_update(objective, phase, batch, step, trainer_cfg, autocast)
            phase.scheduler.step()
        objective.on_step_end(step=step, max_steps=total)
        _sync(device)
        now, cpu_now = time.perf_counter(), time.process_time()
        times.append(now - last)
        cpu.append(cpu_now - cpu_last)
        fetch.append(clock.total - before)
        last, cpu_last = now, cpu_now
    objective.eval()
    rows = _rows_of(data, data.split("train"), trainer_cfg.batch_size)
    return LoopTiming(_measured(times, settings.warmup), _measured(fetch, settings.warmup), rows, objective,
                      _measured(cpu, settings.warmup))


# --------------------------------------------------------------------------- FLOPs and the matmul rate


def count_step_flops(resolved: Any, data: Any, objective: Any, settings: BenchSettings) -> int:
    """FLOPs of one full training step (every phase and repeat, forward and backward)."""
    from torch.utils.flop_counter import FlopCounterMode

    trainer_cfg = resolved.config.trainer
    device = torch.device(trainer_cfg.device)
    objective.to(device)
    objective.train()
    phases = _hand_phases(objective, trainer_cfg, int(trainer_cfg.max_steps), device)
    batch = next(_hand_batches(data, trainer_cfg, int(resolved.config.seed), device, _FetchClock()))
    autocast = _autocast(device, settings.precision)
    # step 2: past any first-step initialisation (e.g. k-means) that is not part of a regular step
    for phase in phases:
        for _ in range(phase.repeats):
            _hand_update(objective, phase, batch, 1, trainer_cfg, autocast)
    counter = FlopCounterMode(display=False)
    with counter:
        for phase in phases:
            for _ in range(phase.repeats):
                _hand_update(objective, phase, batch, 2, trainer_cfg, autocast)
    return int(counter.get_total_flops())


def matmul_rate(device: torch.device, dtype: torch.dtype, *, seconds: float = 0.5) -> tuple[float, float]:
    """Measured dense matmul FLOP/s on ``device``: square ``torch.matmul``, best of several
    timed batches, by wall clock and by this process's CPU time (the latter is what one
    thread delivers when it runs, whatever other jobs take the cores)."""
    size = 8192 if device.type == "cuda" else 1024
    per_batch = 4 if device.type == "cuda" else 1
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    torch.matmul(a, b)
    _sync(device)
    best_wall = best_cpu = spent = 0.0
    while spent < seconds:
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(per_batch):
            torch.matmul(a, b)
        _sync(device)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        spent += elapsed
        best_wall = max(best_wall, per_batch * 2 * size**3 / elapsed)
        best_cpu = max(best_cpu, per_batch * 2 * size**3 / max(cpu, 1e-9))
    return best_wall, best_cpu

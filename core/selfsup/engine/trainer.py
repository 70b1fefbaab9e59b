"""The training loop: the same for every modality and objective.

One *step* is one update of every phase of the objective (``Objective.phases``):
for each phase and each of its repeats, the engine runs
``training_step(batch, step=..., phase=...)`` on ``accumulate_grad_batches``
micro-batches, back-propagates, unscales/clips, and steps that phase's
optimiser and schedule. Then ``objective.on_step_end`` (EMA updates).

No host-device synchronisation happens inside a step: losses and logged values
stay on the device and are read in one transfer every ``log_every`` steps (the
non-finite-loss check happens then, and always before a checkpoint is written).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch.distributed.tensor import DTensor

from ..config import TrainerConfig
from ..errors import ConfigError, DatasetError
from ..interfaces import Batch, DataSource, Objective
from ..loggers import LoggerSet
from ..progress import ProgressSettings
from .budget import warn_if_warmup_covers_run
from .checkpoint import check_writable, clean_orphans
from .device import autocast_context, move_to_device, resolve_device, resolve_precision, seed_everything
from .online_probe import OnlineProbe, probe_classes
from .distributed import DistributedContext, RankSlice, TrainingStep, full_state_dicts, shard_with_fsdp
from .optim import build_optimizer, build_scheduler
from .phases import PhaseState, advance_schedule, frozen
from .resume_state import evaluation_missing, stop_if_signalled
from .sampler import EpochBatchSampler, GroupedBatchSampler, GroupsBatches, StreamOrder
from .schedule_change import ScheduleShape
from .signals import GracefulStop
from .step_log import StepLogger
from .training_state import EVAL_LOG_FILE, resume_training_state, save_training_state

__all__ = ["EVAL_LOG_FILE", "Trainer"]

class Trainer:
    """Fits an :class:`~selfsup.interfaces.Objective` on a :class:`~selfsup.interfaces.DataSource`."""

    def __init__(
        self,
        config: TrainerConfig | DictConfig,
        *,
        run_dir: str | Path | None = None,
        seed: int = 0,
        loggers: LoggerSet | None = None,
        progress: ProgressSettings | None = None,
    ) -> None:
        if isinstance(config, DictConfig):
            config = OmegaConf.to_object(config)  # type: ignore[assignment]
        assert isinstance(config, TrainerConfig)
        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.seed = seed
        #: World size and rank under ``torchrun`` (world size 1 otherwise); rank 0 writes the run.
        self.dist = DistributedContext.from_env()
        self.device = self.dist.device(resolve_device(config.device))
        #: Shard with FSDP2 (``trainer.strategy=fsdp`` under torchrun) instead of replicating with DDP.
        self.fsdp = self.dist.enabled and config.strategy == "fsdp"
        #: With FSDP: the objective's full state dict after training (rank 0), for saving the encoder.
        self.final_state: dict[str, torch.Tensor] | None = None
        self.dtype = resolve_precision(config.precision, self.device)
        self.history: list[dict[str, float]] = []
        #: One ``{"step": ..., "<evaluator>/<metric>": ...}`` per evaluation during training.
        self.evaluations: list[dict[str, float]] = []
        self.last_checkpoint: Path | None = None
        #: Experiment loggers (rank 0); ``None``: only ``trainer.tensorboard``, as the older switch.
        self._owns_loggers = loggers is None
        self.loggers = loggers if loggers is not None else _tensorboard_only(config, self.run_dir)
        #: Progress output (``trainer.progress``); off on ranks other than 0.
        self.progress = progress if progress is not None else ProgressSettings.from_trainer(config)
        if not self.dist.is_main:
            self.progress, self.loggers = dataclasses.replace(self.progress, mode="off"), LoggerSet()
        #: The schedule in force (in checkpoints); per phase, the requested peak lrs and schedule.
        self.schedule: ScheduleShape | None = None
        self._peaks: list[tuple[str, list[float], ScheduleShape]] = []
        #: After a resume: the checkpoint's step and what changed (notes), else ``None``.
        self.resumed: tuple[int, list[str]] | None = None
        #: With ``trainer.online_probe``: the linear head trained beside the objective (in checkpoints).
        self.online_probe: OnlineProbe | None = None
        self._rank_rng_restored = False

    # -- set-up -------------------------------------------------------------

    def _total_steps(self, batches_per_epoch: int) -> int:
        if self.config.max_steps is not None:
            return self.config.max_steps
        assert self.config.max_epochs is not None
        return max(1, self.config.max_epochs * max(1, batches_per_epoch // self.config.accumulate_grad_batches))

    def _build_phases(self, objective: Objective, total_steps: int) -> list[PhaseState]:
        phases = objective.phases()
        if not phases or not any(p.parameters for p in phases):
            raise ConfigError(
                f"Objective {type(objective).__name__} has no trainable parameters. "
                "Check that its networks are registered as sub-modules and not frozen."
            )
        warmup = self.config.warmup_steps
        if warmup is None:
            warmup = int(round(self.config.warmup_fraction * total_steps))
        self.schedule = ScheduleShape(total_steps, warmup, self.config.schedule, self.config.min_lr_ratio, self.config.warmup_every)
        self._peaks = []
        states = []
        base = dataclasses.asdict(self.config)
        for phase in phases:
            unknown = set(phase.optimizer) - set(base)
            if unknown:
                raise ConfigError(
                    f"Phase '{phase.name}' of {type(objective).__name__} overrides unknown optimiser "
                    f"settings {sorted(unknown)}. Use keys of TrainerConfig such as lr, betas, weight_decay."
                )
            settings = {**base, **phase.optimizer}
            optimizer = build_optimizer(phase.parameters, settings, device=self.device)
            scheduler = build_scheduler(
                optimizer,
                total_steps=total_steps,
                warmup_steps=warmup,
                schedule=settings["schedule"],
                min_ratio=settings["min_lr_ratio"],
                warmup_every=settings["warmup_every"],
            )
            scaler = torch.amp.GradScaler(self.device.type) if self.dtype == torch.float16 else None
            states.append(PhaseState(phase, optimizer, scheduler, scaler))
            shape = ScheduleShape(total_steps, warmup, settings["schedule"], settings["min_lr_ratio"], settings["warmup_every"])
            self._peaks.append((phase.name, [float(v) for v in scheduler.base_lrs], shape))
        if len(states) > 1 and not self.fsdp:  # FSDP manages its sharded parameters' gradients itself
            for state in states:
                own = {id(p) for p in state.phase.parameters}
                seen: set[int] = set()
                for other in states:
                    for p in other.phase.parameters:
                        if id(p) not in own and id(p) not in seen:
                            seen.add(id(p))
                            state.others.append(p)
        return states

    # -- the loop -------------------------------------------------------------

    def fit(
        self,
        objective: Objective,
        data: DataSource,
        *,
        evaluate: Callable[[int], dict[str, float]] | None = None,
        on_resume: Callable[[int, list[str]], None] | None = None,
    ) -> list[dict[str, float]]:
        """Train ``objective`` on ``data.split("train")``; return the whole run's per-step log.

        With ``trainer.eval_every = N > 0``, ``evaluate(step)`` is called after
        every N-th step and after the last one, with the objective in eval mode;
        its flat ``{"<evaluator>/<metric>": value}`` is kept in ``self.evaluations``
        and written to ``run_dir/eval_log.jsonl``. On resume, rank 0 calls ``on_resume(step, notes)``
        once the checkpoint is loaded. SIGTERM/SIGINT: :mod:`selfsup.engine.signals`.
        """
        config = self.config
        train = data.split("train")
        streaming = isinstance(train, torch.utils.data.IterableDataset)  # no length: see StreamOrder
        if streaming and config.max_steps is None:
            raise ConfigError(
                f"The train split of {type(data).__name__} is a stream without a length, so trainer.max_epochs "
                "cannot be counted in steps. Set trainer.max_steps (e.g. trainer.max_steps=1000)."
            )
        if not streaming and len(train) == 0:  # type: ignore[arg-type]
            raise DatasetError(
                f"The train split of {type(data).__name__} is empty. Point data.root at a folder with data."
            )
        if self.dist.enabled and config.sync_batchnorm and self.device.type != "cuda":
            raise ConfigError(
                "trainer.sync_batchnorm=true on the CPU: torch's SyncBatchNorm runs only on CUDA. "
                "Leave trainer.sync_batchnorm=false on the CPU (BatchNorm then uses each rank's share of the batch)."
            )
        self.online_probe = self._build_online_probe(objective, data, train)
        created_group = self.dist.init_process_group(self.device)
        if self.dist.enabled and config.sync_batchnorm:
            torch.nn.SyncBatchNorm.convert_sync_batchnorm(objective)  # replaces children in place
        objective.to(self.device)
        if config.channels_last:  # 4-D weights (convolutions) in NHWC; other parameters are unaffected
            objective.to(memory_format=torch.channels_last)
        objective.train()
        if data.full_batch:  # every rank takes the whole item; DDP averages equal gradients
            sampler = None
            batches_per_epoch = 1
            full_batch = move_to_device(data.collate([train[0]]), self.device, channels_last=config.channels_last)
        elif streaming:  # each rank reads its own part of the stream, its share of the global batch at a time
            if isinstance(objective, GroupsBatches):
                raise ConfigError(
                    f"{type(objective).__name__} builds its batches from groups of the whole train split, but "
                    f"{type(data).__name__}'s train split is a stream. Use a dataset with a fixed train split."
                )
            self._check_batch_split(config.batch_size)
            sampler = self._stream_order(train, data)
            batches_per_epoch = 0  # unknown; trainer.max_steps is set
        else:
            batch_size = min(config.batch_size, len(train))  # type: ignore[arg-type]
            self._check_batch_split(batch_size)
            if isinstance(objective, GroupsBatches):  # e.g. G-SimCLR: at most one item of a group per batch
                sampler = GroupedBatchSampler(self._batch_groups(objective, data, len(train), batch_size), batch_size)  # type: ignore[arg-type]
            else:
                sampler = EpochBatchSampler(len(train), batch_size, seed=self.seed, drop_last=config.drop_last)  # type: ignore[arg-type]
            batches_per_epoch = sampler.batches_per_epoch()
        total_steps = self._total_steps(batches_per_epoch)
        step_fn = torch.compile(objective.training_step) if config.compile else objective.training_step
        if self.fsdp:  # parameters become shards: before the optimisers are built
            step_fn = shard_with_fsdp(objective, step_fn)
        phases = self._build_phases(objective, total_steps)
        self._prepare_checkpoint_dir()
        warn_if_warmup_covers_run(type(objective).__name__, [state.phase for state in phases], total_steps)
        start_step = resume_training_state(self, objective, phases, sampler)
        if self.dist.rank > 0 and not self._rank_rng_restored:  # each rank its own augmentations
            seed_everything(self.seed + 1_000_003 * self.dist.rank + start_step)
        if self.resumed is not None and on_resume is not None and self.dist.is_main:
            on_resume(*self.resumed)
        if self.dist.enabled and not self.fsdp:
            step_fn = torch.nn.parallel.DistributedDataParallel(
                TrainingStep(objective, step_fn),
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=config.find_unused_parameters or len(phases) > 1,
            )

        loader_iter: Iterator[Batch] | None = None
        if isinstance(sampler, StreamOrder):
            loader_iter = iter(sampler)
        elif sampler is not None:
            loader = torch.utils.data.DataLoader(
                train,
                batch_sampler=RankSlice(sampler, self.dist.rank, self.dist.world_size) if self.dist.enabled else sampler,
                collate_fn=data.collate,
                num_workers=config.num_workers,
                pin_memory=self.device.type == "cuda",
                generator=torch.Generator().manual_seed(self.seed),
                persistent_workers=config.num_workers > 0,
            )
            loader_iter = iter(loader)

        def next_batch() -> Batch:
            if loader_iter is None:
                return full_batch
            return move_to_device(next(loader_iter), self.device, non_blocking=True, channels_last=config.channels_last)

        logger = StepLogger(
            self.run_dir / "log.jsonl" if self.run_dir and self.dist.is_main else None,
            total_steps=total_steps,
            start_step=start_step,
            log_every=config.log_every,
            device=self.device,
            history=self.history,
            last_checkpoint=lambda: self.last_checkpoint,
            progress=self.progress,
            loggers=self.loggers,
        )
        multi_phase = len(phases) > 1
        finished = False
        stop = GracefulStop(distributed=self.dist.enabled, announce=self.dist.is_main)
        try:
            stop.__enter__()
            if evaluate is not None and evaluation_missing(config, self.evaluations, start_step, total_steps):
                self._evaluate(objective, evaluate, start_step)  # skipped when a signal stopped that step
            for step in range(start_step + 1, total_steps + 1):
                micro_batches = [next_batch() for _ in range(config.accumulate_grad_batches)]
                record: dict[str, torch.Tensor | float] = {}
                for state in phases:
                    if not state.phase.runs_at(step):  # skipped: no update, the schedule follows the step
                        advance_schedule(state.scheduler)
                        continue
                    for _ in range(state.phase.repeats):
                        outputs = self._phase_update(step_fn, state, micro_batches, step)
                    suffix = f"/{state.phase.name}" if multi_phase else ""
                    for key, value in outputs.items():
                        record[key + suffix if key in ("loss", "grad_norm") else key] = value
                    record["lr" + suffix] = state.optimizer.param_groups[0]["lr"]
                    state.scheduler.step()
                objective.on_step_end(step=step, max_steps=total_steps)
                if self.online_probe is not None:
                    record.update(self.online_probe.update(objective.evaluation_encoder(), micro_batches[0]))
                logger.add(step, record, samples=self.dist.world_size * sum(_batch_rows(b) for b in micro_batches))
                if step < total_steps:  # no evaluation after a stop: the resumed run does it first
                    stop_if_signalled(self, stop, step, total_steps, lambda s: (logger.flush(), save_training_state(self, objective, phases, sampler, s)))
                if evaluate is not None and config.eval_every and (step % config.eval_every == 0 or step == total_steps):
                    logger.flush()
                    self._evaluate(objective, evaluate, step)
                if config.checkpoint_every and step % config.checkpoint_every == 0 and step < total_steps:
                    logger.flush()
                    save_training_state(self, objective, phases, sampler, step)
            logger.flush()
            if self.run_dir is not None:
                save_training_state(self, objective, phases, sampler, total_steps)
            if start_step < total_steps:  # a signal in the last step: stop before the final evaluation
                stop_if_signalled(self, stop, total_steps, total_steps, None)
            if self.fsdp:
                self.final_state = full_state_dicts(objective, {})[0]
            finished = True
        finally:
            stop.__exit__(None, None, None)
            logger.close()
            if self._owns_loggers:
                self.loggers.close("finished" if finished else "failed")
            if created_group:
                self.dist.leave_process_group()
        objective.eval()
        return self.history

    def _build_online_probe(self, objective: Objective, data: DataSource, train: Any) -> OnlineProbe | None:
        """With ``trainer.online_probe``: the head, after checking (before training) that the
        data has class labels in its training batches."""
        if not self.config.online_probe:
            return None
        if self.fsdp:
            raise ConfigError(
                "trainer.online_probe=true with trainer.strategy=fsdp: the probe needs the whole encoder on each rank. "
                "Use trainer.strategy=ddp, or evaluate with trainer.eval_every instead."
            )
        name = str(data.info.get("name") or type(data).__name__)
        classes = probe_classes(data.info, name)
        streaming = isinstance(train, torch.utils.data.IterableDataset)  # a stream's batches are checked as they come
        if not streaming and "label" not in data.collate([train[0]]):
            raise DatasetError(
                f"trainer.online_probe=true, but the training batches of dataset {name} have no 'label'. "
                "Set trainer.online_probe=false, or use a dataset whose training split is labelled."
            )
        embed_dim = int(objective.evaluation_encoder().embed_dim)
        return OnlineProbe(embed_dim, classes, lr=self.config.online_probe_lr, device=self.device, dtype=self.dtype, seed=self.seed)

    @staticmethod
    def _batch_groups(objective: GroupsBatches, data: DataSource, size: int, batch_size: int) -> torch.Tensor:
        groups = torch.as_tensor(objective.batch_groups(data, batch_size)).flatten()
        if groups.numel() != size:
            raise ConfigError(
                f"{type(objective).__name__}.batch_groups gave {groups.numel()} groups for the {size} items of the train "
                "split. Please report this to the plugin author: it must give one group per item."
            )
        return groups

    def _stream_order(self, stream: torch.utils.data.IterableDataset, data: DataSource) -> StreamOrder:
        """Passes over a streaming train split, each through a fresh ``DataLoader`` (its workers
        must see the position set before the pass, so they are not kept between passes)."""
        rank_batch = self.config.batch_size // self.dist.world_size

        def loader() -> torch.utils.data.DataLoader:
            return torch.utils.data.DataLoader(
                stream,
                batch_size=rank_batch,
                drop_last=self.config.drop_last,
                collate_fn=data.collate,
                num_workers=self.config.num_workers,
                pin_memory=self.device.type == "cuda",
                # its own generator: a new pass (or a resume) draws nothing from the global RNG
                generator=torch.Generator().manual_seed(self.seed),
            )

        return StreamOrder(stream, loader, batch_size=rank_batch)

    def _check_batch_split(self, batch_size: int) -> None:
        if not self.dist.enabled:
            return
        if batch_size % self.dist.world_size:
            raise ConfigError(
                f"trainer.batch_size={batch_size} (the global batch) does not split evenly over "
                f"{self.dist.world_size} processes. Use a multiple of {self.dist.world_size}, "
                f"e.g. trainer.batch_size={batch_size - batch_size % self.dist.world_size or self.dist.world_size}."
            )
        if not self.config.drop_last:
            raise ConfigError(
                "trainer.drop_last=false with several processes would give ranks unequal last batches. "
                "Use trainer.drop_last=true under torchrun."
            )

    def _accumulate(
        self, step_fn: Any, state: PhaseState, micro_batches: list[Batch], step: int,
        totals: dict[str, torch.Tensor],
    ) -> None:
        """Forward and backward over the step's micro-batches, summing the outputs into ``totals``."""
        for index, batch in enumerate(micro_batches):
            # Under DDP, gradients are all-reduced in the backward of the last micro-batch only.
            skip_sync = isinstance(step_fn, torch.nn.parallel.DistributedDataParallel) and index < len(micro_batches) - 1
            with step_fn.no_sync() if skip_sync else contextlib.nullcontext():
                with autocast_context(self.device, self.dtype):
                    outputs = step_fn(batch, step=step, phase=state.phase.name)
                if "loss" not in outputs:
                    raise ConfigError(
                        f"training_step of phase '{state.phase.name}' returned keys {sorted(outputs)}; "
                        "it must return a dict with a scalar 'loss'."
                    )
                loss = outputs["loss"] / len(micro_batches)
                (state.scaler.scale(loss) if state.scaler else loss).backward()
            for key, value in outputs.items():
                value = value.detach().float() / len(micro_batches)
                totals[key] = totals[key] + value if key in totals else value

    def _phase_update(
        self, step_fn: Any, state: PhaseState, micro_batches: list[Batch], step: int
    ) -> dict[str, torch.Tensor]:
        config = self.config
        state.optimizer.zero_grad(set_to_none=True)
        totals: dict[str, torch.Tensor] = {}
        with frozen(state.others):
            self._accumulate(step_fn, state, micro_batches, step, totals)
        if state.scaler:
            state.scaler.unscale_(state.optimizer)
        parameters = [p for p in state.phase.parameters if p.grad is not None]
        if config.grad_clip_value is not None:
            torch.nn.utils.clip_grad_value_(parameters, config.grad_clip_value)
        if config.grad_clip_norm is not None:
            grad_norm = torch.nn.utils.clip_grad_norm_(parameters, config.grad_clip_norm, foreach=True)
        else:
            grad_norm = torch.nn.utils.get_total_norm([p.grad for p in parameters], foreach=True)
        if isinstance(grad_norm, DTensor):  # FSDP: the norm over every shard
            grad_norm = grad_norm.full_tensor()
        if state.scaler:
            state.scaler.step(state.optimizer)
            state.scaler.update()
        else:
            state.optimizer.step()
        totals["grad_norm"] = grad_norm.detach().float()
        return totals

    def _evaluate(self, objective: Objective, evaluate: Callable[[int], dict[str, float]], step: int) -> None:
        """Run ``evaluate`` in eval mode with the RNG forked, so training continues as if it had not run.

        Rank 0 evaluates; the other ranks go on to the next step's collectives, which wait for it.
        """
        if not self.dist.is_main:
            return
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        python_state, numpy_state = random.getstate(), np.random.get_state()
        objective.eval()
        try:
            with torch.random.fork_rng(devices=devices):
                line = {"step": step, **{key: float(value) for key, value in evaluate(step).items()}}
        finally:
            objective.train()
            random.setstate(python_state)
            np.random.set_state(numpy_state)
        self.evaluations.append(line)
        self.loggers.log_metrics({f"eval/{k}": v for k, v in line.items() if k != "step"}, step)
        self.progress.write(f"evaluate at step {step}: " + "  ".join(f"{k}={v:.4f}" for k, v in line.items() if k != "step"))
        if self.run_dir is not None:
            with (self.run_dir / EVAL_LOG_FILE).open("a") as file:
                file.write(json.dumps(line) + "\n")

    # -- checkpoints ------------------------------------------------------------

    def checkpoint_dir(self) -> Path | None:
        """``run_dir/checkpoints``, or ``None`` for a trainer without a run folder."""
        return self.run_dir / "checkpoints" if self.run_dir is not None else None

    def _prepare_checkpoint_dir(self) -> None:
        """Before training (rank 0): fail now if checkpoints cannot be written, and remove the
        temporary files of a write that was killed."""
        directory = self.checkpoint_dir()
        if directory is None or not self.dist.is_main:
            return
        check_writable(directory, fix="Make it writable (or free the path), or choose another run_dir.")
        clean_orphans(directory)

def _tensorboard_only(config: TrainerConfig, run_dir: Path | None) -> LoggerSet:
    """A trainer used on its own with ``trainer.tensorboard=true`` still writes TensorBoard."""
    if not config.tensorboard or run_dir is None:
        return LoggerSet()
    try:
        from ..loggers.configs import TensorBoardConfig
        from ..loggers.tensorboard import TensorBoardLogger

        return LoggerSet([("tensorboard", TensorBoardLogger(TensorBoardConfig(), run_dir))])
    except ImportError:
        print("trainer.tensorboard=true but tensorboard is not installed; skipping it (pip install 'selfsup[tensorboard]').", file=sys.stderr)
        return LoggerSet()


def _batch_rows(batch: Batch) -> int:
    for value in batch.values():
        if isinstance(value, torch.Tensor) and value.ndim > 0:
            return int(value.shape[0])
    return 1

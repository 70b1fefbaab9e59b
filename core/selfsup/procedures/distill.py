"""KRR-ST dataset distillation of a finished run (behind ``selfsup distill``).

Protocol (:func:`distill`; the objective is :mod:`selfsup.procedures.krr`, following
``db-Lee/selfsup_dd`` ``algorithms/distill.py`` and ``model_pool.py``):

1. Target g = the run's saved encoder (frozen). Real rows = the run's dataset's ``train`` split.
2. Initialise X_s with ``size`` real rows (seeded draw) and Y_s = g(X_s). Learnable inputs are the
   batch's floating-point tensors except ``label`` (images, fbanks, numerical columns); integer
   tensors (categorical columns) stay those of the initial rows. ``input_keys`` overrides the choice.
3. Pool: ``pool_size`` fresh encoders of the run's architecture, each with a linear head to g's
   width, trained ``U{1, …, online_iteration − 1}`` steps of MSE(head(f(X_s)), Y_s) (SGD lr 0.1,
   momentum 0.9, wd 1e-3, as the official pool).
4. ``steps`` outer steps: a real batch X_r, Y_r = g(X_r); a random pool model; the KRR-ST loss on
   its features; AdamW (lr ``lr``, wd 0) on X_s and Y_s; X_s clipped to the real rows' range per key.
   Then that model takes one online step; at ``online_iteration`` steps it is re-initialised (the
   counter is reset only with ``reset_counter=True``; the official code does not reset it).
5. Optionally (``transfer=True``): pretrain a fresh encoder (run seed) + head by MSE on the
   distilled set, on ``size`` random real rows with Y = g(X) (the paper's ``random`` baseline),
   and score both with the core linear probe beside the untrained encoder.

Deviations: no train-time augmentation of X_r (augmentations belong to the modality plugins);
the outer lr schedule is constant; defaults are CPU-sized (``pool_size`` 4, ``online_iteration`` 50).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, DatasetError
from .krr import krr_st_loss

__all__ = ["DistillSettings", "DistilledSet", "distill", "gather_split", "learnable_keys"]


@dataclass
class DistillSettings:
    """``selfsup distill`` keys (besides ``run_dir``, ``out`` and ``data.*``)."""

    size: int = 100
    steps: int = 200
    lr: float = 1e-3
    batch_size: int = 256
    pool_size: int = 4
    online_iteration: int = 50
    reset_counter: bool = False
    ridge: float = 1e-6
    seed: int = 0
    input_keys: list[str] | None = None
    transfer: bool = False
    transfer_steps: int = 200
    transfer_lr: float = 0.01


@dataclass
class DistilledSet:
    """The distilled inputs (every batch key), the learned targets and the record of the run."""

    inputs: dict[str, torch.Tensor]
    targets: torch.Tensor
    keys: list[str]
    losses: list[float]
    fresh_draws: float
    transfer: dict[str, float] = field(default_factory=dict)


def gather_split(data: Any, split: str) -> dict[str, torch.Tensor]:
    """Every row of ``data.split(split)`` as one dict of tensors (read in order)."""
    if getattr(data, "full_batch", False):
        raise DatasetError("selfsup distill needs a dataset of separate rows; this one is a single full batch (a graph). Use a row dataset.")
    loader = torch.utils.data.DataLoader(data.split(split), batch_size=512, shuffle=False, collate_fn=data.collate)
    parts: dict[str, list[torch.Tensor]] = {}
    for batch in loader:
        for key, value in batch.items():
            if isinstance(value, torch.Tensor):
                parts.setdefault(key, []).append(value)
    return {key: torch.cat(values) for key, values in parts.items()}


def learnable_keys(rows: Mapping[str, torch.Tensor], chosen: list[str] | None) -> list[str]:
    """The keys whose values are optimised: ``chosen``, or every float tensor except ``label``."""
    floats = [k for k, v in rows.items() if v.is_floating_point() and k != "label" and v.ndim >= 2 and v.shape[1:].numel() > 0]
    if chosen:
        bad = [k for k in chosen if k not in floats]
        if bad:
            raise ConfigError(f"selfsup distill: input_keys {bad} are not continuous input tensors of the batch. Use some of {floats}.")
        return list(chosen)
    if not floats:
        raise DatasetError(
            f"selfsup distill needs continuous inputs to optimise, but the batch has only {sorted(rows)}. "
            "Use a modality with continuous inputs (images, audio features, numerical columns)."
        )
    return floats


def _embed(encoder: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return encoder(batch).float()


def _pool_step(model: nn.Module, head: nn.Module, opt: torch.optim.Optimizer, x_s: dict[str, torch.Tensor], y_s: torch.Tensor) -> None:
    model.train()
    opt.zero_grad(set_to_none=True)
    batch = {k: v.detach() for k, v in x_s.items()}
    F.mse_loss(head(_embed(model, batch)), y_s.detach()).backward()
    opt.step()


def distill(
    target: nn.Module,
    data: Any,
    make_encoder: Any,
    settings: DistillSettings,
    *,
    device: torch.device | str = "cpu",
    log: Any = None,
) -> DistilledSet:
    """Distil ``settings.size`` rows of ``data``'s train split for the frozen ``target`` encoder.

    ``make_encoder(seed)`` builds a fresh encoder of the run's architecture (pool models and the
    transfer check).
    """
    s = settings
    rows = gather_split(data, "train")
    n = next(iter(rows.values())).shape[0]
    if not 2 <= s.size < n:
        raise ConfigError(f"selfsup distill: size={s.size} must be in [2, {n - 1}] (the train split has {n} rows). Use e.g. size=100.")
    keys = learnable_keys(rows, s.input_keys)
    gen = torch.Generator().manual_seed(s.seed)
    init = torch.randperm(n, generator=gen)[: s.size]
    lo = {k: rows[k].amin(dim=0) for k in keys}
    hi = {k: rows[k].amax(dim=0) for k in keys}
    target = target.to(device).eval()
    for p in target.parameters():
        p.requires_grad_(False)
    x_s = {k: v[init].clone().to(device) for k, v in rows.items() if k != "label"}
    with torch.no_grad():
        y_s = _embed(target, x_s).clone()
    for k in keys:
        x_s[k].requires_grad_(True)
    y_s.requires_grad_(True)
    outer = torch.optim.AdamW([x_s[k] for k in keys] + [y_s], lr=s.lr, weight_decay=0.0)

    pool: list[dict[str, Any]] = []
    for i in range(s.pool_size):
        pool.append(_new_member(make_encoder, s.seed * 1000 + i, y_s.shape[1], device))
        for _ in range(int(torch.randint(1, max(s.online_iteration, 2), (1,), generator=gen))):
            _pool_step(pool[-1]["model"], pool[-1]["head"], pool[-1]["opt"], x_s, y_s)
            pool[-1]["count"] += 1
    losses: list[float] = []
    fresh = 0
    for step in range(s.steps):
        idx = torch.randint(0, n, (min(s.batch_size, n),), generator=gen)
        x_r = {k: v[idx].to(device) for k, v in rows.items() if k != "label"}
        with torch.no_grad():
            y_r = _embed(target, x_r)
        j = int(torch.randint(0, s.pool_size, (1,), generator=gen))
        member = pool[j]
        model = member["model"].eval()
        for p in model.parameters():
            p.requires_grad_(False)
        with torch.no_grad():
            feat_r = _embed(model, x_r)
        loss = krr_st_loss(_embed(model, x_s), feat_r, y_s, y_r, ridge=s.ridge)
        outer.zero_grad(set_to_none=True)
        loss.backward()
        outer.step()
        with torch.no_grad():
            for k in keys:
                x_s[k].copy_(torch.maximum(torch.minimum(x_s[k], hi[k].to(device)), lo[k].to(device)))
        for p in model.parameters():
            p.requires_grad_(True)
        losses.append(float(loss.detach()))
        if member["count"] >= s.online_iteration:
            count = 0 if s.reset_counter else member["count"]
            pool[j] = member = _new_member(make_encoder, s.seed * 1000 + s.pool_size + step, y_s.shape[1], device)
            member["count"] = count
            fresh += 1
        _pool_step(member["model"], member["head"], member["opt"], x_s, y_s)
        member["count"] += 1
        if log is not None and (step + 1) % max(1, s.steps // 10) == 0:
            log(f"distill: step {step + 1}/{s.steps}  loss {losses[-1]:.4f}")
    inputs = {k: v.detach().cpu() for k, v in x_s.items()}
    if "label" in rows:
        inputs["label"] = rows["label"][init].clone()  # the initial rows' labels, for reference only
    return DistilledSet(inputs, y_s.detach().cpu(), keys, losses, fresh / max(s.steps, 1))


def _new_member(make_encoder: Any, seed: int, width: int, device: torch.device | str) -> dict[str, Any]:
    model = make_encoder(seed).to(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = nn.Linear(int(model.embed_dim), width).to(device)
    opt = torch.optim.SGD(list(model.parameters()) + list(head.parameters()), lr=0.1, momentum=0.9, weight_decay=1e-3)
    return {"model": model, "head": head, "opt": opt, "count": 0}


def pretrain_on(
    make_encoder: Any, seed: int, inputs: Mapping[str, torch.Tensor], targets: torch.Tensor, *, steps: int, lr: float,
    device: torch.device | str = "cpu",
) -> nn.Module:
    """A fresh encoder (+ linear head) trained full-batch by MSE(head(f(X)), Y) (SGD, momentum 0.9, wd 1e-3)."""
    member = _new_member(make_encoder, seed, targets.shape[1], device)
    for group in member["opt"].param_groups:
        group["lr"] = lr
    x = {k: v.to(device) for k, v in inputs.items() if k != "label"}
    for _ in range(steps):
        _pool_step(member["model"], member["head"], member["opt"], x, targets.to(device))
    return copy.deepcopy(member["model"]).eval()


def transfer_scores(
    target: nn.Module, data: Any, make_encoder: Any, distilled: DistilledSet, settings: DistillSettings,
    *, device: torch.device | str = "cpu",
) -> dict[str, float]:
    """Linear-probe accuracy of encoders pretrained on the distilled set, on random real rows, and untrained."""
    from ..evaluation.linear_probe import LinearProbe

    s = settings
    rows = gather_split(data, "train")
    n = next(iter(rows.values())).shape[0]
    pick = torch.randperm(n, generator=torch.Generator().manual_seed(s.seed + 7))[: s.size]
    real = {k: v[pick] for k, v in rows.items() if k != "label"}
    with torch.no_grad():
        real_y = _embed(target.to(device).eval(), {k: v.to(device) for k, v in real.items()}).cpu()
    probe = LinearProbe(None)
    out: dict[str, float] = {}
    encoders = {
        "distilled": pretrain_on(make_encoder, s.seed, distilled.inputs, distilled.targets, steps=s.transfer_steps, lr=s.transfer_lr, device=device),
        "random_real": pretrain_on(make_encoder, s.seed, real, real_y, steps=s.transfer_steps, lr=s.transfer_lr, device=device),
        "untrained": make_encoder(s.seed).to(device).eval(),
    }
    for name, encoder in encoders.items():
        out[f"{name}_accuracy"] = probe.evaluate(encoder, data, device=torch.device(device), seed=s.seed)["accuracy"]
    return out


def settings_from(options: Mapping[str, Any]) -> DistillSettings:
    """Build :class:`DistillSettings` from the command's keys, with a named error for a bad value."""
    try:
        settings = DistillSettings(**dict(options))
    except TypeError as exc:
        raise ConfigError(f"selfsup distill: {exc}. Run 'selfsup distill --help' for its keys.") from exc
    for name in ("size", "steps", "batch_size", "pool_size", "online_iteration", "transfer_steps"):
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"selfsup distill: {name}={value!r} must be an integer >= 1. Use e.g. {name}={getattr(DistillSettings, name)}.")
    for name in ("lr", "ridge", "transfer_lr"):
        if not float(getattr(settings, name)) > 0:
            raise ConfigError(f"selfsup distill: {name} must be > 0, got {getattr(settings, name)!r}. Use e.g. {name}={getattr(DistillSettings, name)}.")
    return settings


def out_dir_default(run_dir: Path, size: int) -> Path:
    return run_dir / f"distilled-{size}"

"""The ``selfsup distill`` command (registered in :mod:`selfsup.cli`): KRR-ST dataset distillation.

    selfsup distill run_dir=DIR size=N [steps=200] [out=DIR] [transfer=true] [data.root=PATH] [key=value ...]

Keys: :class:`selfsup.procedures.distill.DistillSettings` (``size``, ``steps``, ``lr``,
``batch_size``, ``pool_size``, ``online_iteration``, ``reset_counter``, ``ridge``, ``seed``,
``input_keys``, ``transfer``, ``transfer_steps``, ``transfer_lr``), plus ``run_dir``, ``out``,
``device`` and ``data.*`` (overrides of the run's dataset settings).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["add_parser", "COMMANDS"]


def add_parser(sub: Any) -> None:
    """Add the ``distill`` sub-command to the ``selfsup`` parser."""
    parser = sub.add_parser("distill", help="distil a run's training data into N synthetic rows (KRR-ST)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="run_dir=DIR size=N [steps=200] [out=DIR]")


def _distill(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from .config import parse_dotlist
    from .engine.device import resolve_device
    from .errors import did_you_mean
    from .procedures.distill import DistillSettings, distill, out_dir_default, settings_from, transfer_scores
    from .procedures.distill_io import write_distilled
    from .saved_run import build_encoder, load_encoder, resolve_saved_run

    options = OmegaConf.to_container(parse_dotlist(args.overrides))
    assert isinstance(options, dict)
    allowed = ("run_dir", "out", "device", "data") + tuple(f.name for f in dataclasses.fields(DistillSettings))
    for key in options:
        if key not in allowed:
            raise ConfigError(f"selfsup distill has no key {key!r}.{did_you_mean(key, allowed)} Its keys: {', '.join(allowed)}.")
    if not options.get("run_dir"):
        raise ConfigError("selfsup distill needs run_dir=<folder of a finished pretrain run>.")
    run_dir = Path(str(options.pop("run_dir")))
    out = Path(str(options.pop("out", None) or "")) if options.get("out") else None
    options.pop("out", None)
    device = resolve_device(str(options.pop("device", None) or "cpu"))
    data_overrides = options.pop("data", None) or {}
    settings = settings_from(options)
    target = load_encoder(run_dir)
    resolved = resolve_saved_run(run_dir, {"data": data_overrides} if data_overrides else {}, ())
    data = resolved.dataset.resolve_factory()(resolved.component_config("data"))
    encoder_config = resolved.component_config("encoder_config")

    def make_encoder(seed: int) -> Any:
        return build_encoder(resolved.encoder, encoder_config, data.info, seed)

    out = out or out_dir_default(run_dir, settings.size)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"selfsup distill: {str(out)!r} already holds files. Give a new folder with out=<dir>.")
    distilled = distill(target, data, make_encoder, settings, device=device, log=print)
    record = {
        "run_dir": str(run_dir),
        "modality": resolved.config.modality,
        "encoder": resolved.encoder.name,
        "dataset": resolved.dataset.name,
        "settings": dataclasses.asdict(settings),
    }
    manifest = write_distilled(out, distilled, data.info, record)  # saved before the transfer can fail
    if settings.transfer:
        print(f"selfsup: distilled rows saved in {out}; now pretraining fresh encoders on them and on real rows")
        distilled.transfer = transfer_scores(target, data, make_encoder, distilled, settings, device=device)
        manifest = write_distilled(out, distilled, data.info, record)  # the manifest gains the transfer scores
    print(f"selfsup: {settings.size} distilled rows ({', '.join(distilled.keys)}) written to {out}; manifest {manifest}")
    for key, value in distilled.transfer.items():
        print(f"  {key}: {value:.4f}")
    return 0


#: Handlers by command name, for :func:`selfsup.cli.main`.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"distill": _distill}

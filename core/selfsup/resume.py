"""Honest resume: what a resumed run may change, and the record of what it changed.

On ``trainer.resume=true`` the requested config is compared with the run's saved
``config.yaml``, key by key:

* keys that define the method or its data (:data:`FROZEN_KEYS`, :data:`FROZEN_PREFIXES`:
  the components and their configs, the seed, the data, the batch, the optimiser and the
  shape of the schedule) cannot change: a :class:`~selfsup.errors.ConfigError` lists every
  changed one with its old and new value, before anything is loaded or written;
* every other key may change and is applied for real (the trainer re-targets the restored
  learning rates and schedule, see :mod:`selfsup.engine.schedule_change`), and
  ``config.yaml`` is rewritten with the new values and one more entry of its ``resumes``
  list: ``{"step": <checkpoint step>, "changed": {"<key>": {"old": ..., "new": ...}}, "notes": [...]}``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from .config import to_container
from .errors import ConfigError

__all__ = [
    "FROZEN_KEYS",
    "FROZEN_PREFIXES",
    "IGNORED_KEYS",
    "PROTOCOL_KEYS",
    "config_changes",
    "frozen_changes",
    "check_resumable",
    "record_resume",
    "save_config",
    "reusable_results",
]

#: Keys a resumed run cannot change (dotted).
FROZEN_KEYS = frozenset(
    {
        "modality",
        "objective",
        "encoder",
        "dataset",
        "seed",
        "trainer.batch_size",
        "trainer.accumulate_grad_batches",
        "trainer.drop_last",
        "trainer.optimizer",
        "trainer.weight_decay",
        "trainer.betas",
        "trainer.momentum",
        "trainer.exclude_bias_and_norm_from_weight_decay",
        "trainer.schedule",
        "trainer.warmup_steps",
        "trainer.warmup_fraction",
        "trainer.warmup_every",
        "trainer.min_lr_ratio",
        "trainer.precision",
    }
)
#: Sections a resumed run cannot change: the model's shape, the objective, the data.
FROZEN_PREFIXES = ("data.", "encoder_config.", "objective_config.")
#: Keys not compared: where the run is, the resume switch itself, the history.
IGNORED_KEYS = frozenset({"run_dir", "trainer.resume", "resumes"})


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        if not value and prefix:
            flat[prefix[:-1]] = {}
        return flat
    return {prefix[:-1]: _plain(value)}


def _plain(value: Any) -> Any:
    """Tuples as lists: a YAML file gives lists where a dataclass default is a tuple."""
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def config_changes(saved: Any, requested: Any) -> dict[str, tuple[Any, Any]]:
    """``{"dotted.key": (old, new)}`` for every compared key whose value differs (absent: ``None``)."""
    old, new = _flatten(to_container(saved)), _flatten(to_container(requested))
    changes = {}
    for key in sorted(set(old) | set(new)):
        if key in IGNORED_KEYS or key.split(".", 1)[0] in IGNORED_KEYS:
            continue
        if old.get(key) != new.get(key):
            changes[key] = (old.get(key), new.get(key))
    return changes


def _is_frozen(key: str) -> bool:
    return key in FROZEN_KEYS or key.startswith(FROZEN_PREFIXES)


def frozen_changes(changes: Mapping[str, tuple[Any, Any]]) -> dict[str, tuple[Any, Any]]:
    return {key: value for key, value in changes.items() if _is_frozen(key)}


def check_resumable(run_dir: Path, saved: Any, requested: Any) -> dict[str, tuple[Any, Any]]:
    """The changes a resume would apply; a :class:`ConfigError` if any cannot change."""
    changes = config_changes(saved, requested)
    refused = frozen_changes(changes)
    if refused:
        listed = "; ".join(f"{key}: {old!r} -> {new!r}" for key, (old, new) in refused.items())
        raise ConfigError(
            f"trainer.resume=true cannot change {', '.join(refused)} of the run in {str(run_dir)!r} "
            f"({listed}). Resume with the saved values (selfsup pretrain --config {run_dir / 'config.yaml'} "
            "trainer.resume=true), or start a new run_dir with the new ones."
        )
    return changes


def save_config(config: DictConfig, path: Path) -> None:
    """Write ``config`` as YAML atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    OmegaConf.save(config, tmp)
    os.replace(tmp, path)


def record_resume(
    run_dir: Path, config: DictConfig, step: int, changes: Mapping[str, tuple[Any, Any]], notes: list[str]
) -> dict[str, Any]:
    """Rewrite ``run_dir/config.yaml`` with ``config`` (the values the run now trains with,
    ``trainer.resume`` false so the file starts a new run as it is) and append one entry to
    its ``resumes`` history. Returns the entry."""
    path = run_dir / "config.yaml"
    saved = OmegaConf.load(path) if path.exists() else OmegaConf.create({})
    history = list(to_container(saved.get("resumes")) or [])
    entry: dict[str, Any] = {
        "step": int(step),
        "changed": {key: {"old": old, "new": new} for key, (old, new) in changes.items()},
    }
    if notes:
        entry["notes"] = list(notes)
    history.append(entry)
    record = OmegaConf.create(to_container(config))
    record.trainer.resume = False
    record.resumes = history
    save_config(record, path)
    config.resumes = history
    return entry


#: What must match for an earlier result of an evaluator to stand for a new one.
PROTOCOL_KEYS = ("evaluator", "provider", "settings", "split", "seed", "dataset", "data")


def reusable_results(run_dir: Path, results: Mapping[str, Mapping[str, Any]], label: str) -> dict[str, dict[str, float]]:
    """``{evaluator: scores}`` from the run's earlier ``metrics.json`` for ``label``
    (``"random_init"`` or ``"pretrained"``) whose protocol equals that of ``results``
    (entries as :func:`selfsup.scoring.run_evaluators` makes them, scores not needed).

    Seeded evaluators on the same weights give the same scores, so after a resume the
    random-init baseline (rebuilt from the seed) is never re-run, and nothing is re-run when
    no step was trained.
    """
    import json

    path = run_dir / "metrics.json"
    if not path.exists():
        return {}
    try:
        previous = json.loads(path.read_text()).get("evaluations", {})
    except ValueError:
        return {}
    reused = {}
    for name, entry in results.items():
        old = previous.get(name)
        if old is None or label not in old or label in (old.get("errors") or {}):
            continue
        if all(json.dumps(old.get(k), sort_keys=True) == json.dumps(entry.get(k), sort_keys=True) for k in PROTOCOL_KEYS):
            reused[name] = dict(old[label])
    return reused

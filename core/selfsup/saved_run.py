"""A finished run's folder as the product reads it back: its resolved config, its encoder
(rebuilt from ``config.yaml`` and ``data_info.json``, weights from ``encoder.safetensors``), and
the two pieces every reader shares: building a registered encoder from its config, and writing
its weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import nn

from .config import ResolvedRun, load_user_config, resolve
from .errors import CheckpointError, ConfigError
from .registry import get_registry
from .safe_files import load_weights, read_json, save_weights

__all__ = ["DATA_INFO_FILE", "ENCODER_FILE", "build_encoder", "load_encoder", "resolve_saved_run", "save_encoder"]

ENCODER_FILE = "encoder.safetensors"
DATA_INFO_FILE = "data_info.json"


def build_encoder(spec: Any, config: Any, data_info: Mapping[str, Any], seed: int) -> nn.Module:
    """The registered encoder ``spec`` built from ``config`` and the data's info, after
    ``torch.manual_seed(seed)``: the random-init twin is reproducible from the seed alone."""
    torch.manual_seed(seed)
    encoder = spec.resolve_factory()(config, data_info)
    if not isinstance(getattr(encoder, "embed_dim", None), int):
        raise ConfigError(
            f"Encoder '{spec.name}' ({spec.provider}) has no integer 'embed_dim' attribute. "
            "Please report this to the plugin author."
        )
    return encoder


def save_encoder(encoder: nn.Module, path: Path) -> None:
    """Write the encoder's weights as safetensors with a sha256 in its metadata, atomically."""
    save_weights(encoder.state_dict(), path)


def resolve_saved_run(run_dir: Path, overrides: Mapping[str, Any], plugins: Sequence[Any]) -> ResolvedRun:
    """A run folder's ``config.yaml`` with ``overrides`` on top, resolved against the installed
    plugins. A new ``evaluators`` list drops the saved settings of evaluators no longer chosen; a
    new ``dataset`` drops the saved ``data`` settings."""
    config_path = run_dir / "config.yaml"
    if not config_path.exists():
        raise CheckpointError(f"{str(run_dir)!r} holds no config.yaml. Give the folder of a finished pretrain run.")
    saved = load_user_config(config_path)
    if overrides.get("evaluators") is not None and saved.get("evaluator_config"):
        # A new evaluator list replaces the run's: drop the saved settings of
        # evaluators no longer chosen (their keys are not in the new schema).
        chosen = overrides["evaluators"]
        chosen = [chosen] if isinstance(chosen, str) else list(chosen)
        keep = {str(name).rpartition(":")[2].strip().lower() for name in chosen}
        saved.evaluator_config = {k: v for k, v in saved.evaluator_config.items() if k in keep}
    if overrides.get("dataset") is not None and overrides["dataset"] != saved.get("dataset"):
        # another dataset (e.g. a labelled one to score an encoder pretrained on a stream):
        # the saved data settings belong to the old one's schema
        saved.pop("data", None)
    merged = OmegaConf.merge(saved, OmegaConf.create(dict(overrides)))
    return resolve(merged, get_registry(plugins))


def load_encoder(run_dir: str | Path, *, plugins: Sequence[Any] = ()) -> nn.Module:
    """Rebuild a run's encoder from ``config.yaml`` and ``data_info.json`` and load its weights."""
    run_dir = Path(run_dir)
    resolved = resolve_saved_run(run_dir, {}, plugins)
    weights = run_dir / ENCODER_FILE
    info_path = run_dir / DATA_INFO_FILE
    if not weights.exists() or not info_path.exists():
        raise CheckpointError(
            f"{str(run_dir)!r} has no {ENCODER_FILE} or {DATA_INFO_FILE}: the run did not finish. "
            "Resume it with trainer.resume=true."
        )
    data_info = read_json(info_path, fix="Restore it from a copy of the run, or run the pretraining again.")
    state = load_weights(weights)  # verifies the checksum stored in the file
    encoder = build_encoder(resolved.encoder, resolved.component_config("encoder_config"), data_info, resolved.config.seed)
    try:
        encoder.load_state_dict(state)
    except RuntimeError as exc:  # missing/unexpected keys or shapes: the file is not this run's encoder
        raise CheckpointError(
            f"{str(weights)!r} does not fit encoder '{resolved.encoder.name}' ({' '.join(str(exc).split())[:400]}). "
            "Use the encoder.safetensors written by this run."
        ) from exc
    return encoder.eval()

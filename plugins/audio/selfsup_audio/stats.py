"""``selfsup audio-stats``: a dataset's fbank mean and std, stored as JSON for ``data.norm_file``.

SSAST normalises every dataset with its own statistics (``src/get_norm_stats.py``: mean and
std of the padded training inputs; e.g. ESC-50 −6.6268077 / 5.358466). This command builds
any registered audio dataset with ``norm=none``, takes the un-normalised features of one
split (``train`` by default) and writes::

    {"mean": ..., "std": ..., "dataset": "esc50", "split": "train", "num_clips": ...,
     "sample_rate": 16000, "num_mel_bins": 128, "target_length": 512, "data": {...}}

Usage (the ``key=value`` arguments are the dataset's config keys, as ``data.<key>`` in a run)::

    selfsup audio-stats --dataset esc50 --out esc50-fold1.json root=/data/ESC-50 fold=1
    python -m selfsup_audio.stats --dataset fsdd --out fsdd.json split=speaker

then ``selfsup pretrain modality=audio dataset=esc50 data.root=/data/ESC-50 data.fold=1
data.norm_file=esc50-fold1.json``. Padding zeros are part of the statistics, as in SSAST,
so a file only fits runs with the same ``target_length`` (checked when it is read).

The command comes through selfsup's ``register_commands`` hook (:func:`command`); the older
console script ``selfsup-audio-stats`` (:func:`main`) is a deprecated alias of it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["compute_stats", "command", "main"]


def compute_stats(dataset: str, overrides: Mapping[str, Any] | None = None, *, split: str = "train") -> dict[str, Any]:
    """Fbank statistics of ``split`` of the audio dataset ``dataset`` built with ``overrides``."""
    import torch
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from selfsup.errors import ConfigError, DatasetError
    from selfsup.registry import get_registry

    from .datasets.features import norm_stats

    spec = get_registry().get("dataset", dataset, modality="audio")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(spec.config_cls), dict(overrides or {}),
                                 {"norm": "none", "norm_file": None})
        config = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        raise ConfigError(
            f"Bad data setting for {spec.name!r}: {exc}. Give the dataset's own keys as key=value "
            f"(see 'selfsup info {spec.name}')."
        ) from exc
    source = spec.resolve_factory()(config)
    if split not in source.splits:
        raise DatasetError(f"{spec.name!r} has no split {split!r}; its splits are {list(source.splits)}.")
    part = source.split(split)
    features = part.__getitems__(list(range(len(part))))["x"] if len(part) else torch.zeros(0)
    if features.numel() == 0:
        raise DatasetError(f"The {split!r} split of {spec.name!r} is empty; there is nothing to measure.")
    mean, std = norm_stats(features)
    data = OmegaConf.to_container(merged, resolve=True)
    return {
        "mean": mean,
        "std": std,
        "dataset": spec.name,
        "split": split,
        "num_clips": int(features.shape[0]),
        "sample_rate": int(config.sample_rate),
        "num_mel_bins": int(config.num_mel_bins),
        "target_length": int(config.target_length),
        "skipped": int(source.info.get("skipped", 0)),
        "data": {k: v for k, v in data.items() if k not in ("norm", "norm_file", "norm_mean", "norm_std")},
    }


DESCRIPTION = "Compute an audio dataset's fbank mean and std (SSAST normalisation) and store them as JSON."


def command(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """``selfsup audio-stats`` (the ``register_commands`` factory): add the arguments, return the handler."""
    parser.add_argument("--dataset", required=True, help="an audio dataset name, e.g. esc50, fsdd, audio-folder")
    parser.add_argument("--out", required=True, help="the JSON file to write (use it as data.norm_file)")
    parser.add_argument("--split", default="train", help="the split to measure (default: train)")
    parser.add_argument("overrides", nargs="*", help="dataset config keys as key=value, e.g. root=/data/ESC-50 fold=1")
    return run


def run(args: argparse.Namespace) -> int:
    """Measure and write the statistics; selfsup errors propagate (the CLI prints them as one line)."""
    from omegaconf import OmegaConf

    from selfsup.config import parse_dotlist

    overrides = OmegaConf.to_container(parse_dotlist(args.overrides))
    stats = compute_stats(args.dataset, overrides, split=args.split)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(stats, indent=2) + "\n")
    tmp.replace(out)  # atomic: a reader never sees half a file
    print(f"{stats['dataset']} {stats['split']} ({stats['num_clips']} clips): mean {stats['mean']:.6f}, "
          f"std {stats['std']:.6f} -> {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The deprecated ``selfsup-audio-stats`` script: ``selfsup audio-stats`` with a notice."""
    from selfsup.errors import SelfsupError

    parser = argparse.ArgumentParser(prog="selfsup-audio-stats", description=DESCRIPTION)
    handler = command(parser)
    args = parser.parse_args(argv)
    print("selfsup-audio-stats: deprecated; run 'selfsup audio-stats' (same arguments).", file=sys.stderr)
    try:
        return handler(args)
    except SelfsupError as exc:
        print(f"selfsup-audio-stats: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The ``selfsup embed`` and ``selfsup export`` commands (registered in :mod:`selfsup.cli`).

    selfsup embed run_dir=DIR data.root=PATH out=FILE.parquet|FILE.npy [batch_size=64] [device=cpu]
    selfsup export run_dir=DIR format=onnx|torchscript|safetensors [out=DIR] [data.root=PATH]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .errors import ConfigError

__all__ = ["add_parsers", "COMMANDS"]

_EMBED_KEYS = ("run_dir", "data", "out", "batch_size", "device")
_EXPORT_KEYS = ("run_dir", "data", "format", "out", "atol")


def add_parsers(sub: Any) -> None:
    """Add the ``embed`` and ``export`` sub-commands to the ``selfsup`` parser."""
    embed = sub.add_parser("embed", help="embed new raw inputs with a run's encoder and saved preprocessing")
    embed.add_argument("overrides", nargs="*", metavar="key=value", help="run_dir=DIR data.root=PATH out=FILE")
    export = sub.add_parser("export", help="export a run's encoder (onnx, torchscript, safetensors), verified")
    export.add_argument("overrides", nargs="*", metavar="key=value", help="run_dir=DIR format=onnx [out=DIR]")


def _options(args: argparse.Namespace, command: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    from omegaconf import OmegaConf

    from .config import parse_dotlist
    from .errors import did_you_mean

    options = OmegaConf.to_container(parse_dotlist(args.overrides))
    assert isinstance(options, dict)
    for key in options:
        if key not in allowed:
            raise ConfigError(
                f"selfsup {command} has no key {key!r}.{did_you_mean(key, allowed)} Its keys: {', '.join(allowed)}."
            )
    if not options.get("run_dir"):
        raise ConfigError(f"selfsup {command} needs run_dir=<folder of a finished pretrain run>.")
    data = options.get("data") or {}
    if not isinstance(data, dict) or set(data) - {"root"}:
        raise ConfigError(f"selfsup {command} reads new inputs from data.root=<file or folder>; no other data.* key.")
    options["root"] = data.get("root")
    return options


def _embed(args: argparse.Namespace) -> int:
    from .embed import embed

    options = _options(args, "embed", _EMBED_KEYS)
    if not options.get("root"):
        raise ConfigError("selfsup embed needs data.root=<file or folder of new raw inputs>.")
    if not options.get("out"):
        raise ConfigError("selfsup embed needs out=<embeddings.parquet or embeddings.npy>.")
    result = embed(
        options["run_dir"], options["root"], out=options["out"],
        batch_size=int(options.get("batch_size") or 64), device=str(options.get("device") or "cpu"),
    )
    per = "per point/node" if result.layout == "unit" else "per input"
    print(
        f"selfsup: {len(set(result.ids))} input(s), {result.vectors.shape[0]} embedding(s) {per}, "
        f"width {result.vectors.shape[1]}, written to {options['out']}"
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    import json

    from .export import export

    options = _options(args, "export", _EXPORT_KEYS)
    folder = export(
        options["run_dir"], str(options.get("format") or "onnx"), out=options.get("out"),
        inputs=options.get("root"), atol=float(options.get("atol") or 1e-4),
    )
    manifest = json.loads((folder / "export.json").read_text())
    print(
        f"selfsup: {manifest['format']} export of encoder {manifest['encoder']} in {folder / manifest['file']}; "
        f"checked on {manifest['verified_on']}: max |difference| {manifest['max_abs_diff']:.2e}"
    )
    return 0


#: Handlers by command name, for :func:`selfsup.cli.main`.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"embed": _embed, "export": _export}

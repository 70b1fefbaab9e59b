"""``selfsup sines-summary``: a plugin subcommand (the ``register_commands`` hook).

``plugin.py`` registers it with a lazy ``"selfsup_example.commands:summary"`` factory, so this
module (and torch) is imported only when the command runs. The factory receives the command's
``argparse`` parser, adds its arguments and returns the handler; a ``SelfsupError`` raised by the
handler is printed by ``selfsup`` as one line (exit status 2), like the core commands' errors::

    selfsup sines-summary num_classes=3 train_size=60
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable

__all__ = ["summary", "run"]


def summary(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """Add the command's arguments; return its handler."""
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="synthetic-sines config keys, e.g. num_classes=3")
    return run


def run(args: argparse.Namespace) -> int:
    """Build ``synthetic-sines`` with the given keys and print each split's rows per class."""
    import torch

    from selfsup.errors import ConfigError

    from .configs import SinesConfig
    from .data import SyntheticSines

    fields = {f.name: f.type for f in dataclasses.fields(SinesConfig)}
    values: dict[str, object] = {}
    for item in args.overrides:
        key, sep, text = item.partition("=")
        if not sep or key not in fields:
            raise ConfigError(f"sines-summary: {item!r} is not key=value with a key of synthetic-sines ({', '.join(fields)}). "
                              "Pass e.g. num_classes=3.")
        default = getattr(SinesConfig(), key)
        values[key] = type(default)(text) if default is not None else text
    data = SyntheticSines(SinesConfig(**values))  # type: ignore[arg-type]
    for name in data.splits:
        labels = data.split(name).y
        counts = torch.bincount(labels, minlength=data.info["num_classes"]).tolist()
        print(f"{name}: {len(labels)} rows, per class {counts}")
    return 0

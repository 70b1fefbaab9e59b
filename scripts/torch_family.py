"""Link the torch family of one environment (torch, torchaudio, torchvision and everything they
require, nothing else) into a folder, so that a clean virtual environment can see exactly
those packages through a ``.pth`` file (used by scripts/check_wheels.sh).

Usage: python scripts/torch_family.py TARGET REQUIREMENTS_FILE
Exits with status 3 when this environment's versions differ from the pinned ones in
REQUIREMENTS_FILE (lines ``name==version``); nothing is written then.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import sys
from pathlib import Path

from packaging.requirements import Requirement

__all__ = ["closure", "link_closure", "main"]


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(roots: list[str]) -> list[metadata.Distribution]:
    """The installed distributions ``roots`` need, transitively (markers evaluated, with the
    extras each requirement asks for, e.g. ``cuda-toolkit[cufile]``)."""
    todo: list[tuple[str, str]] = [(name, "") for name in roots]
    seen: set[tuple[str, str]] = set()
    found: dict[str, metadata.Distribution] = {}
    while todo:
        name, extra = todo.pop()
        if (_key(name), extra) in seen:
            continue
        seen.add((_key(name), extra))
        dist = metadata.distribution(name)
        found[_key(name)] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
                todo.append((requirement.name, ""))
                todo.extend((requirement.name, wanted) for wanted in requirement.extras)
    return list(found.values())


def link_closure(dists: list[metadata.Distribution], target: Path) -> int:
    """Hard-link (else symlink) every file of ``dists`` that lies in site-packages into ``target``."""
    count = 0
    for dist in dists:
        for file in dist.files or []:
            if str(file).startswith(".."):  # scripts in bin/: not needed to import
                continue
            source = Path(dist.locate_file(file))
            if not source.is_file():
                continue
            destination = target / file
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, destination)
            except OSError:
                os.symlink(source, destination)
            count += 1
    return count


def main(argv: list[str]) -> int:
    target, requirements = Path(argv[0]), Path(argv[1])
    pins = dict(line.split("==", 1) for line in requirements.read_text().split() if "==" in line)
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            return 3
        if installed.split("+")[0] != version:
            return 3
    link_closure(closure(list(pins)), target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

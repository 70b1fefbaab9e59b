"""Registering every installed plugin imports no heavy library: `selfsup list` stays fast
(0.22-0.25 CPU-s with all first-party plugins on the 2-core development machine, 2026-12-07;
the tabular plugin's torch import at registration had made it ~1.8 s)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "torchaudio", "torchvision", "pandas", "pyarrow", "open3d", "rdkit", "torch_geometric",
         "matplotlib", "scipy", "sklearn", "timm")


def test_listing_every_component_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from selfsup.registry import KINDS, get_registry\n"
        "registry = get_registry()\n"
        "assert all(registry.list(kind) for kind in KINDS), 'a kind has no component'\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"registering the plugins imported {done.stdout.strip()}"

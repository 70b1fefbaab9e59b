"""docs/architecture.md keeps up with the code: every top-level folder and plugin of the
repository is in its layout, and every module of the core is in its module table."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()
LAYOUT = ARCHITECTURE.split("## Repository layout", 1)[1].split("```")[1]
IGNORED = {".git", ".venv", ".gl", ".whl", "runs", "build", "dist", "__pycache__", ".pytest_cache"}


def _tracked_top_level() -> list[str]:
    """Top-level folders git tracks (untracked caches and tool folders do not count); without
    git, every non-empty folder that is not a known build or cache folder."""
    try:
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        files = []
    if files:
        return sorted({f.split("/", 1)[0] for f in files if "/" in f} - IGNORED)
    return sorted(
        p.name for p in ROOT.iterdir()
        if p.is_dir() and p.name not in IGNORED and not p.name.endswith(".egg-info") and any(p.iterdir())
    )


def test_every_top_level_folder_and_plugin_is_in_the_layout():
    missing = [name for name in _tracked_top_level() if not re.search(rf"^\.?{re.escape(name)}/", LAYOUT, re.M)]
    missing += [f"plugins/{p.name}" for p in sorted((ROOT / "plugins").iterdir())
                if (p / "pyproject.toml").is_file() and f"plugins/{p.name}/" not in LAYOUT]
    assert not missing, f"docs/architecture.md's layout lacks {missing}"


def test_every_core_module_is_in_the_module_table():
    core = ROOT / "core" / "selfsup"
    modules = [p for p in sorted(core.iterdir()) if p.suffix == ".py" and p.name != "__main__.py"]
    packages = [p for p in sorted(core.iterdir()) if p.is_dir() and (p / "__init__.py").is_file()]
    missing = [p.name for p in modules if f"`{p.name}`" not in ARCHITECTURE]
    for package in packages:
        if f"`{package.name}/`" in ARCHITECTURE:  # a package described as a whole
            continue
        missing += [f"{package.name}/{p.name}" for p in sorted(package.glob("*.py"))
                    if p.name != "__init__.py" and f"`{package.name}/{p.name}`" not in ARCHITECTURE]
    assert not missing, f"docs/architecture.md's module table lacks {missing}"

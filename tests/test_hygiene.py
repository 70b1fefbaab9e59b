"""House rules checked on the source: no import cycles in the core, no development paths in
the product, torch-family pins that go together."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "core" / "selfsup"

#: Cycles that exist for now and belong to another change (each as its sorted modules).
#: Remove an entry when its cycle is gone; the test then keeps it gone.
KNOWN_CYCLES: set[tuple[str, ...]] = set()


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """The selfsup modules ``path`` imports (at any depth of the file, relative or absolute)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(root: Path = CORE) -> dict[str, set[str]]:
    files = {_module_name(p, root): p for p in root.rglob("*.py")}
    modules = set(files)
    return {name: _imports(path, name, modules) - {"selfsup"} for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[tuple[str, ...]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.add(tuple(sorted(component)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_planted_cycle(tmp_path):
    package = tmp_path / "selfsup"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import x\n")
    (package / "b.py").write_text("def f():\n    from selfsup import a\n")
    (package / "c.py").write_text("from . import a\n")
    assert cycles(import_graph(package)) == {("selfsup.a", "selfsup.b")}


def test_core_has_no_import_cycles():
    found = cycles(import_graph())
    assert found - KNOWN_CYCLES == set(), f"import cycles in core/selfsup: {sorted(found - KNOWN_CYCLES)}"
    assert ("selfsup.plugins", "selfsup.registry") not in found
    stale = KNOWN_CYCLES - found
    assert not stale, f"these cycles are gone: remove them from KNOWN_CYCLES: {sorted(stale)}"


def _product_files() -> list[Path]:
    roots = [CORE, *REPO.glob("plugins/*/selfsup_*"), *REPO.glob("examples/*/selfsup_*")]
    return [path for root in roots for path in root.rglob("*.py")]


@pytest.mark.parametrize("needle", ["shared/data", "SELFSUP_DATA", "../shared"])
def test_the_product_never_names_the_development_data(needle):
    """Only tests and benchmarks may find the development data (through their fixtures)."""
    files = _product_files()
    assert len(files) > 50
    offenders = [str(p.relative_to(REPO)) for p in files if needle in p.read_text()]
    assert offenders == [], f"{needle!r} appears in the product: {offenders}"


def _pins() -> dict[str, str]:
    text = (REPO / "requirements" / "dev.txt").read_text()
    return dict(re.findall(r"^(torch|torchaudio|torchvision)==(\S+)", text, flags=re.M))


def _dependencies(pyproject: Path) -> list[Requirement]:
    """``[project] dependencies`` (read with a pattern: tomllib needs Python 3.11, selfsup supports 3.10)."""
    block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", pyproject.read_text(), flags=re.M | re.S)
    assert block, f"{pyproject} has no dependencies list"
    return [Requirement(item) for item in re.findall(r'"([^"]+)"', re.sub(r"#.*", "", block.group(1)))]


PYPROJECTS = sorted([REPO / "pyproject.toml", *REPO.glob("plugins/*/pyproject.toml"), *REPO.glob("examples/*/pyproject.toml")])


@pytest.mark.parametrize("pyproject", PYPROJECTS, ids=lambda p: str(p.relative_to(REPO)))
def test_torch_family_ranges_hold_the_pins_and_nothing_incompatible(pyproject):
    """torch 2.11.0, torchaudio 2.11.0 and torchvision 0.26.0 go together; torchaudio 2.11.1 (built
    for another torch) and the next torch minor must be excluded, or pip picks an ABI mismatch."""
    pins = _pins()
    assert pins == {"torch": "2.11.0", "torchaudio": "2.11.0", "torchvision": "0.26.0"}
    incompatible = {"torch": ["2.12.0", "2.10.0"], "torchaudio": ["2.11.1", "2.12.0", "2.10.0"], "torchvision": ["0.27.0", "0.25.0"]}
    family = [r for r in _dependencies(pyproject) if r.name in pins]
    assert any(r.name == "torch" for r in family), f"{pyproject} does not declare torch"
    for requirement in family:
        assert requirement.specifier.contains(Version(pins[requirement.name])), (pyproject, str(requirement))
        for version in incompatible[requirement.name]:
            assert not requirement.specifier.contains(Version(version)), (pyproject, str(requirement), version)

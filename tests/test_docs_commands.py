"""Every command and Python block in README.md and docs/*.md runs, as written.

Blocks are found by ``tests/support/docs_blocks.py`` (its docstring has the conventions; the
docs' side is in docs/architecture.md, "Tested docs"). Each markdown file's blocks run in
document order in one fresh folder, so a later block can use an earlier block's run. There,
``data/`` links to the development datasets (``DATA_ROOT``) when they are present; a block
or command that reads a ``data/<name>`` they do not hold (or any, without them) is left out. Every selfsup process gets
``trainer.max_steps=2`` on top of its config (``docs_shim/sitecustomize.py``), so the
commands are the documented ones with a tiny budget; runs of the ``selfsup`` command are
resolved as written, then evaluated by no evaluator (``selfsup evaluate`` and the Python API
keep theirs).

The suite's budget (docs/testing.md): a command that is exactly an objective's default
command, ``selfsup pretrain modality=<m> [objective=<o>] [trainer.max_steps=N]`` with no other
key (a ``run_dir=`` only when nothing later in the page reads it), is run in full, with its
default evaluation, by ``tests/test_default_commands.py``; here it is only resolved as written
(``SELFSUP_DOCS_RESOLVE_ONLY``: unknown keys, names and settings still fail) and not trained.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from docs_blocks import Block, Command, extract_blocks

ROOT = Path(__file__).resolve().parents[1]
#: As ``DATA_ROOT`` in conftest.py (the development datasets; absent on a user's machine).
DATA_ROOT = Path(os.environ.get("SELFSUP_DATA", ROOT.parent / "shared" / "data"))
SHIM = Path(__file__).parent / "support" / "docs_shim"
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MAX_STEPS = 2
TIMEOUT_S = 600
READS_DATA = re.compile(r"(?<![\w./-])data/([\w.-]+)")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join([str(SHIM), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["SELFSUP_DOCS_MAX_STEPS"] = str(MAX_STEPS)
    env["MPLBACKEND"] = "Agg"
    env.pop("COLUMNS", None)
    return env


def _run(argv: list[str], cwd: Path, *, resolve_only: bool = False) -> subprocess.CompletedProcess[str]:
    env = _env()
    if resolve_only:
        env["SELFSUP_DOCS_RESOLVE_ONLY"] = "1"
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


#: The keys a docs command may set and still be an objective's default command (the shim caps max_steps).
DEFAULT_COMMAND_KEYS = {"modality", "objective", "trainer.max_steps", "run_dir"}


def default_command(text: str, later: str) -> tuple[str, str] | None:
    """``(modality, objective)`` when ``text`` is the default command that tests/test_default_commands.py
    runs for that objective (see the module docstring); ``later`` is the page's text after it."""
    words = text.split(" #", 1)[0].split()
    if words[:2] != ["selfsup", "pretrain"] or not all("=" in word for word in words[2:]):
        return None
    overrides = dict(word.split("=", 1) for word in words[2:])
    if not set(overrides) <= DEFAULT_COMMAND_KEYS or "modality" not in overrides:
        return None
    if "run_dir" in overrides and overrides["run_dir"].rstrip("/") in later:
        return None  # a later command or block reads this run
    from selfsup.errors import SelfsupError
    from selfsup.registry import get_registry

    registry = get_registry()
    try:
        modality = registry.get("modality", overrides["modality"])
        objective = registry.get("objective", overrides.get("objective") or modality.default_objective)
    except SelfsupError:
        return None  # not installed: run it, and let it fail as written
    # tests/test_default_commands.py runs every objective under the first of its modalities
    if sorted(getattr(objective, "modalities", ()) or ())[:1] != [modality.name]:
        return None
    return modality.name, objective.name


def _check_command(block: Block, command: Command, cwd: Path, later: str = "") -> None:
    covered = not command.expected_errors and default_command(command.text, later) is not None
    done = _run(["bash", "-c", command.text], cwd, resolve_only=covered)
    where = f"{block.path.name}:{command.line}: {command.text}"
    output = f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    if command.expected_errors:
        assert done.returncode == 2, f"{where}\nthe docs show it failing, but it exited {done.returncode}\n{output}"
        for line in command.expected_errors:
            assert line in done.stderr, f"{where}\nthe docs show\n    {line}\nbut it printed\n{output}"
        assert "Traceback" not in done.stderr, f"{where}\n{output}"
    else:
        assert done.returncode == 0, f"{where}\nexited {done.returncode}\n{output}"
        assert not covered or "docs-test: resolved as written" in done.stderr, f"{where}\n{output}"


def _check_python(block: Block, cwd: Path) -> None:
    script = cwd / f"_docs_{block.path.stem}_{block.line}.py"
    script.write_text(block.text + "\n")
    done = _run([sys.executable, script.name], cwd)
    assert done.returncode == 0, (
        f"{block.where}: the python block failed\n{block.text}\n--- stderr\n{done.stderr[-4000:]}"
    )


def _needs_missing_data(text: str, cwd: Path) -> bool:
    """Whether ``text`` reads a ``data/<name>`` that the development data does not hold."""
    return any(not (cwd / "data" / name).exists() for name in READS_DATA.findall(text))


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: p.name)
def test_documented_commands_run(doc: Path, tmp_path: Path) -> None:
    if DATA_ROOT.is_dir():
        (tmp_path / "data").symlink_to(DATA_ROOT, target_is_directory=True)
    ran = 0
    text = doc.read_text()
    lines = text.splitlines(keepends=True)
    for block in extract_blocks(doc):
        if block.skip:
            continue
        if block.kind == "python":
            if not _needs_missing_data(block.text, tmp_path):
                _check_python(block, tmp_path)
                ran += 1
            continue
        for command in block.commands:
            if command.skip or _needs_missing_data(command.text, tmp_path):
                continue
            _check_command(block, command, tmp_path, later="".join(lines[command.line :]))
            ran += 1
    print(f"{doc.name}: {ran} block(s)/command(s) ran")


# ----------------------------------------------------------------------------- the extractor


SAMPLE = """\
Intro.

```bash
pip install -e plugins/x      # installation
selfsup pretrain modality=tabular \\
    trainer.max_steps=3        # continued
selfsup info NAME [--kind KIND]
```

```
runs/x/
  config.yaml
```

```
$ SELFSUP_LOAD_PLUGINS=tabular selfsup pretrain modality=tabular trainer.max_step=1
selfsup: error: Unknown config key 'trainer.max_step'.
$ selfsup evaluate run_dir=runs/...
table
```

<!-- docs-test: skip needs a GPU -->

```python
pretrain(modality="vision", trainer={"device": "cuda"})
```

```python
print("runs")
```

```json
{"not": "run"}
```
"""


def test_the_extractor_finds_commands_synopses_outputs_and_marks(tmp_path: Path) -> None:
    doc = tmp_path / "sample.md"
    doc.write_text(SAMPLE)
    blocks = extract_blocks(doc)
    assert [(b.line, b.kind, b.skip) for b in blocks] == [(3, "shell", ""), (15, "shell", ""), (24, "python", "needs a GPU"), (28, "python", "")]
    install, pretrain, synopsis = blocks[0].commands
    assert (install.skip, pretrain.skip, synopsis.skip) == ("installation", "", "synopsis")
    assert pretrain.text.startswith("selfsup pretrain modality=tabular trainer.max_steps=3") and pretrain.line == 5
    failing, evaluate = blocks[1].commands
    assert failing.skip == "" and failing.expected_errors == ["selfsup: error: Unknown config key 'trainer.max_step'."]
    assert evaluate.skip == "synopsis" and evaluate.expected_errors == []


def test_the_budget_shim_caps_max_steps_in_a_child_process(tmp_path: Path) -> None:
    code = (
        "import sys\nsys.argv[0] = 'selfsup'  # as the command\n"
        "import selfsup.run as r\n"
        "from selfsup.registry import get_registry\n"
        "for user in ({'modality': 'tabular', 'trainer': {'max_steps': 500, 'eval_every': 5}},\n"
        "             {'modality': 'tabular', 'evaluators': ['knn'], 'trainer': {'eval_every': 5}}):\n"
        "    c = r.resolve(user, get_registry()).config\n"
        "    print(c.trainer.max_steps, list(c.evaluators), c.trainer.eval_every)\n"
    )
    pytest.importorskip("selfsup_tabular")
    done = _run([sys.executable, "-c", code], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{MAX_STEPS} [] 0", f"{MAX_STEPS} [] 0"]
    bad = "import selfsup.run as r\nfrom selfsup.registry import get_registry\nr.resolve({'modality': 'tabular', 'evaluators': ['knnn']}, get_registry())\n"
    done = _run([sys.executable, "-c", bad], tmp_path)
    assert done.returncode == 1 and "Did you mean 'knn'" in done.stderr  # documented names are still checked


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: p.name)
def test_every_doc_block_is_either_run_or_says_why_not(doc: Path) -> None:
    """A python block in the docs that is a fragment must carry a skip mark with a reason."""
    for block in extract_blocks(doc):
        assert block.skip != "illustrative" or block.kind == "shell", f"{block.where}: give the skip mark a reason"


def test_only_an_objectives_default_command_is_left_to_the_default_command_test() -> None:
    pytest.importorskip("selfsup_tabular")
    assert default_command("selfsup pretrain modality=tabular    # T-JEPA", "") == ("tabular", "t-jepa")
    assert default_command("selfsup pretrain modality=tabular objective=clan trainer.max_steps=300", "") == ("tabular", "clan")
    assert default_command("selfsup pretrain modality=tabular run_dir=runs/a", "selfsup evaluate run_dir=runs/b") == ("tabular", "t-jepa")
    assert default_command("selfsup pretrain modality=tabular run_dir=runs/a", "selfsup evaluate run_dir=runs/a") is None  # read later
    assert default_command("selfsup pretrain modality=tabular dataset=adult data.root=data/adult", "") is None  # another key
    assert default_command("selfsup pretrain modality=tabular trainer.lr=1e-3", "") is None
    assert default_command("selfsup evaluate run_dir=runs/a", "") is None
    assert default_command("selfsup pretrain --config runs/a/config.yaml", "") is None
    assert default_command("selfsup pretrain modality=tabular objective=no-such-objective", "") is None  # runs, and fails as written


def test_a_resolve_only_command_still_checks_its_keys_and_builds_nothing(tmp_path: Path) -> None:
    pytest.importorskip("selfsup_tabular")
    done = _run(["selfsup", "pretrain", "modality=tabular", "objective=t-jepaa"], tmp_path, resolve_only=True)
    assert done.returncode == 2 and "t-jepa" in done.stderr  # the name is still resolved
    done = _run(["selfsup", "pretrain", "modality=tabular", "trainer.max_step=3"], tmp_path, resolve_only=True)
    assert done.returncode == 2 and "max_step" in done.stderr
    done = _run(["selfsup", "pretrain", "modality=tabular"], tmp_path, resolve_only=True)
    assert done.returncode == 0 and "docs-test: resolved as written" in done.stderr, done.stderr
    assert not (tmp_path / "runs").exists()  # nothing trained or saved

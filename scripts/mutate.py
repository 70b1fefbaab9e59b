"""Mutation testing for selfsup's methods: apply one small wrong-method bug at a time, run the
tests relevant to it, and report the mutants that no test catches (survivors).

    .venv/bin/python scripts/mutate.py                     # every mutation in scripts/mutations.py
    .venv/bin/python scripts/mutate.py probe- ssast-       # only the ids starting with these prefixes
    .venv/bin/python scripts/mutate.py --report benchmarks/results/mutation-report.md

Nothing in the working tree is modified: the tracked and untracked (not ignored) files are
copied to a temporary folder, and each mutation replaces one exact snippet of one source file
there (it must occur exactly once), restored before the next one. The tests run in that copy as
``python -m pytest -q -x -m "not slow" <tests>`` (one thread; run the harness itself under
``nice``; ``SELFSUP_MUTATE_MARKERS=""`` runs the slow quality tests too) with ``PYTHONPATH``
pointing at the copy's packages, which take precedence over the editable installs.
Not run in CI: it takes minutes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutations import MUTATIONS, Mutation  # noqa: E402

__all__ = ["main", "run_mutation"]

REPO = Path(__file__).resolve().parents[1]
#: The import roots of the core and every plugin (what the editable installs point at).
PACKAGE_ROOTS = ("core", "plugins/tabular", "plugins/graph", "plugins/audio", "plugins/vision",
                 "plugins/pointcloud", "plugins/timeseries", "examples/selfsup-example-plugin")


def copy_tree(destination: Path) -> Path:
    """Copy the repository's tracked and untracked (not ignored) files to ``destination``."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def run_mutation(mutation: Mutation, tree: Path, *, timeout: float) -> tuple[str, float, str]:
    """Apply in ``tree`` (a copy), test, restore. Returns ``(outcome, seconds, detail)``;
    outcome is killed/survived/timeout/invalid."""
    path = tree / mutation.file
    text = path.read_text()
    count = text.count(mutation.original)
    if count != 1:
        return "invalid", 0.0, f"the original snippet occurs {count} times in {mutation.file}"
    backup = path.with_name(path.name + ".mutate-orig")
    shutil.copy2(path, backup)
    started = time.monotonic()
    try:
        path.write_text(text.replace(mutation.original, mutation.mutated))
        env = {**os.environ, "OMP_NUM_THREADS": "1",
               "PYTHONPATH": os.pathsep.join(str(tree / root) for root in PACKAGE_ROOTS)}
        markers = os.environ.get("SELFSUP_MUTATE_MARKERS", "not slow")  # "" also runs the slow tests
        command = [sys.executable, "-m", "pytest", "-q", "-x", "-m", markers,
                   "-p", "no:randomly", *mutation.tests]
        try:
            done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "timeout", time.monotonic() - started, f"tests ran past {timeout:.0f} s"
        seconds = time.monotonic() - started
        failed = [line.split(" ")[1] for line in done.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))]
        if done.returncode == 0:
            return "survived", seconds, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        return "killed", seconds, failed[0] if failed else f"pytest exit {done.returncode}"
    finally:
        shutil.copy2(backup, path)
        backup.unlink()


def _check_imports_from(tree: Path) -> None:
    """Refuse to run when the copy's packages would not shadow the editable installs."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(tree / root) for root in PACKAGE_ROOTS)}
    code = ("import selfsup, selfsup_tabular, selfsup_graph, selfsup_audio, selfsup_vision, "
            "selfsup_pointcloud, selfsup_example; print(*(m.__file__ for m in (selfsup, selfsup_tabular, "
            "selfsup_graph, selfsup_audio, selfsup_vision, selfsup_pointcloud, selfsup_example)))")
    files = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True,
                           check=True).stdout.split()
    outside = [f for f in files if not Path(f).resolve().is_relative_to(tree.resolve())]
    if outside:
        raise SystemExit(f"mutate.py: these packages import from outside the copy {tree}: {outside}")


def _report(rows: list[tuple[Mutation, str, float, str]], command: str) -> str:
    killed = sum(outcome == "killed" for _, outcome, _, _ in rows)
    lines = [
        "# Mutation report",
        "",
        f"Produced by `{command}` (scripts/mutate.py, mutations in scripts/mutations.py).",
        f"{killed} of {len(rows)} mutants killed.",
        "",
        "| mutant | file | outcome | s | first failing test / last line |",
        "|---|---|---|---|---|",
    ]
    for mutation, outcome, seconds, detail in rows:
        lines.append(f"| `{mutation.id}` | `{mutation.file}` | {outcome} | {seconds:.0f} | {detail.replace('|', '/')} |")
    for label, kinds in (("Survivors (every relevant test passed)", ("survived",)),
                         ("Undecided (timeout / invalid snippet)", ("timeout", "invalid"))):
        ids = [m.id for m, outcome, _, _ in rows if outcome in kinds]
        lines += ["", f"{label}: " + (", ".join(f"`{i}`" for i in ids) if ids else "none")]
    lines.append("")
    return "\n".join(lines)


def _write_report(path: Path, rows: list[tuple[Mutation, str, float, str]], total: int,
                  argv: list[str] | None) -> None:
    command = ("python scripts/mutate.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    text = _report(rows, command)
    if len(rows) < total:
        text += f"\n(in progress or cut short: {len(rows)} of {total} mutants run)\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="*", help="run only mutation ids starting with one of these")
    parser.add_argument("--report", type=Path, help="write a markdown report here (atomically)")
    parser.add_argument("--skip", nargs="*", default=[], help="mutation ids not to run (e.g. already reported)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per mutant's tests")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if (not args.prefixes or m.id.startswith(tuple(args.prefixes)))
              and m.id not in args.skip]
    if not chosen:
        parser.error(f"no mutation id starts with {args.prefixes}; ids: {[m.id for m in MUTATIONS]}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up the copy when killed
    rows = []
    with tempfile.TemporaryDirectory(prefix="selfsup-mutate-") as tmp:
        tree = copy_tree(Path(tmp) / "repo")
        _check_imports_from(tree)
        for mutation in chosen:
            outcome, seconds, detail = run_mutation(mutation, tree, timeout=args.timeout)
            rows.append((mutation, outcome, seconds, detail))
            print(f"{outcome:9s} {seconds:6.1f}s  {mutation.id}  {detail}", flush=True)
            if args.report:  # after every mutant, so a cut-short run still leaves its report
                _write_report(args.report, rows, len(chosen), argv)
    survivors = [m.id for m, outcome, _, _ in rows if outcome == "survived"]
    print(f"{len(rows) - len(survivors)} of {len(rows)} mutants not surviving; survivors: {survivors or 'none'}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())

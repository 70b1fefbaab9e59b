"""Step time of selfsup against the official code, side by side (``benchmarks/vs_official.md``).

Per method, ``--repeats`` rounds; each round runs the selfsup process and the official process
(their order alternates round by round), each timing ``--steps`` steps on one torch thread in CPU
time (``time.process_time``) after dropping the first ``--warmup``. Reported: the median step of
each side over all rounds and the median of the per-round ratios selfsup ÷ official. Before the
timing, ``check`` runs the official code on selfsup's weights, input and masks and the largest
loss and gradient differences are recorded (the equality guard).

    python benchmarks/vs_official/run.py --official /tmp/speed/official --methods ssast,augself-gan

``--official`` is the folder ``fetch_official.sh`` filled (the official checkouts and the venv
``venv/`` with the official code's pinned dependencies). Writes ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

#: method -> (script, official checkout folder name)
METHODS = {
    "ssast": ("ssast.py", "ssast"),
    "augself-gan": ("augself_gan.py", "AugSelf-GAN"),
}


def _run(python: str, args: list[str], tries: int = 2) -> dict[str, Any]:
    for attempt in range(tries):  # a process killed from outside (a shared machine) is run again
        done = subprocess.run([python, *args], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{' '.join(args)}: exit {done.returncode} (try {attempt + 1})", file=sys.stderr, flush=True)
    raise RuntimeError(f"{' '.join(args)} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def measure(method: str, official: Path, repeats: int, steps: int, warmup: int) -> dict[str, Any]:
    script, folder = METHODS[method]
    path = str(HERE / script)
    src = str(official / folder)
    ours, theirs = sys.executable, str(official / "venv" / "bin" / "python")
    with tempfile.TemporaryDirectory() as tmp:
        ref = str(Path(tmp) / "ref.pt")
        _run(ours, [path, "export", "--ref", ref])
        equality = _run(theirs, [path, "check", "--official-src", src, "--ref", ref])
    sides: dict[str, list[float]] = {"selfsup": [], "official": []}
    ratios = []
    for r in range(repeats):
        order = ["selfsup", "official"] if r % 2 == 0 else ["official", "selfsup"]
        medians = {}
        for side in order:
            python = ours if side == "selfsup" else theirs
            times = _run(python, [path, "time", "--impl", side, "--official-src", src,
                                  "--steps", str(steps + warmup)])["cpu_s"][warmup:]
            sides[side].extend(times)
            medians[side] = statistics.median(times)
        ratios.append(medians["selfsup"] / medians["official"])
        print(json.dumps({"method": method, "round": r, **medians, "ratio": ratios[-1]}), file=sys.stderr, flush=True)
    return {
        "method": method,
        "equality": equality,
        "selfsup_step_cpu_s": statistics.median(sides["selfsup"]),
        "official_step_cpu_s": statistics.median(sides["official"]),
        "ratio_median": statistics.median(ratios),
        "ratios": ratios,
        "repeats": repeats,
        "steps": steps,
        "warmup": warmup,
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", type=Path, required=True, help="the folder fetch_official.sh filled")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    rows = []
    for method in args.methods.split(","):
        row = measure(method, args.official, args.repeats, args.steps, args.warmup)
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.out:
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(rows, indent=1) + "\n")
        tmp.replace(args.out)
    return rows


if __name__ == "__main__":
    main()

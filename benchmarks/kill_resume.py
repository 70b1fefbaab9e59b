"""Kill a run at random points with SIGTERM, SIGINT or SIGKILL, recover it, and check that it
ends bit-identical to an uninterrupted run (single process and 2 ranks under torchrun, gloo).

    python benchmarks/kill_resume.py --trials 24 --modes single,ddp2 --out benchmarks/results/kill_resume.json
    python benchmarks/kill_resume.py --table benchmarks/results/kill_resume*.json   # the table of kill_resume.md

Each mode first trains a reference run uninterrupted. Each trial then starts the same run,
draws a step uniformly from 1 .. STEPS - 1, waits until ``log.jsonl`` shows that step (every
step is logged), and at once sends the trial's signal to the run's whole process group (what a terminal's Ctrl-C, a scheduler's preemption or a node loss does; under
torchrun that is the launcher and every worker), so every signal lands while training is
under way (inside or between steps, sometimes while a periodic checkpoint, every 15th step,
is written). It then recovers the folder the way the
user guide says: ``trainer.resume=true`` when it holds a checkpoint, else the same command
again (a folder without a checkpoint is started afresh), until a run exits with 0. A trial
passes when ``encoder.safetensors`` equals the reference byte for byte and ``log.jsonl`` has
each step exactly once. The signals cycle TERM, INT, KILL so each gets a third of the trials.

The run is the example plugin's ``example-series`` SimCLR (random augmentations drawn from each
rank's RNG) made small: see ``ARGS``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STEPS = 150
ARGS = [
    "modality=example-series", "evaluators=[]", "data.train_size=256", "data.length=32", "encoder_config.width=8",
    "encoder_config.depth=2", "encoder_config.embed_dim=16", f"trainer.max_steps={STEPS}", "trainer.batch_size=32",
    "trainer.checkpoint_every=15", "trainer.log_every=1", "trainer.progress=off", "trainer.threads=1",
]
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGKILL)


def _command(mode: str, run_dir: Path, extra: list[str]) -> list[str]:
    launcher = [sys.executable, "-m", "selfsup"]
    if mode == "ddp2":
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "selfsup"]
    return [*launcher, "pretrain", f"run_dir={run_dir}", *ARGS, *extra]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    return env


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=900)


def _has_checkpoint(run_dir: Path) -> bool:
    folder = run_dir / "checkpoints"
    return folder.is_dir() and any(p.name.startswith("step-") and p.name.endswith(".pt") for p in folder.iterdir())


def _steps(run_dir: Path) -> list[int]:
    path = run_dir / "log.jsonl"
    if not path.exists():
        return []
    steps = []
    for line in path.read_text().splitlines():
        try:
            steps.append(json.loads(line)["step"])
        except (json.JSONDecodeError, KeyError):  # a line being written
            pass
    return steps


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (read before ``pid`` dies: Linux's ``/proc/<pid>/task/*/children``)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *_descendants(child)]
    return found


def reference(mode: str, root: Path) -> tuple[bytes, float]:
    run_dir = root / f"reference-{mode}"
    started = time.monotonic()
    process = subprocess.Popen(_command(mode, run_dir, []), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (run_dir / "log.jsonl").exists() and process.poll() is None:
        time.sleep(0.01)
    training_started = time.monotonic()
    while len(_steps(run_dir)) < STEPS and process.poll() is None:
        time.sleep(0.01)
    training = time.monotonic() - training_started
    _, stderr = process.communicate(timeout=900)
    if process.returncode != 0:
        raise SystemExit(f"reference run ({mode}) failed:\n{stderr[-3000:]}")
    print(f"[{mode}] reference: {time.monotonic() - started:.1f} s, training {training:.1f} s", flush=True)
    return (run_dir / "encoder.safetensors").read_bytes(), training


def trial(mode: str, index: int, number: int, root: Path, expected: bytes, rng: random.Random) -> dict[str, Any]:
    run_dir = root / f"{mode}-{index:02d}"
    target = rng.randint(1, STEPS - 1)
    process = subprocess.Popen(
        _command(mode, run_dir, []), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    while len(_steps(run_dir)) < target and process.poll() is None:
        time.sleep(0.005)
    record: dict[str, Any] = {"mode": mode, "trial": index, "signal": signal.Signals(number).name, "target_step": target}
    if process.poll() is not None:
        record["outcome"] = "finished before the signal"
    else:
        record["steps_logged_at_signal"] = len(_steps(run_dir))
        sent = time.monotonic()
        workers = _descendants(process.pid) if number == signal.SIGKILL else []
        os.killpg(process.pid, number)
        if number == signal.SIGKILL:  # torchrun starts each worker in its own session: kill them too
            for child in workers:
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        _, stderr = process.communicate(timeout=900)
        record["exit_code"] = process.returncode
        record["exit_after_s"] = round(time.monotonic() - sent, 2)
        record["traceback"] = "Traceback" in stderr and mode == "single"
        record["printed_resume_command"] = "Continue with:" in stderr
    attempts = []
    while True:
        resume = _has_checkpoint(run_dir)
        done = _run(_command(mode, run_dir, ["trainer.resume=true"] if resume else []))
        attempts.append({"resume": resume, "exit_code": done.returncode})
        if done.returncode == 0 or len(attempts) == 3:
            break
    record["recovery"] = attempts
    steps = _steps(run_dir)
    weights = run_dir / "encoder.safetensors"
    record["log_steps_once"] = steps == list(range(1, STEPS + 1))
    record["identical"] = weights.exists() and weights.read_bytes() == expected
    shutil.rmtree(run_dir, ignore_errors=True)
    return record


def table(paths: list[Path]) -> str:
    """The Markdown table of ``kill_resume.md`` from one or more result files (trials pooled)."""
    trials = [t for path in paths for t in json.loads(path.read_text())["trials"]]
    lines = [
        "| mode | signal | trials | signalled during training | exit codes | resume command printed "
        "| first recovery: resume / restart | bit-identical encoder | log.jsonl each step once | signal → exit (s, max) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode in dict.fromkeys(t["mode"] for t in trials):
        for name in ("SIGTERM", "SIGINT", "SIGKILL"):
            group = [t for t in trials if t["mode"] == mode and t["signal"] == name]
            if not group:
                continue
            signalled = [t for t in group if "exit_code" in t]
            codes: dict[Any, int] = {}
            for t in signalled:
                codes[t["exit_code"]] = codes.get(t["exit_code"], 0) + 1
            resumed = sum(t["recovery"][0]["resume"] for t in group)
            exit_s = "-" if name == "SIGKILL" else f"{max(t['exit_after_s'] for t in signalled):.1f}"
            lines.append(
                f"| {mode} | {name} | {len(group)} | {len(signalled)} | "
                + ", ".join(f"{code}: {n}" for code, n in sorted(codes.items(), key=str))
                + f" | {sum(t['printed_resume_command'] for t in signalled)} | {resumed} / {len(group) - resumed} | "
                f"{sum(t['identical'] for t in group)}/{len(group)} | {sum(t['log_steps_once'] for t in group)}/{len(group)} | {exit_s} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=24, help="trials per mode")
    parser.add_argument("--modes", default="single,ddp2")
    parser.add_argument("--signals", default="SIGTERM,SIGINT,SIGKILL", help="cycled over the trials")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="where the raw trials go (JSON)")
    parser.add_argument("--table", type=Path, nargs="+", metavar="RESULTS", help="print the table of these result files and exit")
    args = parser.parse_args()
    if args.table:
        print(table(args.table))
        return
    if args.out is None:
        parser.error("--out is required unless --table is given")
    rng = random.Random(args.seed)
    signals = [getattr(signal, name) for name in args.signals.split(",")]
    root = Path(tempfile.mkdtemp(prefix="kill-resume-"))
    results: dict[str, Any] = {
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "run_args": ARGS,
        "machine": f"{platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average_at_start": os.getloadavg(),
        "trials": [],
    }
    try:
        for mode in args.modes.split(","):
            expected, _ = reference(mode, root)
            for index in range(args.trials):
                record = trial(mode, index, signals[index % len(signals)], root, expected, rng)
                results["trials"].append(record)
                print(json.dumps(record), flush=True)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(results, indent=1) + "\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    killed = [t for t in results["trials"] if "exit_code" in t]
    results["summary"] = {
        "trials": len(results["trials"]),
        "signalled": len(killed),
        "identical": sum(t["identical"] for t in results["trials"]),
        "log_steps_once": sum(t["log_steps_once"] for t in results["trials"]),
        "by_mode_and_signal": {
            f"{mode}/{sig.name}": f"{sum(t['identical'] for t in killed if t['mode'] == mode and t['signal'] == sig.name)}"
            f"/{sum(1 for t in killed if t['mode'] == mode and t['signal'] == sig.name)}"
            for mode in args.modes.split(",")
            for sig in signals
        },
        "max_exit_after_term_or_int_s": max((t["exit_after_s"] for t in killed if t["signal"] != "SIGKILL"), default=None),
    }
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results["summary"], indent=1))


if __name__ == "__main__":
    main()

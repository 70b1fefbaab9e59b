"""Speed of every registered objective: the engine against a hand-written PyTorch loop.

One command::

    python benchmarks/speed.py [--device cpu|cuda] [--precision fp32|bf16] [--steps N]
        [--warmup W] [--repeats R] [--objectives a,b] [--out FILE]

For every objective in ``selfsup.registry.get_registry()`` (or those named), a fixed
small config (``SMALL_CONFIGS``; modality defaults for objectives without one) is
resolved with ``selfsup.config.resolve`` and built with ``selfsup.run.build_run``.
After one short untimed priming run of each loop, each repeat trains a fresh build for
``W + N`` steps twice, with the same seed:

* **engine**: ``selfsup.engine.trainer.Trainer.fit`` (no run_dir: no log file or
  checkpoint is written; its log flush every ``trainer.log_every`` steps, with its one
  host-device sync, is part of the steps);
* **hand-written**: the loop a user would write from the same objective — for each
  phase and each of its repeats ``zero_grad``, ``training_step`` under autocast,
  ``backward``, the clipping the config asks for, ``optimizer.step``; then each
  phase's ``LambdaLR.step`` and ``objective.on_step_end`` — over the same batches
  (same sampler, DataLoader and collate) and optimisers with the same settings.

Measured per objective: the median step time of the last ``N`` steps (a step ends
when ``on_step_end`` returns; on CUDA after a synchronize), samples/s (rows of the
batch / median step), peak memory (CUDA: ``torch.cuda.max_memory_allocated`` over
the priming engine run; CPU: growth of the peak RSS (``getrusage``) over the RSS just
before the priming engine run, in a fresh subprocess per objective), the data-loading
share (time inside the dataset fetch and collate / step time, engine run), the
engine overhead (``engine median / hand-written median - 1``, per repeat; the table
gives the median over repeats and the JSON every repeat), and the FLOPs of one
training step (``torch.utils.flop_counter.FlopCounterMode``: matmuls, convolutions
and attention; scatter/gather ops are not counted) with the model FLOPs
utilisation against a matmul rate measured on the same device.

Writes a markdown table (stdout and ``<out>.md``) and a JSON file (``<out>``).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # speed_loops.py and speed_configs.py lie beside it
from speed_loops import (  # noqa: E402
    DEFAULT_DATA_DIR,
    BenchSettings,
    LoopTiming,
    count_step_flops,
    matmul_rate,
    run_engine,
    run_handwritten,
)
from speed_configs import CUDA_CONFIGS, SMALL_CONFIGS  # noqa: E402

__all__ = [
    "SMALL_CONFIGS",
    "BenchSettings",
    "LoopTiming",
    "ObjectivePlan",
    "bench_objective",
    "build",
    "count_step_flops",
    "environment",
    "main",
    "markdown_table",
    "matmul_rate",
    "plan_for",
    "run_engine",
    "run_handwritten",
]

DEFAULT_BATCH = 32
CHOICES = ("dataset", "encoder")
CONFIG_KEYS = ("data", "encoder_config", "objective_config", "trainer")


@dataclass
class ObjectivePlan:
    """One objective's resolved choices, or why it is skipped."""

    objective: str
    modality: str
    overrides: dict[str, Any]
    preset: str
    skip: str | None = None


# --------------------------------------------------------------------------- plans and builds


def _registry() -> Any:
    import warnings

    from selfsup.registry import get_registry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_registry()


def _modality_of(spec: Any, registry: Any) -> str | None:
    modalities = sorted(spec.modalities) if spec.modalities else [m.name for m in registry.list("modality")]
    installed = {m.name for m in registry.list("modality")}
    usable = [m for m in modalities if m in installed]
    return usable[0] if usable else None


def plan_for(name: str, settings: BenchSettings, registry: Any | None = None) -> ObjectivePlan:
    """The small config of objective ``name`` (its preset, or its modality's defaults)."""
    registry = registry or _registry()
    spec = registry.get("objective", name)
    modality = _modality_of(spec, registry)
    if modality is None:
        return ObjectivePlan(name, "?", {}, "none", skip="no installed modality supports it")
    preset = copy.deepcopy(SMALL_CONFIGS.get(spec.name, {}))
    source = "small preset" if spec.name in SMALL_CONFIGS else f"modality defaults, batch {DEFAULT_BATCH}"
    if settings.device.startswith("cuda") and spec.name in CUDA_CONFIGS:
        preset = _merged(preset, CUDA_CONFIGS[spec.name])
        source += " + CUDA sizes"
    data_dir = preset.pop("data_dir", None)
    overrides: dict[str, Any] = {"modality": modality, "objective": spec.name, "evaluators": [], "seed": settings.seed}
    overrides.update({key: preset[key] for key in CHOICES if key in preset})
    for key in CONFIG_KEYS:
        overrides[key] = dict(preset.get(key, {}))
    overrides["trainer"].setdefault("batch_size", DEFAULT_BATCH)
    overrides["trainer"].update(
        max_steps=settings.warmup + settings.steps,
        max_epochs=None,
        device=settings.device,
        precision=settings.precision,
        progress="off",
        num_workers=0,
        accumulate_grad_batches=1,
        checkpoint_every=0,
        eval_every=0,
        compile=False,
    )
    if data_dir is not None:
        root = Path(settings.data_dir) / data_dir
        if not root.exists():
            return ObjectivePlan(name, modality, overrides, source,
                                 skip=f"dataset '{preset['dataset']}' needs files: {root} not found (pass --data-dir)")
        overrides["data"]["root"] = str(root)
    return ObjectivePlan(name, modality, overrides, source)


def _merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = _merged(merged.get(key, {}), value) if isinstance(value, Mapping) else value
    return merged


def build(plan: ObjectivePlan) -> tuple[Any, Any, Any]:
    """``(resolved, data, objective)`` for a plan, through the public API (seeded: same weights every call)."""
    from omegaconf import OmegaConf

    from selfsup.config import resolve
    from selfsup.run import build_run

    resolved = resolve(OmegaConf.create(plan.overrides), _registry())
    data, _encoder, _random_init, objective = build_run(resolved)
    return resolved, data, objective


# --------------------------------------------------------------------------- memory


def _rss_mib() -> float:
    with open("/proc/self/statm") as file:
        pages = int(file.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --------------------------------------------------------------------------- one objective


def _is_transformer(module: torch.nn.Module) -> bool:
    return any(isinstance(m, (torch.nn.MultiheadAttention, torch.nn.TransformerEncoderLayer)) for m in module.modules())


def bench_objective(name: str, settings: BenchSettings, rates: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Measure one objective; a failure becomes the row's ``skip`` reason."""
    torch.set_num_threads(settings.threads)
    try:
        plan = plan_for(name, settings)
    except Exception as exc:  # noqa: BLE001 - any registry error is reported in the table
        return {"objective": name, "skip": f"{type(exc).__name__}: {exc}"}
    row: dict[str, Any] = {"objective": name, "modality": plan.modality, "config": plan.preset,
                           "overrides": plan.overrides}
    if plan.skip:
        return row | {"skip": plan.skip}
    try:
        return row | _measure(plan, settings, rates)
    except Exception as exc:  # noqa: BLE001
        message = str(exc).splitlines()[0] if str(exc) else ""
        return row | {"skip": f"failed: {type(exc).__name__}: {message}"[:300], "traceback": traceback.format_exc()}


def _measure(plan: ObjectivePlan, settings: BenchSettings, rates: Mapping[str, float] | None) -> dict[str, Any]:
    device = torch.device(settings.device)
    engine: list[LoopTiming] = []
    hand: list[LoopTiming] = []
    row: dict[str, Any] = {}
    # Priming: a short untimed run of each loop first (the first training in a process pays for
    # lazy initialisation and allocator growth beyond the warm-up steps); the engine's priming
    # run is where the peak memory is read, before anything else has trained in this process.
    prime = copy.deepcopy(plan)
    prime.overrides["trainer"]["max_steps"] = settings.warmup + min(2, settings.steps)
    resolved, data, objective = build(prime)
    row["encoder"] = resolved.encoder.name
    row["dataset"] = resolved.dataset.name
    row["batch_size"] = "full" if data.full_batch else int(resolved.config.trainer.batch_size)
    row["transformer"] = _is_transformer(objective.encoder)
    row["parameters"] = sum(p.numel() for p in objective.parameters() if p.requires_grad)
    row["phases"] = [{"name": p.name, "repeats": p.repeats} for p in objective.phases()]
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    rss_before, max_rss_before = _rss_mib(), _max_rss_mib()
    run_engine(resolved, data, objective, settings)
    if device.type == "cuda":
        peak_mib = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak_mib = max(0.0, _max_rss_mib() - rss_before)
    resolved, data, objective = build(prime)
    run_handwritten(resolved, data, objective, settings)
    for repeat in range(settings.repeats):
        order = ("engine", "hand") if repeat % 2 == 0 else ("hand", "engine")
        for kind in order:
            resolved, data, objective = build(plan)
            if kind == "engine":
                engine.append(run_engine(resolved, data, objective, settings))
            else:
                hand.append(run_handwritten(resolved, data, objective, settings))
            del objective, data
    engine_ms = [t.median() * 1e3 for t in engine]
    hand_ms = [t.median() * 1e3 for t in hand]
    overheads = [e / h - 1.0 for e, h in zip(engine_ms, hand_ms, strict=True)]
    cpu_overheads = [e.cpu_median() / h.cpu_median() - 1.0 for e, h in zip(engine, hand, strict=True)]
    step_s = statistics.median(engine_ms) / 1e3
    rows_per_step = engine[0].rows
    row |= {
        "rows_per_step": rows_per_step,
        "step_ms_median": statistics.median(engine_ms),
        "step_ms_repeats": engine_ms,
        "step_ms_mean": statistics.mean(x * 1e3 for t in engine for x in t.step_s),
        "handwritten_ms_median": statistics.median(hand_ms),
        "handwritten_ms_repeats": hand_ms,
        "handwritten_ms_mean": statistics.mean(x * 1e3 for t in hand for x in t.step_s),
        "samples_per_s": rows_per_step / step_s,
        "data_share": statistics.median(t.data_share() for t in engine),
        "handwritten_data_share": statistics.median(t.data_share() for t in hand),
        "overhead": statistics.median(overheads),
        "overhead_repeats": overheads,
        "cpu_ms_median": statistics.median(t.cpu_median() * 1e3 for t in engine),
        "handwritten_cpu_ms_median": statistics.median(t.cpu_median() * 1e3 for t in hand),
        "overhead_cpu": statistics.median(cpu_overheads),
        "overhead_cpu_repeats": cpu_overheads,
        "overhead_of_means": statistics.mean(
            statistics.mean(e.step_s) / statistics.mean(h.step_s) - 1.0 for e, h in zip(engine, hand, strict=True)
        ),
        "peak_mib": peak_mib,
        "memory_method": "torch.cuda.max_memory_allocated (priming engine run, absolute)" if device.type == "cuda"
        else "peak RSS growth over the RSS before the priming engine run (getrusage ru_maxrss)",
        "rss_before_mib": rss_before,
        "max_rss_before_mib": max_rss_before,
    }
    if settings.flops:
        resolved, data, objective = build(plan)
        try:
            flops = count_step_flops(resolved, data, objective, settings)
        except Exception as exc:  # noqa: BLE001 - recorded, the timings stand
            row["flops_error"] = f"{type(exc).__name__}: {exc}"[:300]
        else:
            row["flops_per_step"] = flops
            row["achieved_tflops"] = flops / step_s / 1e12
            rate = (rates or {}).get(settings.precision)
            if rate:
                row["mfu_wall"] = flops / step_s / rate
            cpu_rate = (rates or {}).get(f"{settings.precision}_cpu_time")
            if cpu_rate and device.type == "cpu":
                row["mfu_cpu_time"] = flops / (row["cpu_ms_median"] / 1e3) / cpu_rate
            # the table's number: on CUDA by wall clock; on a (shared) CPU by CPU time, step and matmul alike
            row["mfu"] = row.get("mfu_cpu_time", row.get("mfu_wall"))
    return row


# --------------------------------------------------------------------------- environment and output


def environment(settings: BenchSettings) -> dict[str, Any]:
    device = torch.device(settings.device)
    info: dict[str, Any] = {
        "device": settings.device,
        "precision": settings.precision,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": settings.threads,
        "steps": settings.steps,
        "warmup": settings.warmup,
        "repeats": settings.repeats,
        "seed": settings.seed,
        "load_average": os.getloadavg(),
        "time_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value, spec)


def markdown_table(report: Mapping[str, Any]) -> str:
    """The report as markdown: environment lines, then one row per objective."""
    env = report["environment"]
    hardware = env.get("gpu") or env["cpu"]
    lines = [
        f"Device: {env['device']} ({hardware}), precision {env['precision']}, torch {env['torch']}, "
        f"Python {env['python']}, {env['torch_threads']} torch thread(s) of {env['cpu_count']} CPUs, "
        f"load average at start {', '.join(f'{x:.1f}' for x in env['load_average'])}; "
        f"{env['steps']} measured steps after {env['warmup']} warm-up, {env['repeats']} repeats; "
        f"{env['time_utc']} UTC.",
        f"Matmul rate ({report.get('matmul_size', '')}): "
        + ", ".join(f"{k} {v / 1e12:.3f} TFLOP/s" for k, v in report.get("matmul_flops", {}).items()),
        "",
        "| objective | modality | encoder | batch | step ms (median, wall) | CPU ms: engine / hand-written "
        "| samples/s | peak MiB | data share % | engine overhead %, wall (median [min, max] of repeats) "
        "| engine overhead %, CPU time (median [min, max]) | GFLOP/step "
        f"| MFU % (vs {env['precision']} matmul{', CPU time' if env['device'] == 'cpu' else ''}) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        if row.get("skip"):
            lines.append(f"| {row['objective']} | {row.get('modality', '?')} | – | – | skipped: {row['skip']} | | | | | | | | |")
            continue
        spread = row["overhead_repeats"]
        overhead = f"{row['overhead'] * 100:+.1f} [{min(spread) * 100:+.1f}, {max(spread) * 100:+.1f}]"
        cpu_spread = row.get("overhead_cpu_repeats") or [math.nan]
        overhead_cpu = (f"{row['overhead_cpu'] * 100:+.1f} [{min(cpu_spread) * 100:+.1f}, {max(cpu_spread) * 100:+.1f}]"
                        if "overhead_cpu" in row else "–")
        flops = row.get("flops_per_step")
        mfu = row.get("mfu")
        encoder = row["encoder"] + (" (attn)" if row.get("transformer") else "")
        lines.append(
            f"| {row['objective']} | {row['modality']} | {encoder} | {row['batch_size']} "
            f"| {row['step_ms_median']:.1f} "
            f"| {_fmt(row.get('cpu_ms_median'), '.1f')} / {_fmt(row.get('handwritten_cpu_ms_median'), '.1f')} "
            f"| {row['samples_per_s']:.{0 if row['samples_per_s'] >= 100 else 1}f} | {_fmt(row['peak_mib'], '.0f')} "
            f"| {row['data_share'] * 100:.1f} | {overhead} | {overhead_cpu} "
            f"| {_fmt(flops / 1e9 if flops is not None else None, '.2f')} | {_fmt(mfu * 100 if mfu is not None else None, '.1f')} |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- command line


def _objectives(requested: str | None) -> list[str]:
    registry = _registry()
    names = [spec.name for spec in registry.list("objective")]
    if not requested:
        return names
    return [name.strip() for name in requested.split(",") if name.strip()]


def _run_worker(name: str, settings: BenchSettings, rates: Mapping[str, float], timeout: float) -> dict[str, Any]:
    """Measure one objective in a fresh interpreter (own peak RSS, own failures)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "row.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--worker-out", str(out),
                   "--settings", json.dumps(dataclasses.asdict(settings)), "--rates", json.dumps(dict(rates))]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"objective": name, "skip": f"timed out after {timeout:.0f} s"}
        if not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return {"objective": name, "skip": f"worker exited with {done.returncode}: {tail[0][:200]}"}
        return json.loads(out.read_text())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--steps", type=int, default=20, help="measured steps per run (after warm-up)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up steps per run (at least 1)")
    parser.add_argument("--repeats", type=int, default=3, help="engine/hand-written pairs per objective")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--objectives", default=None, help="comma-separated names (default: every registered one)")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR), help="folder holding the datasets that need files")
    parser.add_argument("--out", default=None, help="JSON output path; the markdown goes beside it as .md")
    parser.add_argument("--in-process", action="store_true", help="no subprocess per objective (CPU peak RSS then less exact)")
    parser.add_argument("--no-flops", action="store_true", help="skip the FLOP count and the matmul rate")
    parser.add_argument("--matmul-seconds", type=float, default=1.0, help="time spent measuring each matmul rate")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per objective (subprocess mode)")
    parser.add_argument("--render", metavar="JSON", help="print (and write beside it as .md) the table of an earlier run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    parser.add_argument("--rates", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = _parser().parse_args(argv)
    if args.worker:
        settings = BenchSettings(**json.loads(args.settings))
        row = bench_objective(args.worker, settings, json.loads(args.rates))
        Path(args.worker_out).write_text(json.dumps(row, default=str))
        return row
    if args.render:
        report = json.loads(Path(args.render).read_text())
        table = markdown_table(report)
        Path(args.render).with_suffix(".md").write_text(table)
        print(table)
        return report
    if args.warmup < 1 or args.steps < 1 or args.repeats < 1:
        raise SystemExit("--steps, --warmup and --repeats must be at least 1.")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda but CUDA is not available here. Use --device cpu.")
    settings = BenchSettings(device=args.device, precision=args.precision, steps=args.steps, warmup=args.warmup,
                             repeats=args.repeats, threads=args.threads, data_dir=args.data_dir, flops=not args.no_flops)
    torch.set_num_threads(settings.threads)
    device = torch.device(settings.device)
    rates: dict[str, float] = {}
    if settings.flops:
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            rates[name], rates[f"{name}_cpu_time"] = matmul_rate(device, dtype, seconds=args.matmul_seconds)
    report: dict[str, Any] = {
        "command": "python benchmarks/speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "environment": environment(settings),
        "matmul_flops": rates,
        "matmul_size": "8192² on CUDA" if device.type == "cuda" else "1024² on CPU",
        "rows": [],
    }
    for name in _objectives(args.objectives):
        print(f"[speed] {name} ...", file=sys.stderr, flush=True)
        if args.in_process:
            row = bench_objective(name, settings, rates)
        else:
            row = _run_worker(name, settings, rates, args.timeout)
        report["rows"].append(row)
        print(f"[speed] {name}: " + (f"skipped ({row['skip']})" if row.get("skip") else
                                     f"{row['step_ms_median']:.1f} ms/step, overhead {row['overhead'] * 100:+.1f}%"),
              file=sys.stderr, flush=True)
    table = markdown_table(report)
    print(table)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, default=str) + "\n")
        out.with_suffix(".md").write_text(table)
    return report


if __name__ == "__main__":
    main()

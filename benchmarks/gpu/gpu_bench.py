"""One prepared GPU run: what the CPU machines cannot measure, in one command and under 8 minutes.

    bash benchmarks/gpu/run.sh [--dry-run] [--out DIR]

Stages, each recorded as ``ok``, ``skipped`` (with the reason) or ``failed`` (with the error),
none stopping the others:

1. ``environment``: torch, CUDA, the device, bf16 support, and whether the optional CUDA
   libraries (mamba-ssm, gsplat) import.
2. ``cuda_tests``: ``pytest -m cuda`` (``tests/test_cuda.py``: fused optimisers, bf16 and fp16
   with scalers, channels_last, compile, no host sync in a step, the selective scan's CUDA paths,
   gsplat): passed / failed / skipped counts and the skip reasons.
3. ``matmul``: the measured dense bf16 matmul rate (the denominator of every MFU here).
4. ``scan_efficiency``: SSAMBA-tiny vs SSAST-tiny forward latency and peak memory from 512 to
   22,528 patch tokens with the authors' protocol (SiavashShams/ssamba
   ``src/inference/inference_amba.py``: fine-tuning model, fp32, batch 4, ``no_grad``, 5 timed runs,
   no warm-up; memory ``torch.cuda.max_memory_allocated``); a model stops growing at its first
   out-of-memory point.
5. ``ssast_base_step``: an SSAST-base pretraining step (512 patches, batch 24, bf16 autocast,
   AdamW) — median step time, FLOPs per step (``FlopCounterMode``) and MFU against stage 3.
6. ``engine``: ``benchmarks/speed.py`` on CUDA in bf16 for SSAST, SSAMBA, T-JEPA and AugSelf-GAN:
   the engine's overhead against a hand-written loop and the data-loading share of a step.

``--dry-run`` runs every stage on the CPU at toy sizes (CI runs it, so the script cannot rot).
Writes ``gpu_run.json`` and ``gpu_run.md`` in ``--out``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402

STAGES: list[tuple[str, Callable[[argparse.Namespace, dict[str, Any]], dict[str, Any]]]] = []


class Skip(Exception):
    """A stage that cannot run here, with the reason."""


def stage(function: Callable[[argparse.Namespace, dict[str, Any]], dict[str, Any]]) -> Callable[..., Any]:
    STAGES.append((function.__name__, function))
    return function


def _device(args: argparse.Namespace) -> torch.device:
    return torch.device("cpu") if args.dry_run else torch.device("cuda")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@stage
def environment(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    cuda = torch.cuda.is_available()
    info: dict[str, Any] = {
        "python": platform.python_version(), "torch": torch.__version__, "cuda_available": cuda,
        "cuda": torch.version.cuda, "dry_run": args.dry_run,
        "optional": {name: importlib.util.find_spec(name) is not None for name in ("mamba_ssm", "gsplat")},
    }
    if cuda:
        info |= {"device": torch.cuda.get_device_name(0), "bf16": torch.cuda.is_bf16_supported(),
                 "memory_gib": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)}
    elif not args.dry_run:
        raise Skip("no CUDA device: run with --dry-run on a CPU")
    return info


@stage
def cuda_tests(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    command = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-rs", "-p", "no:cacheprovider", "tests/test_cuda.py"]
    if args.dry_run:
        command.append("--collect-only")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=args.stage_timeout)
    lines = done.stdout.strip().splitlines()
    summary = lines[-1] if lines else done.stderr.strip()[-300:]
    counts = {key: int(n) for n, key in (part.split()[:2] for part in summary.strip("= ").split(", ")
                                           if part.split()[0].isdigit())} if lines else {}
    skips = [line for line in lines if line.startswith("SKIPPED")]
    if done.returncode not in (0, 5) and not args.dry_run:
        raise RuntimeError(f"pytest -m cuda failed: {summary}\n" + "\n".join(lines[-30:]))
    return {"summary": summary, "counts": counts, "skipped": skips, "returncode": done.returncode}


@stage
def matmul(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    from speed_loops import matmul_rate

    device = _device(args)
    dtype = torch.float32 if args.dry_run else torch.bfloat16
    wall, _ = matmul_rate(device, dtype, seconds=0.2 if args.dry_run else 2.0)
    return {"dtype": str(dtype).removeprefix("torch."), "tflops": wall / 1e12}


def _scan_point(model: str, tokens: int, device: torch.device, runs: int) -> dict[str, Any]:
    from torch import nn

    frames = 2 * tokens
    info = {"num_mel_bins": 128, "target_length": frames}
    size = "cpu" if device.type == "cpu" else "tiny"
    if model == "ssamba":
        from selfsup_audio.configs import AMBAConfig
        from selfsup_audio.encoders.mamba import AMBAEncoder

        encoder: nn.Module = AMBAEncoder(AMBAConfig(size=size, depth=2 if size == "cpu" else None), info)
    else:
        from selfsup_audio.configs import ASTConfig
        from selfsup_audio.encoders.ast import ASTEncoder

        encoder = ASTEncoder(ASTConfig(size=size, depth=2 if size == "cpu" else None), info)
    head = nn.Sequential(nn.LayerNorm(encoder.embed_dim), nn.Linear(encoder.embed_dim, 50))
    encoder, head = encoder.to(device).eval(), head.to(device).eval()
    x = torch.randn(4, frames, 128, device=device)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    times = []
    with torch.no_grad():
        for _ in range(runs):  # no warm-up run, as the authors
            _sync(device)
            start = time.perf_counter()
            torch.sigmoid(head(encoder({"x": x})))
            _sync(device)
            times.append(time.perf_counter() - start)
    memory = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None
    return {"model": model, "tokens": tokens, "seconds_mean": statistics.mean(times), "memory_gib": memory}


@stage
def scan_efficiency(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    device = _device(args)
    tokens = [64, 128] if args.dry_run else [512, 1024, 2048, 4096, 8192, 16384, 22528]
    runs = 1 if args.dry_run else 5
    rows: list[dict[str, Any]] = []
    for model in ("ssamba", "ssast"):
        for count in tokens:
            try:
                rows.append(_scan_point(model, count, device, runs))
            except torch.OutOfMemoryError:
                rows.append({"model": model, "tokens": count, "failed": "out of memory"})
                break
    return {"rows": rows, "scan": _scan_choice(device)}


def _scan_choice(device: torch.device) -> str:
    from selfsup_audio.encoders.selective_scan import choose_implementation

    return choose_implementation("auto", device)


def _ssast_base(device: torch.device, dry_run: bool) -> tuple[Any, dict[str, torch.Tensor]]:
    from selfsup_audio.configs import ASTConfig, SSASTConfig
    from selfsup_audio.encoders.ast import ASTEncoder
    from selfsup_audio.objectives.ssast import SSAST

    frames, batch = (128, 2) if dry_run else (1024, 24)
    info = {"num_mel_bins": 128, "target_length": frames}
    torch.manual_seed(0)
    encoder = ASTEncoder(ASTConfig(size="cpu", depth=2) if dry_run else ASTConfig(size="base"), info)
    objective = SSAST(SSASTConfig(), encoder, info).to(device)
    return objective, {"x": torch.randn(batch, frames, 128, device=device)}


@stage
def ssast_base_step(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    from torch.utils.flop_counter import FlopCounterMode

    device = _device(args)
    objective, batch = _ssast_base(device, args.dry_run)
    optimizer = torch.optim.AdamW(objective.parameters(), lr=1e-4, fused=device.type == "cuda")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32

    def step(index: int) -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=device.type == "cuda"):
            loss = objective.training_step(batch, step=index, phase="main")["loss"]
        loss.backward()
        optimizer.step()

    warmup, measured = (1, 1) if args.dry_run else (3, 10)
    for index in range(warmup):
        step(index + 1)
    times = []
    for index in range(measured):
        _sync(device)
        start = time.perf_counter()
        step(warmup + index + 1)
        _sync(device)
        times.append(time.perf_counter() - start)
    counter = FlopCounterMode(display=False)
    with counter:
        step(0)
    flops = int(counter.get_total_flops())
    seconds = statistics.median(times)
    rate = results.get("matmul", {}).get("result", {}).get("tflops")
    return {
        "batch": int(batch["x"].shape[0]), "frames": int(batch["x"].shape[1]), "dtype": str(dtype).removeprefix("torch."),
        "step_seconds_median": seconds, "flops_per_step": flops, "achieved_tflops": flops / seconds / 1e12,
        "mfu": flops / seconds / (rate * 1e12) if rate else None,
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None,
    }


@stage
def engine(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    out = Path(args.out) / "speed.json"
    if args.dry_run:
        extra = ["--device", "cpu", "--objectives", "t-jepa", "--steps", "1", "--warmup", "1", "--repeats", "1",
                 "--no-flops", "--in-process"]
    else:
        extra = ["--device", "cuda", "--precision", "bf16", "--objectives", "ssast,ssamba,t-jepa,augself-gan",
                 "--steps", "20", "--warmup", "3", "--repeats", "2"]
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "speed.py"), *extra, "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=args.stage_timeout)
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks/speed.py exited {done.returncode}: {done.stderr.strip()[-600:]}")
    table = out.with_suffix(".md").read_text() if out.with_suffix(".md").exists() else done.stdout
    return {"json": out.name, "table": table}


def _markdown(results: dict[str, Any]) -> str:
    env = results.get("environment", {}).get("result", {})
    lines = [f"# GPU run ({'dry run on the CPU' if env.get('dry_run') else env.get('device', '?')})", "",
             f"torch {env.get('torch')}, CUDA {env.get('cuda')}; optional libraries: {env.get('optional')}", "",
             "| stage | status | seconds | result |", "|---|---|---|---|"]
    for name, record in results.items():
        summary = record.get("reason") or record.get("error", "").splitlines()[0:1] or ""
        result = record.get("result", {})
        if name == "cuda_tests" and result:
            summary = result.get("summary", "")
        elif name == "matmul" and result:
            summary = f"{result['tflops']:.3g} TFLOP/s ({result['dtype']})"
        elif name == "ssast_base_step" and result:
            mfu = f", MFU {100 * result['mfu']:.1f} %" if result.get("mfu") else ""
            summary = f"{1000 * result['step_seconds_median']:.1f} ms/step, {result['achieved_tflops']:.3g} TFLOP/s{mfu}"
        elif name == "scan_efficiency" and result:
            summary = f"{len(result['rows'])} points, scan={result['scan']}"
        lines.append(f"| {name} | {record['status']} | {record['seconds']:.1f} | {summary if isinstance(summary, str) else summary[0]} |")
    scan = results.get("scan_efficiency", {}).get("result")
    if scan:
        lines += ["", "| model | tokens | latency (s) | peak memory (GiB) |", "|---|---|---|---|"]
        for row in scan["rows"]:
            memory = "" if row.get("memory_gib") is None else f"{row['memory_gib']:.2f}"
            latency = row.get("failed") or f"{row['seconds_mean']:.4f}"
            lines.append(f"| {row['model']} | {row['tokens']} | {latency} | {memory} |")
    engine_table = results.get("engine", {}).get("result", {}).get("table")
    if engine_table:
        lines += ["", "## Engine vs hand-written loop (benchmarks/speed.py)", "", engine_table.strip()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="every stage on the CPU at toy sizes")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "gpu" / "results"))
    parser.add_argument("--stage-timeout", type=float, default=240.0, help="seconds for a subprocess stage")
    parser.add_argument("--only", default=None, help="comma-separated stage names")
    args = parser.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    chosen = set(args.only.split(",")) if args.only else None
    results: dict[str, Any] = {}
    for name, function in STAGES:
        if chosen is not None and name not in chosen:
            continue
        start = time.perf_counter()
        try:
            record: dict[str, Any] = {"status": "ok", "result": function(args, results)}
        except Skip as skip:
            record = {"status": "skipped", "reason": str(skip)}
        except Exception as exc:  # noqa: BLE001 - one failing stage never takes the others' results
            record = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        record["seconds"] = time.perf_counter() - start
        results[name] = record
        print(f"[gpu] {name}: {record['status']} in {record['seconds']:.1f} s", flush=True)
        if name == "environment" and record["status"] == "skipped":
            break
    out = Path(args.out)
    (out / "gpu_run.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out / "gpu_run.md").write_text(_markdown(results))
    print((out / "gpu_run.md").read_text())
    return 0 if all(r["status"] != "failed" for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

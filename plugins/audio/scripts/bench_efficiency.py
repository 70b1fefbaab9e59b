"""SSAMBA's efficiency measurement, on this machine: forward latency and peak memory of the
fine-tuning models of SSAMBA-tiny and SSAST-tiny as the number of patch tokens grows.

Protocol of SiavashShams/ssamba ``src/inference/inference_amba.py`` / ``inference_ssast.py``
(see ../shared/research/methods-audio.md §2.5): the fine-tuning model (16×16 patches, stride 16,
mean-pooled patch tokens → LayerNorm → Linear(50), sigmoid), fp32, random input of shape
(batch 4, 2·N frames, 128 mel bins) for N tokens, ``no_grad``, 5 timed runs without a warm-up
run, the model rebuilt for every size. Weights are random (the released checkpoints are not
needed for timing). Every (model, N) point runs in a fresh subprocess so that its peak resident
memory (``getrusage`` max RSS) is its own; the reported memory is that peak minus the RSS of the
same process right after ``import torch`` (i.e. weights + activations + allocator slack, the CPU
analogue of the authors' ``max_memory_allocated``, which includes the weights).

SSAST-tiny runs twice: with PyTorch's ``scaled_dot_product_attention`` default (on CPU a fused,
memory-efficient kernel: O(N) memory), and forced to the ``MATH`` backend, which materialises the
B·H·N² attention matrix as timm 0.4.5's attention (the authors' SSAST) does.

A model stops growing after a point whose mean forward exceeds ``--max-seconds`` or that fails
(memory limit: each worker's address space is capped so that no point can exhaust the shared
machine's memory). Besides wall-clock latency, each forward's process CPU time is recorded: with
one intra-op thread it is what the latency would be on an idle core, and unlike the wall clock it
is not inflated when other jobs share the machine's cores (cache and memory-bandwidth contention
still inflate it somewhat). ``ssamba-tiny`` uses ``scan="auto"`` (on the CPU the fused C kernel
when it builds), ``ssamba-tiny-chunked`` the chunked PyTorch scan; each row records its ``scan``.
Usage (from the repository root)::

    nice -n 5 .venv/bin/python plugins/audio/scripts/bench_efficiency.py \\
        --out benchmarks/results/audio_efficiency.jsonl
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

MODELS = ("ssamba-tiny", "ssamba-tiny-chunked", "ssast-tiny", "ssast-tiny-math")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()


def worker(model: str, tokens: int, batch: int, runs: int, threads: int) -> dict:
    """One point, in this (fresh) process."""
    import torch
    from torch import nn

    base_rss = _rss_bytes()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    frames = 2 * tokens  # 128/16 frequency patches × frames/16 time patches
    info = {"num_mel_bins": 128, "target_length": frames}
    scan = None
    if model.startswith("ssamba"):
        from selfsup_audio.configs import AMBAConfig
        from selfsup_audio.encoders.mamba import AMBAEncoder
        from selfsup_audio.encoders.selective_scan import choose_implementation

        scan = choose_implementation("chunked" if model.endswith("-chunked") else "auto", torch.device("cpu"))
        encoder: nn.Module = AMBAEncoder(AMBAConfig(size="tiny", scan=scan), info)
    else:
        from selfsup_audio.configs import ASTConfig
        from selfsup_audio.encoders.ast import ASTEncoder

        encoder = ASTEncoder(ASTConfig(size="tiny"), info)
    head = nn.Sequential(nn.LayerNorm(encoder.embed_dim), nn.Linear(encoder.embed_dim, 50))
    encoder.eval(), head.eval()
    params = sum(p.numel() for p in encoder.parameters()) + sum(p.numel() for p in head.parameters())
    x = torch.randn(batch, frames, 128)
    from contextlib import nullcontext

    if model.endswith("-math"):
        from torch.nn.attention import SDPBackend, sdpa_kernel

        context = sdpa_kernel(SDPBackend.MATH)
    else:
        context = nullcontext()
    times, cpu_times = [], []
    with torch.no_grad(), context:
        for _ in range(runs):
            start, cpu_start = time.perf_counter(), time.process_time()
            torch.sigmoid(head(encoder({"x": x})))  # ft_avgtok + sigmoid, as the released script
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "model": model, "tokens": tokens, "frames": frames, "batch": batch, "runs": runs,
        "threads": threads, "params": params, "dtype": "float32", "scan": scan,
        "seconds_mean": statistics.mean(times), "seconds_std": statistics.stdev(times) if runs > 1 else 0.0,
        "seconds_all": [round(t, 4) for t in times],
        "cpu_seconds_mean": statistics.mean(cpu_times),
        "cpu_seconds_std": statistics.stdev(cpu_times) if runs > 1 else 0.0,
        "peak_rss_gib": peak / 2**30, "memory_gib": (peak - base_rss) / 2**30,
        "torch": torch.__version__,
    }


def run_point(args: argparse.Namespace, model: str, tokens: int) -> dict:
    limit = int(args.memory_limit_gib * 2**30)
    code = (
        "import json, resource, sys; "
        f"resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); "
        f"sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        "import bench_efficiency as b; "
        f"print('RESULT ' + json.dumps(b.worker({model!r}, {tokens}, {args.batch}, {args.runs}, {args.threads})))"
    )
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
    return {"model": model, "tokens": tokens, "failed": tail[:300], "returncode": proc.returncode,
            "wall_s": round(time.perf_counter() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--tokens", type=int, nargs="+", default=[512, 1024, 2048, 4096, 8192, 16384, 22528])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=60.0,
                        help="stop a model after a point whose mean CPU seconds per forward exceed this")
    parser.add_argument("--memory-limit-gib", type=float, default=16.0,
                        help="address-space cap per worker (includes ~5 GiB of mapped torch libraries)")
    parser.add_argument("--out", default="benchmarks/results/audio_efficiency.jsonl")
    args = parser.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for model in args.models:
        for tokens in args.tokens:
            row = run_point(args, model, tokens)
            print(json.dumps(row), flush=True)
            with out.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            if "failed" in row or row["cpu_seconds_mean"] > args.max_seconds:
                break


if __name__ == "__main__":
    main()

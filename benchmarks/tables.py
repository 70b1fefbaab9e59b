"""Recompute the benchmark tables' numbers from the raw per-seed results in ``benchmarks/results/``.

    .venv/bin/python benchmarks/tables.py            # every table below
    .venv/bin/python benchmarks/tables.py scgc       # tables whose key contains "scgc"

Each table is mean ± sample std over seeds for the pretrained and the random-init encoder,
and the **paired** difference (pretrained − random init, same seed) with a 95 % Student-t
confidence interval, so a small gain is read against its uncertainty. Three raw formats are
read: ``benchmarks/quality.py`` lists (``seed``, ``pretrained``, ``random_init``), run folders'
``metrics.json`` (``run``, ``evaluations``) and the vision bench files (``metrics``,
``random_init_metrics``). Tables whose raw results are not in a machine-readable per-seed form
are listed in ``NOT_COVERED`` with the reason.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["TABLES", "ARMS", "DEFAULT_COMMANDS", "NOT_COVERED", "load_runs", "paired_summary", "main"]

RESULTS = Path(__file__).resolve().parent / "results"

#: key -> (benchmark file and section, raw result files relative to results/, metrics shown)
TABLES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "scgc-star-citeseer-final": (
        "graph.md § SCGC* on CiteSeer", tuple(f"graph-scgc-star-citeseer-assign-s{s}.json" for s in range(3)),
        ("clustering/acc", "clustering/nmi", "clustering/ari", "clustering/macro_f1")),
    "scgc-star-citeseer-best-epoch": (
        "graph.md § Best epoch", ("graph-scgc-star-citeseer-best-epoch.json",),
        ("clustering/acc", "clustering/nmi")),
    "scgc-star-cora-best-epoch": (
        "graph.md § SCGC* / SCGC on Cora", ("graph-scgc-star-cora-best-epoch.json",),
        ("clustering/acc", "clustering/nmi")),
    "tjepa-adult-default": (
        "tabular.md § Quality (3 seeds)",
        ("tabular-tjepa-adult-default-idle-edd474b-s0.metrics.json", "tabular-tjepa-adult-default-edd474b-s1.metrics.json",
         "tabular-tjepa-adult-default-edd474b-s2.metrics.json"),
        ("linear-probe/accuracy", "mlp-probe/accuracy")),
    "ssast-fsdd-speaker": (
        "audio.md § SSAST on FSDD, held-out speaker: three seeds",
        tuple(f"audio-ssast-fsdd-speaker-s{s}.metrics.json" for s in range(3)),
        ("linear-probe/accuracy", "knn/accuracy")),
    "ssamba-fsdd-speaker-lr1e-4": (
        "audio.md § SSAMBA on FSDD, held-out speaker",
        tuple(f"audio-ssamba-fsdd-speaker-lr1e-4-s{s}.metrics.json" for s in range(3)),
        ("linear-probe/accuracy", "knn/accuracy")),
    "ssamba-fsdd-speaker-lr5e-4": (
        "audio.md § SSAMBA on FSDD, held-out speaker",
        tuple(f"audio-ssamba-fsdd-speaker-lr5e-4-s{s}.metrics.json" for s in range(3)),
        ("linear-probe/accuracy", "knn/accuracy")),
    "augself-gan-mnist": (
        "vision.md § AugSelf-GAN vs DiffAugment on MNIST", tuple(f"vision/augself-gan-seed{s}.json" for s in range(3)),
        ("fd-local/fd_local", "linear-probe/accuracy")),
    "diffaugment-mnist": (
        "vision.md § AugSelf-GAN vs DiffAugment on MNIST", tuple(f"vision/diffaugment-seed{s}.json" for s in range(3)),
        ("fd-local/fd_local", "linear-probe/accuracy")),
    "fsdd-default-ssast-before": (
        "audio.md § FSDD defaults", tuple(f"audio-fsdd-default-ssast-before-s{s}.metrics.json" for s in range(3)),
        ("linear-probe/accuracy", "knn/accuracy")),
    "fsdd-default-ssast-after": (
        "audio.md § FSDD defaults", tuple(f"audio-fsdd-default-ssast-after-s{s}.metrics.json" for s in range(3)),
        ("linear-probe/accuracy", "knn/accuracy")),
    "fsdd-default-ssamba-before": (
        "audio.md § FSDD defaults", tuple(f"audio-fsdd-default-ssamba-before-s{s}.metrics.json" for s in range(3)),
        ("linear-probe/accuracy", "knn/accuracy")),
    "fsdd-default-ssamba-after": (
        "audio.md § FSDD defaults", tuple(f"audio-fsdd-default-ssamba-after-s{s}.metrics.json" for s in range(3)),
        ("linear-probe/accuracy", "knn/accuracy")),
    "tjepa-adult-paired-context": (
        "tabular.md § T-JEPA on Adult: paired, context and EMA-target encoders",
        tuple(f"tabular-tjepa-adult-paired-s{s}.json" for s in range(5)), ("linear-probe/accuracy",)),
    "tjepa-adult-paired-target": (
        "tabular.md § T-JEPA on Adult: paired, context and EMA-target encoders",
        tuple(f"tabular-tjepa-adult-paired-s{s}.json" for s in range(5)), ("linear-probe/accuracy",)),
    "tjepa-adult-paired-target-vs-context": (
        "tabular.md § T-JEPA on Adult: paired, context and EMA-target encoders",
        tuple(f"tabular-tjepa-adult-paired-s{s}.json" for s in range(5)), ("linear-probe/accuracy",)),
    "clan-synthetic-traffic": (
        "tabular.md § CLAN on generated network traffic", ("cpu-clan-synthetic-traffic.json",), ("centroid-anomaly/auroc",)),
    "dsla-bbbp-gin3x128": (
        "graph.md § D-SLA, BBBP", ("dsla-bbbp-gin3x128.json", "dsla-bbbp-gin3x128-seeds34.json"), ("fine-tune/roc_auc",)),
    "dsla-mutag-split-probe": (
        "graph.md § D-SLA, MUTAG (the runs' own 18-graph split probe)", ("dsla-mutag-pretrain.json",),
        ("linear-probe/accuracy",)),
    "msm-procedural": (
        "pointcloud.md § MSM on procedural rooms", ("pointcloud-msm-procedural.json",),
        ("seg-linear-probe/miou_multires", "seg-linear-probe/miou_last")),
    "gaussian-cross-procedural": (
        "pointcloud.md § GaussianCross on procedural rooms", ("pointcloud-gaussian-cross-procedural.json",),
        ("seg-linear-probe/miou_multires", "seg-linear-probe/miou_last")),
    # the time-series table (frame projections vs SimCLR) is benchmarks/timeseries_tables.py; these are
    # its per-objective pretrained-vs-random-init halves
    **{f"{objective}-{problem.lower()}": (
        f"timeseries.md § Frame projections vs random init vs a SimCLR-style baseline ({problem})",
        (f"timeseries-{objective}-{problem.lower()}.json",), ("linear-probe/accuracy", "knn/accuracy"))
       for objective in ("frame-projections", "series-simclr") for problem in ("ItalyPowerDemand",)}  # JapaneseVowels: 1 seed, shown only by timeseries_tables.py,
}

#: Each modality's default command (benchmarks/default_commands.py): modality -> (objective, metrics shown)
DEFAULT_COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "graph": ("scgc-star", ("clustering/acc", "clustering/nmi")),
    "example-series": ("ts-simclr", ("linear-probe/accuracy", "knn/accuracy")),
    "timeseries": ("frame-projections", ("regression-probe/r2", "regression-probe/rmse", "regression-probe/mae")),
    "pointcloud": ("msm", ("seg-linear-probe/miou_multires", "seg-knn/miou_multires")),
    "vision": ("augself-gan", ("linear-probe/accuracy", "knn/accuracy", "fd-local/fd_local")),
    "audio": ("ssast", ("linear-probe/accuracy", "knn/accuracy", "fine-tune/accuracy")),
    "tabular": ("t-jepa", ("linear-probe/accuracy", "mlp-probe/accuracy")),
}
TABLES.update({
    f"default-{modality}-{objective}": (
        f"benchmarks/README.md § Default commands: selfsup pretrain modality={modality}",
        tuple(f"default-{modality}-{objective}-s{s}.metrics.json" for s in range(3)), metrics)
    for modality, (objective, metrics) in DEFAULT_COMMANDS.items()
})
#: timeseries' default before issue 21's treatment (300 + 100 steps of 128, CWT width 32; seed 0 only)
#: Tables of one seed by design: a "before" reference too costly to repeat (each names why).
SINGLE_SEED = {"default-timeseries-frame-projections-before": "1,028 CPU-s a run; the after table has 3 seeds"}
TABLES["default-timeseries-frame-projections-before"] = (
    "benchmarks/README.md § Default commands: timeseries, before (300 + 100 steps of 128, CWT width 32)",
    ("default-timeseries-frame-projections-before-s0.metrics.json",), DEFAULT_COMMANDS["timeseries"][1])

# audio's default before the contours generator and synthetic-sounds' own budget (2026-12-08): the
# earlier tones, 128 x 128 fbank, 300 steps of 64, no fine-tune evaluator
TABLES["default-audio-ssast-600steps"] = (
    "benchmarks/README.md § Default commands: audio, contours at 600 steps of 32 (an intermediate default)",
    tuple(f"default-audio-ssast-600steps-s{s}.metrics.json" for s in range(3)), DEFAULT_COMMANDS["audio"][1])
TABLES["default-audio-ssast-before"] = (
    "benchmarks/README.md § Default commands: selfsup pretrain modality=audio (before)",
    tuple(f"default-audio-ssast-before-s{s}.metrics.json" for s in range(3)), ("linear-probe/accuracy", "knn/accuracy"))

#: The two arms a table compares when they are not (pretrained, random init).
ARMS: dict[str, tuple[str, str]] = {
    "tjepa-adult-paired-target": ("target", "random_init"),
    "tjepa-adult-paired-target-vs-context": ("target", "pretrained"),
}

#: Tables not recomputed here, and why (an honest list, to be shortened).
NOT_COVERED: dict[str, str] = {
    "tabular.md § Training budget (H200)": "raw per-seed results of the GPU budget sweep were not committed",
    "tabular.md § CLAN on generated network traffic, ft-transformer row": "one seed, never saved as a file",
    "graph.md § MUTAG 10-fold linear probes": "encoder-vs-encoder 10-fold tables (graph-mutag-probe.json, dsla-mutag-probe.json) "
                                               "are printed by plugins/graph/scripts/mutag_probe.py, not paired here",
    "audio.md § SSAST on FSDD (official split, seed 0)": "one seed; its results.jsonl lived in runs/ and was not committed",
    "speed tables (speed.md, *speed*)": "timings, regenerated by speed.py rather than recomputed",
}


def _flatten_metrics_json(payload: dict) -> dict[str, dict[str, float]]:
    """``{"pretrained": {...}, "random_init": {...}, "raw_features": {...}}`` (raw only when recorded)."""
    arms: dict[str, dict[str, float]] = {"pretrained": {}, "random_init": {}}
    for name, record in payload["evaluations"].items():
        for arm in ("pretrained", "random_init", "raw_features"):
            for key, value in (record.get(arm) or {}).items():
                arms.setdefault(arm, {})[f"{name}/{key}"] = value
    return arms


def _run_record(payload: dict) -> dict:
    """One seed's ``{"seed", "pretrained", "random_init"[, "target", "raw_features"]}`` from any raw format."""
    if "evaluations" in payload:  # a run folder's metrics.json
        return {"seed": payload["run"]["seed"], **_flatten_metrics_json(payload)}
    if "kmeans_final" in payload:  # benchmarks/graph_assign.py: the default scoring (k-means on z, final)
        prefixed = lambda arm: {f"clustering/{k}": v for k, v in payload[arm].items()}  # noqa: E731
        return {"seed": payload["seed"], "pretrained": prefixed("kmeans_final"), "random_init": prefixed("random_init_kmeans")}
    if "context" in payload:  # benchmarks/tjepa_paired.py: context (= pretrained), EMA target, random init
        prefixed = lambda arm: {f"linear-probe/{k}": v for k, v in payload[arm].items()}  # noqa: E731
        return {"seed": payload["seed"], "pretrained": prefixed("context"), "target": prefixed("target"),
                "random_init": prefixed("random_init")}
    if "pretrained" in payload:  # one entry of a benchmarks/quality.py list
        return {"seed": payload["seed"], "pretrained": payload["pretrained"], "random_init": payload["random_init"]}
    return {"seed": payload["seed"], "pretrained": payload["metrics"],  # vision bench file
            "random_init": payload["random_init_metrics"]}


def load_runs(files: Iterable[str], root: Path | None = None) -> list[dict]:
    """``[{"seed", "pretrained": {metric: value}, "random_init": {...}}]`` from any of the raw formats
    (a file holds one record or a list of them); ``root`` defaults to ``benchmarks/results/``."""
    runs = []
    for name in files:
        payload = json.loads(((root or RESULTS) / name).read_text())
        runs += [_run_record(record) for record in (payload if isinstance(payload, list) else [payload])]
    return runs


#: two-sided 95 % Student-t quantiles by degrees of freedom
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def paired_summary(pretrained: list[float], random_init: list[float]) -> dict[str, float]:
    """Means, sample stds, and the paired difference's mean with its 95 % t interval half-width."""
    diffs = [p - r for p, r in zip(pretrained, random_init, strict=True)]
    n = len(diffs)
    sd = lambda v: statistics.stdev(v) if len(v) > 1 else float("nan")
    half = _T95.get(n - 1, 1.96) * sd(diffs) / math.sqrt(n) if n > 1 else float("nan")
    return {"n": n, "pretrained": statistics.mean(pretrained), "pretrained_sd": sd(pretrained),
            "random_init": statistics.mean(random_init), "random_init_sd": sd(random_init),
            "diff": statistics.mean(diffs), "diff_ci": half}


def table(key: str) -> str:
    where, files, metrics = TABLES[key]
    missing = [f for f in files if not (RESULTS / f).is_file()]
    if missing:
        return f"### {key} ({where})\n\nraw results missing: {missing}\n"
    runs = load_runs(files)
    a, b = ARMS.get(key, ("pretrained", "random_init"))
    raw = all("raw_features" in r for r in runs)
    names = {"pretrained": "pretrained", "random_init": "random init", "target": "EMA target"}
    lines = [f"### {key} ({where})", "", f"seeds {sorted(r['seed'] for r in runs)}; files: {', '.join(files)}", "",
             f"| metric | {names[a]} | {names[b]} | paired difference (95 % CI) |" + (" raw features |" if raw else ""),
             "|---|---|---|---|" + ("---|" if raw else "")]
    for metric in metrics:
        if not all(metric in r[a] and metric in r[b] for r in runs):
            lines.append(f"| {metric} | (not in every run) | | |")
            continue
        s = paired_summary([r[a][metric] for r in runs], [r[b][metric] for r in runs])
        cells = (f"| {metric} | {s['pretrained']:.4f} ± {s['pretrained_sd']:.4f} | "
                 f"{s['random_init']:.4f} ± {s['random_init_sd']:.4f} | {s['diff']:+.4f} ± {s['diff_ci']:.4f} |")
        if raw:
            values = [r["raw_features"].get(metric, float("nan")) for r in runs]
            cells += f" {statistics.mean(values):.4f} |"
        lines.append(cells)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("filters", nargs="*", help="only tables whose key contains one of these")
    args = parser.parse_args(argv)
    keys = [k for k in TABLES if not args.filters or any(f in k for f in args.filters)]
    for key in keys:
        print(table(key))
    if not args.filters:
        print("Not recomputed here:")
        for what, why in NOT_COVERED.items():
            print(f"- {what}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

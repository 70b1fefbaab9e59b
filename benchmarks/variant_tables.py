"""Recompute the fidelity-variant comparisons (issue 20) from their raw per-seed results.

    .venv/bin/python benchmarks/variant_tables.py            # every table below
    .venv/bin/python benchmarks/variant_tables.py assign     # tables whose key contains "assign"

Two kinds, each mean ± sample std over seeds and the **paired** difference per seed (same seed,
same data) with its 95 % Student-t interval (``tables.paired_summary``):

* ``VARIANTS``: one option changed between two sets of ``benchmarks/quality.py`` runs
  (e.g. T-JEPA ``objective_config.target_masks``), compared on the pretrained encoder (read by
  ``tables.load_runs``, so ``quality.py`` and ``tjepa_paired.py`` files both work);
* ``ASSIGN``: ``benchmarks/graph_assign.py`` files, where every run scores its clusters both
  ways (k-means on the L2-normalised encoder outputs, and SCGC's official argmax of Q).

A table whose raw files are not all in ``benchmarks/results/`` says which are missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["VARIANTS", "ASSIGN", "variant_table", "assign_table", "main"]

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SEEDS = (0, 1, 2)

#: key -> (benchmark file and section, {variant: raw quality.py files}, metrics); the first
#: variant is the reference of the paired difference.
VARIANTS: dict[str, tuple[str, dict[str, tuple[str, ...]], tuple[str, ...]]] = {
    "tjepa-adult-target-masks": (
        "tabular.md § T-JEPA target masks: independent vs as released",
        {v: tuple(f"tabular-tjepa-adult-masks-{v}-s{s}.json" for s in SEEDS) for v in ("independent", "as_released")},
        ("linear-probe/accuracy",),
    ),
    "tjepa-adult-target-masks-default-budget": (
        "tabular.md § T-JEPA target masks: independent vs as released, default budget",
        {"independent": tuple(f"tabular-tjepa-adult-paired-s{s}.json" for s in SEEDS),
         "as_released": tuple(f"tabular-tjepa-adult-paired-as_released-s{s}.json" for s in SEEDS)},
        ("linear-probe/accuracy", "linear-probe/macro_f1"),
    ),
}

#: key -> (benchmark file and section, raw graph_assign.py files)
ASSIGN: dict[str, tuple[str, tuple[str, ...]]] = {
    "scgc-star-citeseer-assign": (
        "graph.md § Cluster assignment: k-means on z vs argmax Q",
        tuple(f"graph-scgc-star-citeseer-assign-s{s}.json" for s in SEEDS),
    ),
}

_ASSIGN_ROWS = (
    ("kmeans_final", "k-means on z, final encoder (selfsup's default)"),
    ("kmeans_best", "k-means on z, best evaluation by ACC (every 10 steps)"),
    ("argmax_q_final", "argmax Q, last step (official, final)"),
    ("argmax_q_best", "argmax Q, best step per metric (official report)"),
)
_ASSIGN_METRICS = ("acc", "nmi", "ari", "macro_f1")


def _tables_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark_tables", HERE / "tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _missing(files: tuple[str, ...]) -> list[str]:
    return [f for f in files if not (RESULTS / f).is_file()]


def _rows(files: tuple[str, ...]) -> list[dict]:
    rows: list[dict] = []
    for name in files:
        payload = json.loads((RESULTS / name).read_text())
        rows += payload if isinstance(payload, list) else [payload]
    return sorted(rows, key=lambda row: row["seed"])


def _sd(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else float("nan")


def variant_table(key: str) -> str:
    where, variants, metrics = VARIANTS[key]
    missing = [f for files in variants.values() for f in _missing(files)]
    if missing:
        return f"### {key} ({where})\n\nraw results missing: {missing}\n"
    tables = _tables_module()
    paired = tables.paired_summary
    (ref_name, ref_files), (alt_name, alt_files) = list(variants.items())
    ref, alt = (sorted(tables.load_runs(files, RESULTS), key=lambda row: row["seed"]) for files in (ref_files, alt_files))
    if [r["seed"] for r in ref] != [r["seed"] for r in alt]:
        raise SystemExit(f"{key}: the two variants have different seeds")
    lines = [f"### {key} ({where})", "", f"seeds {[r['seed'] for r in ref]}", "",
             f"| metric | {ref_name} | {alt_name} | {alt_name} − {ref_name} (paired, 95 % CI) | random init |", "|---|---|---|---|---|"]
    for metric in metrics:
        a = [r["pretrained"][metric] for r in ref]
        b = [r["pretrained"][metric] for r in alt]
        s = paired(b, a)
        rand = [r["random_init"][metric] for r in ref]
        lines.append(f"| {metric} | {s['random_init']:.4f} ± {s['random_init_sd']:.4f} | {s['pretrained']:.4f} ± "
                     f"{s['pretrained_sd']:.4f} | {s['diff']:+.4f} ± {s['diff_ci']:.4f} | {statistics.mean(rand):.4f} |")
    return "\n".join(lines) + "\n"


def assign_table(key: str) -> str:
    where, files = ASSIGN[key]
    missing = _missing(files)
    if missing:
        return f"### {key} ({where})\n\nraw results missing: {missing}\n"
    rows = _rows(files)
    paired = _tables_module().paired_summary
    lines = [f"### {key} ({where})", "", f"seeds {[r['seed'] for r in rows]}, {rows[0]['steps']} steps", "",
             "| assignment | " + " | ".join(m.upper() if m != "macro_f1" else "macro-F1" for m in _ASSIGN_METRICS) + " |",
             "|---" * (len(_ASSIGN_METRICS) + 1) + "|"]
    for field, label in (*_ASSIGN_ROWS, ("random_init_kmeans", "random-init encoder, k-means on z")):
        cells = [f"{statistics.mean(v):.4f} ± {_sd(v):.4f}" for v in ([r[field][m] for r in rows] for m in _ASSIGN_METRICS)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    diffs = [paired([r["argmax_q_final"][m] for r in rows], [r["kmeans_final"][m] for r in rows]) for m in _ASSIGN_METRICS]
    lines.append("| argmax Q − k-means, final (paired, 95 % CI) | " + " | ".join(f"{d['diff']:+.4f} ± {d['diff_ci']:.4f}" for d in diffs) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("filters", nargs="*", help="only tables whose key contains one of these")
    args = parser.parse_args(argv)
    chosen = lambda key: not args.filters or any(f in key for f in args.filters)  # noqa: E731
    for key in VARIANTS:
        if chosen(key):
            print(variant_table(key))
    for key in ASSIGN:
        if chosen(key):
            print(assign_table(key))
    return 0


if __name__ == "__main__":
    sys.exit(main())

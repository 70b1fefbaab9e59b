"""Plot and tabulate ``bench_efficiency.py`` results: latency and peak memory against tokens.

Usage (from the repository root)::

    .venv/bin/python plugins/audio/scripts/plot_efficiency.py benchmarks/results/audio_efficiency.jsonl \\
        benchmarks/results/audio_efficiency_cpu_kernel.jsonl --png benchmarks/results/audio_efficiency.png

Prints a markdown table (one row per token count) and writes a two-panel PNG. With several files,
a later file's point replaces an earlier one's for the same model and token count. SSAMBA rows
are told apart by their ``scan`` (rows written before the field existed used the chunked scan).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

LABELS = {
    "ssamba-tiny": "SSAMBA-tiny (fused CPU scan kernel)",
    "ssamba-tiny-chunked": "SSAMBA-tiny (chunked PyTorch scan)",
    "ssast-tiny": "SSAST-tiny (fused SDPA attention)",
    "ssast-tiny-math": "SSAST-tiny (materialised attention, as timm)",
}


def load(paths: list[Path]) -> dict[str, dict[int, dict]]:
    rows: dict[str, dict[int, dict]] = defaultdict(dict)
    for path in paths:
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                model = row["model"]
                if model == "ssamba-tiny" and row.get("scan", "chunked") == "chunked":
                    model = "ssamba-tiny-chunked"
                rows[model][row["tokens"]] = row
    return rows


def cell(row: dict | None, key: str, std: str | None = None, digits: int = 2) -> str:
    if row is None:
        return "–"
    if "failed" in row:
        return "fails"
    text = f"{row[key]:.{digits}f}"
    if std and row["runs"] > 1:
        text += f" ± {row[std]:.{digits}f}"
    return text + (f" ({row['runs']} run{'s' if row['runs'] > 1 else ''})" if std and row["runs"] != 5 else "")


def table(rows: dict[str, dict[int, dict]]) -> str:
    """CPU seconds per forward (mean ± std over the runs) and peak memory; wall clock is in the JSONL."""
    models = [m for m in LABELS if m in rows]
    tokens = sorted({t for m in models for t in rows[m]})
    head = ["tokens"] + [f"{m} CPU s" for m in models] + [f"{m} GiB" for m in models]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for t in tokens:
        cells = [str(t)]
        cells += [cell(rows[m].get(t), "cpu_seconds_mean", "cpu_seconds_std") for m in models]
        cells += [cell(rows[m].get(t), "memory_gib") for m in models]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows: dict[str, dict[int, dict]], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for model, label in LABELS.items():
        points = sorted((t, r) for t, r in rows.get(model, {}).items() if "failed" not in r)
        if not points:
            continue
        tokens = [t for t, _ in points]
        left.errorbar(tokens, [r["cpu_seconds_mean"] for _, r in points],
                      yerr=[r["cpu_seconds_std"] for _, r in points], marker="o", capsize=3, label=label)
        right.plot(tokens, [r["memory_gib"] for _, r in points], marker="o", label=label)
    for axis, title in ((left, "forward latency (process CPU s, 1 thread)"), (right, "peak memory (GiB, RSS above torch import)")):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("patch tokens (batch 4, fp32)")
        axis.set_title(title, fontsize=10)
        axis.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)
    fig.suptitle("SSAMBA-tiny vs SSAST-tiny fine-tuning models on CPU (shared 2-core machine)", fontsize=11)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--png", type=Path, default=Path("benchmarks/results/audio_efficiency.png"))
    args = parser.parse_args()
    rows = load(args.results)
    print(table(rows))
    plot(rows, args.png)


if __name__ == "__main__":
    main()

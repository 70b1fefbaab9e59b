"""The run's plots (``run_dir/plots/``), drawn with matplotlib when it is installed.

``loss.png``
    One panel per optimiser phase (``loss`` or ``loss/<phase>`` in ``log.jsonl``): the raw
    logged values, faint, and a moving average over about 1/25 of the run, on a log scale
    (a linear scale when a loss reaches zero or below, e.g. a GAN's generator loss).
``eval.png``
    With ``trainer.eval_every``: each ``<evaluator>/<metric>`` against the step in its own
    panel, the random-init encoder's final score dashed and the best evaluation (by
    ``trainer.eval_select``, as in ``metrics.json``) starred.
``embedding.png``
    A 2-D PCA of the test-split (else train) embeddings: classes as discrete colours with
    their names in the legend (``data.info["class_names"]``, else ``class <k>``); a
    regression target as a colour bar.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .interfaces import DataSource

if TYPE_CHECKING:  # matplotlib is optional
    from matplotlib.figure import Figure

__all__ = ["save_plots", "save_figure", "plot_losses", "plot_evaluations", "plot_embedding", "smooth", "loss_keys", "MAX_LEGEND_CLASSES"]

#: More classes than this get a colour bar of class indices instead of a legend.
MAX_LEGEND_CLASSES = 20
#: Rows embedded for ``embedding.png`` at most.
MAX_POINTS = 5000


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Figure | None, path: Path) -> Path | None:
    """Write ``fig`` atomically (a temporary file, then a rename) and close it; ``None`` for no figure."""
    if fig is None:
        return None
    plt = _pyplot()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return path


def loss_keys(history: Sequence[Mapping[str, float]], phases: Sequence[str] = ()) -> list[str]:
    """The per-phase loss keys of a ``log.jsonl`` history: ``loss`` or ``loss/<phase>``, in the
    order of ``phases`` (the objective's), then in first-seen order."""
    keys: dict[str, None] = {}
    for line in history:
        for key in line:
            if key == "loss" or key.startswith("loss/"):
                keys.setdefault(key)
    rank = {f"loss/{name}": index for index, name in enumerate(phases)}
    return sorted(keys, key=lambda key: rank.get(key, len(rank)))


def smooth(values: Sequence[float], window: int) -> list[float]:
    """Trailing moving average over ``window`` points (shorter at the start)."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_losses(history: Sequence[Mapping[str, float]], phases: Sequence[str] = ()) -> Figure | None:
    """The figure of ``loss.png``: one panel per phase (in the order of ``phases``), raw and
    smoothed, log scale; ``None`` without losses."""
    keys = loss_keys(history, phases)
    if not keys:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.8 * len(keys)), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        points = [(line["step"], line[key]) for line in history if key in line and math.isfinite(line[key])]
        steps = [step for step, _ in points]
        values = [value for _, value in points]
        window = max(1, len(values) // 25)
        if window > 1:
            ax.plot(steps, values, color="tab:blue", alpha=0.3, linewidth=1, label="logged")
            ax.plot(steps, smooth(values, window), color="tab:blue", linewidth=2,
                    label=f"moving average of {window} logged values")
        else:
            ax.plot(steps, values, color="tab:blue", linewidth=2, label="logged")
        if values and not any(values):  # e.g. the main phase while a warm-up takes every step
            scale = "linear scale"
            ax.text(0.5, 0.25, "0 at every logged step: this phase did not train", transform=ax.transAxes,
                    ha="center", color="tab:red")
        elif values and min(values) > 0:
            from matplotlib.ticker import FuncFormatter

            ax.set_yscale("log")
            plain = FuncFormatter(lambda value, _: f"{value:g}")
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
            scale = "log scale"
        else:
            scale = "linear scale"  # log needs positive values
        phase = key.partition("/")[2]
        ax.set_title(f"phase '{phase}'" if phase else "training loss")
        ax.set_ylabel(f"loss ({scale})")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="upper right", fontsize="small")
        ax.set_xlabel("step")
    if len(keys) > 1:
        fig.suptitle("Training loss per phase")
    fig.tight_layout()
    return fig


def plot_evaluations(
    evaluations: Sequence[Mapping[str, float]],
    baseline: Mapping[str, float] | None = None,
    best: tuple[int, str] | None = None,
) -> Figure | None:
    """The figure of ``eval.png``: each ``"<evaluator>/<metric>"`` against the step in its own panel (scales
    differ), the random-init score dashed, and ``best = (step, select metric)`` (the
    evaluation ``metrics.json`` calls best) starred; ``None`` without evaluations."""
    if not evaluations:
        return None
    metrics = list(dict.fromkeys(key for line in evaluations for key in line if key != "step"))  # failed ones: gaps
    if not metrics:  # every evaluator failed during training (metrics.json records why)
        return None
    columns = 1 if len(metrics) == 1 else 2
    rows = math.ceil(len(metrics) / columns)
    plt = _pyplot()
    fig, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 2.6 * rows), sharex=True, squeeze=False)
    steps = [line["step"] for line in evaluations]
    for index, (ax, key) in enumerate(zip(axes.flat, metrics)):
        values = [line.get(key, float("nan")) for line in evaluations]
        ax.plot(steps, values, marker="o", markersize=3, color="tab:blue", label="pretrained")
        if best is not None and best[0] in steps:
            at = steps.index(best[0])
            ax.plot([best[0]], [values[at]], marker="*", markersize=12, color="tab:orange", linestyle="none",
                    label=f"best by {best[1]}")
        if baseline and key in baseline:
            ax.axhline(baseline[key], color="tab:gray", linestyle="--", linewidth=1, label="random init (final)")
        ax.set_title(key, fontsize="medium")
        ax.set_ylabel(key.partition("/")[2] or key)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
        if index == 0:
            ax.legend(loc="best", fontsize="small")
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    fig.suptitle("Evaluations during training")
    fig.tight_layout()
    return fig


def _is_regression(labels: torch.Tensor, info: Mapping[str, Any]) -> bool:
    return info.get("task") == "regression" or labels.is_floating_point() and not torch.equal(labels, labels.round())


def plot_embedding(
    features: torch.Tensor, labels: torch.Tensor, *, info: Mapping[str, Any], split: str, total_rows: int | None = None
) -> Figure | None:
    """The figure of ``embedding.png``: 2-D PCA of ``features``; discrete class colours with named legend
    entries, or a colour bar for a regression target. ``None`` with fewer than 3 rows."""
    if labels.dim() == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if len(features) <= 2 or labels.dim() != 1:  # multi-task targets have no single colour
        return None
    total_rows = max(total_rows or 0, len(features))  # the split's size when only its first rows were embedded
    features, labels = features[:MAX_POINTS].float(), labels[:MAX_POINTS]
    centred = features - features.mean(0, keepdim=True)
    _, singular, v = torch.pca_lowrank(centred, q=min(2, centred.shape[1]), center=False)
    points = centred @ v[:, :2]
    if points.shape[1] == 1:
        points = torch.cat([points, torch.zeros_like(points)], dim=1)
    total = float(centred.pow(2).sum()) or 1.0
    explained = [float(s) ** 2 / total * 100 for s in singular[:2]] + [0.0]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    if _is_regression(labels, info):
        scatter = ax.scatter(points[:, 0], points[:, 1], c=labels.float(), s=5, cmap="viridis", alpha=0.8)
        fig.colorbar(scatter, ax=ax, label=str(info.get("target") or "target"))
        coloured = "the target"
    else:
        codes = labels.long()
        classes = sorted(int(c) for c in codes.unique())
        names = list(info.get("class_names") or [])
        if len(classes) <= MAX_LEGEND_CLASSES:
            cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
            for index, code in enumerate(classes):
                mask = codes == code
                name = str(names[code]) if 0 <= code < len(names) else f"class {code}"
                ax.scatter(points[mask, 0], points[mask, 1], s=5, alpha=0.7, color=cmap(index), label=name)
            ax.legend(title="class", loc="center left", bbox_to_anchor=(1.01, 0.5), markerscale=3, fontsize="small", frameon=False)
        else:
            scatter = ax.scatter(points[:, 0], points[:, 1], c=codes, s=4, cmap="nipy_spectral", alpha=0.7)
            fig.colorbar(scatter, ax=ax, label=f"class index ({len(classes)} classes)")
        coloured = "class"
    ax.set_xlabel(f"PC 1 ({explained[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC 2 ({explained[1]:.0f}% of variance)")
    shown = f"{len(points)} rows" if len(points) == total_rows else f"the first {len(points)} of {total_rows} rows"
    ax.set_title(f"Embeddings of the {split} split ({shown}), coloured by {coloured}")
    fig.tight_layout()
    return fig


def save_plots(
    run_dir: Path,
    history: list[dict[str, float]],
    encoder: nn.Module,
    data: DataSource,
    batch_size: int,
    *,
    evaluations: Sequence[Mapping[str, float]] = (),
    baseline: Mapping[str, float] | None = None,
    best: tuple[int, str] | None = None,
    phases: Sequence[str] = (),
) -> list[Path]:
    """Write ``plots/loss.png``, ``plots/eval.png`` (with evaluations during training) and,
    when the test split (else train) has labels, ``plots/embedding.png``; return their paths."""
    try:
        _pyplot()
    except ImportError:
        print("matplotlib is not installed; no plots written (pip install 'selfsup[plots]').", file=sys.stderr)
        return []
    out = run_dir / "plots"
    out.mkdir(exist_ok=True)
    written = [
        save_figure(plot_losses(history, phases), out / "loss.png"),
        save_figure(plot_evaluations(evaluations, baseline, best), out / "eval.png"),
    ]
    split = "test" if "test" in data.splits else "train"
    from .evaluation.features import extract_features

    features, labels = extract_features(
        encoder, data, split, device=torch.device("cpu"), batch_size=batch_size, require_labels=False,
        max_rows=MAX_POINTS,  # only the rows drawn are embedded
    )
    if labels is not None:
        items = data.split(split)
        total = len(items) if hasattr(items, "__len__") and not getattr(data, "full_batch", False) else len(features)
        figure = plot_embedding(features, labels, info=data.info, split=split, total_rows=total)
        written.append(save_figure(figure, out / "embedding.png"))
    return [path for path in written if path is not None]

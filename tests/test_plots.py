"""The run's plots: per-phase losses on a log scale with smoothing, evaluation curves, and
embeddings with named discrete classes; every axis labelled."""

from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip("matplotlib")
import matplotlib.pyplot as plt  # noqa: E402

from selfsup.plots import MAX_LEGEND_CLASSES, loss_keys, plot_embedding, plot_evaluations, plot_losses, save_figure, smooth  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labelled(ax) -> bool:
    return bool(ax.get_xlabel()) and bool(ax.get_ylabel())


def test_smooth_is_a_trailing_moving_average():
    assert smooth([1.0, 3.0, 5.0, 7.0], 2) == [1.0, 2.0, 4.0, 6.0]
    assert smooth([4.0, 0.0], 1) == [4.0, 0.0]


def test_loss_keys_follow_the_objectives_phase_order():
    history = [{"step": 1, "loss/main": 0.0, "loss/pretrain": 1.0, "lr/main": 0.1, "reconstruction": 1.0}]
    assert loss_keys(history) == ["loss/main", "loss/pretrain"]  # log.jsonl's (sorted) order
    assert loss_keys(history, ["pretrain", "main"]) == ["loss/pretrain", "loss/main"]


def test_a_phase_that_never_trained_is_said_on_its_panel():
    history = [{"step": s, "loss/pretrain": 1.0 / s, "loss/main": 0.0} for s in range(1, 6)]
    fig = plot_losses(history, ["pretrain", "main"])
    assert [ax.get_title() for ax in fig.axes] == ["phase 'pretrain'", "phase 'main'"]
    assert [t.get_text() for t in fig.axes[1].texts] == ["0 at every logged step: this phase did not train"]
    assert len(fig.axes[0].texts) == 0


def test_loss_plot_has_one_log_scale_panel_per_phase_with_a_smoothed_line():
    history = [{"step": s, "loss/pretrain": 10.0 / s, "loss/main": 6.0 - s / 10 + (s % 2)} for s in range(1, 51)]
    fig = plot_losses(history)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["phase 'pretrain'", "phase 'main'"]
    assert [ax.get_yscale() for ax in axes] == ["log", "log"]
    assert all(_labelled(ax) for ax in axes)
    raw, smoothed = axes[1].get_lines()
    assert list(raw.get_ydata()) == [line["loss/main"] for line in history]
    # the zig-zag of the raw loss is averaged out: window 2 of alternating +1
    assert list(smoothed.get_ydata())[1:] == pytest.approx([history[i]["loss/main"] / 2 + history[i - 1]["loss/main"] / 2 for i in range(1, 50)])


def test_a_loss_that_reaches_zero_or_below_stays_linear_and_says_why():
    fig = plot_losses([{"step": s, "loss": 1.0 - s / 5} for s in range(1, 11)])
    assert fig.axes[0].get_yscale() == "linear" and fig.axes[0].get_ylabel() == "loss (linear scale)"


def test_no_losses_no_plot():
    assert plot_losses([{"step": 1, "lr": 0.1}]) is None


def test_evaluation_curves_one_panel_per_metric_with_baseline_and_best():
    evaluations = [
        {"step": 10, "knn/accuracy": 0.5, "clustering/nmi": 0.2},
        {"step": 20, "knn/accuracy": 0.7, "clustering/nmi": 0.1},
        {"step": 30, "knn/accuracy": 0.6, "clustering/nmi": 0.3},
    ]
    fig = plot_evaluations(evaluations, {"knn/accuracy": 0.4}, best=(20, "knn/accuracy"))
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["knn/accuracy", "clustering/nmi"]
    assert all(_labelled(ax) for ax in visible)
    curve, star, baseline = visible[0].get_lines()
    assert list(curve.get_xdata()) == [10, 20, 30] and list(curve.get_ydata()) == [0.5, 0.7, 0.6]
    assert list(star.get_xdata()) == [20] and list(star.get_ydata()) == [0.7]
    assert list(baseline.get_ydata()) == [0.4, 0.4]
    assert [line.get_label() for line in visible[1].get_lines()] == ["pretrained", "best by knn/accuracy"]  # no baseline given
    assert plot_evaluations([]) is None


def _clusters(classes: int, rows: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(rows) % classes
    features = torch.randn(rows, 6, generator=generator) + 5 * torch.nn.functional.one_hot(labels % 6, 6).float()
    return features, labels


def test_embedding_has_a_discrete_legend_with_the_class_names():
    features, labels = _clusters(3)
    fig = plot_embedding(features, labels, info={"class_names": ["cat", "dog", "owl"]}, split="test")
    ax = fig.axes[0]
    assert len(fig.axes) == 1  # no colour bar
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["cat", "dog", "owl"]
    assert ax.get_xlabel().startswith("PC 1 (") and ax.get_ylabel().startswith("PC 2 (")
    colours = {tuple(c.get_facecolor()[0]) for c in ax.collections}
    assert len(colours) == 3 and [len(c.get_offsets()) for c in ax.collections] == [14, 13, 13]


def test_embedding_without_names_says_class_k():
    features, labels = _clusters(2)
    fig = plot_embedding(features, labels + 3, info={}, split="train")
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["class 3", "class 4"]


def test_many_classes_or_a_regression_target_get_a_labelled_colour_bar():
    features, labels = _clusters(MAX_LEGEND_CLASSES + 1, rows=60)
    fig = plot_embedding(features, labels, info={}, split="test")
    assert len(fig.axes) == 2 and "21 classes" in fig.axes[1].get_ylabel()
    target = torch.linspace(0.0, 1.0, 40)
    fig = plot_embedding(features[:40], target, info={"task": "regression", "target": "price"}, split="test")
    assert fig.axes[1].get_ylabel() == "price" and fig.axes[0].get_legend() is None


def test_save_figure_writes_a_png_atomically(tmp_path):
    fig = plot_losses([{"step": s, "loss": math.exp(-s)} for s in range(1, 5)])
    path = save_figure(fig, tmp_path / "loss.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]
    assert save_figure(None, tmp_path / "none.png") is None and not (tmp_path / "none.png").exists()


def test_a_run_with_evaluations_during_training_writes_all_three_plots(toy, tmp_path):
    from selfsup import pretrain

    pretrain(modality="toy", run_dir=tmp_path / "r", trainer={"max_steps": 6, "eval_every": 3})
    assert sorted(p.name for p in (tmp_path / "r" / "plots").iterdir()) == ["embedding.png", "eval.png", "loss.png"]


def test_the_embedding_plot_embeds_only_the_rows_it_draws(make_eval_source, identity_encoder, tmp_path, monkeypatch):
    """A test split larger than MAX_POINTS: only its first MAX_POINTS rows go through the encoder,
    and the title says how many of the split's rows are shown."""
    import selfsup.plots as plots

    monkeypatch.setattr(plots, "MAX_POINTS", 30)
    x = torch.randn(100, 3)
    source = make_eval_source({"train": (x, torch.arange(100) % 3), "test": (x, torch.arange(100) % 3)})
    encoder = identity_encoder(3)
    written = plots.save_plots(tmp_path, [{"step": 1, "loss": 1.0}], encoder, source, batch_size=10)
    assert (tmp_path / "plots" / "embedding.png") in written
    assert len(encoder.seen_training) == 3  # 30 rows in batches of 10, not 100
    fig = plot_embedding(x[:30], torch.arange(30) % 3, info={}, split="test", total_rows=100)
    assert "the first 30 of 100 rows" in fig.axes[0].get_title()

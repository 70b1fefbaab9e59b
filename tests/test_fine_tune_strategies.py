"""Fine-tuning strategies: the hook, the binding, the default, and SLA / Core-tuning's math.

Golden values are derived by hand in the comments; the SLA formulas follow
``hankook/SLA@bc5d9cd:trainers.py`` and Core-tuning's ``Vanint/Core-tuning@f70e1bf:Core-tuning.py``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from selfsup import FineTuneStrategySpec, hookimpl
from selfsup.errors import ConfigError, DatasetError, UnknownComponentError
from selfsup.evaluation import FineTune, FineTuneConfig
from selfsup.evaluation.fine_tune_strategies.configs import CoreTuningConfig, SLAConfig
from selfsup.evaluation.fine_tune_strategies.core_mixup import core_tuning_feature_set, hard_pairs
from selfsup.evaluation.fine_tune_strategies.core_tuning import CoreTuning
from selfsup.evaluation.fine_tune_strategies.focal_supcon import focal_supcon_loss
from selfsup.evaluation.fine_tune_strategies.sla import SLA, rotations
from selfsup.evaluation.fine_tune_strategies.sla_distillation import sla_distillation_loss
from selfsup.evaluation.fine_tune_strategies.sla_joint import (
    aggregate_joint_logits,
    joint_labels,
    single_joint_logits,
    sla_joint_loss,
)
from selfsup.evaluation.fine_tune_strategy import CrossEntropy, FineTuneRun
from selfsup.registry import Registry
from selfsup.strategies import build_strategy

pytestmark = pytest.mark.usefixtures("torch_single_thread")
CPU = torch.device("cpu")


# ------------------------------------------------------------------ SLA


def test_joint_labels_are_class_times_m_plus_transform() -> None:
    assert joint_labels(torch.tensor([2, 0]), 4).tolist() == [8, 9, 10, 11, 0, 1, 2, 3]
    assert joint_labels(torch.tensor([1]), 2).tolist() == [2, 3]


def test_aggregated_and_single_inference_golden_values() -> None:
    # one image, M = 2, N = 2: rows (t0, t1); columns joint(y, j) = 2y + j -> (y0t0, y0t1, y1t0, y1t1)
    joint = torch.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    # s_y = (z[t0 row, (y, t0)] + z[t1 row, (y, t1)]) / 2: y0 -> (1 + 6)/2, y1 -> (3 + 8)/2
    assert aggregate_joint_logits(joint, 2).tolist() == [[3.5, 5.5]]
    assert single_joint_logits(joint, 2).tolist() == [[1.0, 3.0]]


def test_sla_joint_loss_golden_value() -> None:
    # one image of class 0, M = 2, N = 1: joint labels (0, 1)
    joint = torch.tensor([[0.0, math.log(3.0)], [0.0, 0.0]])
    # row 0, label 0: -log(1/4) = log 4; row 1, label 1: log 2; mean = 1.5 log 2
    assert sla_joint_loss(joint, torch.tensor([0]), 2).item() == pytest.approx(1.5 * math.log(2))
    assert sla_joint_loss(joint, torch.tensor([0]), 2, large_loss=True).item() == pytest.approx(3 * math.log(2))


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_sla_distillation_golden_value(temperature: float) -> None:
    single = torch.tensor([[0.0, 0.0]])
    aggregated = torch.tensor([[math.log(3.0), 0.0]])
    teacher = [3 ** (0.5 / temperature * 2) / (1 + 3 ** (1 / temperature)), 1 / (1 + 3 ** (1 / temperature))]
    kl = sum(t * math.log(t / 0.5) for t in teacher)
    expected = math.log(2) + temperature**2 * kl  # CE(u, 0) = log 2 for uniform u
    assert sla_distillation_loss(single, aggregated, torch.tensor([0]), temperature).item() == pytest.approx(expected, rel=1e-6)


def test_sla_distillation_teacher_gets_no_gradient() -> None:
    single = torch.zeros(1, 2, requires_grad=True)
    aggregated = torch.tensor([[math.log(3.0), 0.0]], requires_grad=True)
    sla_distillation_loss(single, aggregated, torch.tensor([0])).backward()
    assert aggregated.grad is None, "the aggregated (teacher) scores are detached, as in the official code"
    assert single.grad is not None and single.grad.abs().sum() > 0


def test_rotations_are_interleaved_per_image() -> None:
    images = torch.arange(2 * 1 * 3 * 3, dtype=torch.float32).reshape(2, 1, 3, 3)
    out = rotations(images, (0, 1, 2, 3))
    assert out.shape == (8, 1, 3, 3)
    assert torch.equal(out[1 * 4 + 3], torch.rot90(images[1], 3, (1, 2)))
    assert torch.equal(out[0 * 4 + 2], torch.rot90(images[0], 2, (1, 2)))
    assert torch.equal(out[4], images[1])


class _Flatten(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.embed_dim = dim

    def forward(self, batch):
        return batch["x"].flatten(1)


def _run(head: nn.Module, encoder: nn.Module | None = None, *, outputs: int = 2) -> FineTuneRun:
    encoder = encoder or _Flatten(4)

    def embed(batch):
        return encoder(batch), torch.as_tensor(batch["label"])

    return FineTuneRun(
        encoder=encoder, head=head, task="classification", outputs=outputs,
        task_loss=lambda s, y: nn.functional.cross_entropy(s, y), embed=embed,
        generator=torch.Generator().manual_seed(0), dataset="unit",
    )


def test_sla_strategy_scores_each_rotation_with_its_own_columns() -> None:
    strategy = SLA(SLAConfig())
    torch.manual_seed(0)
    head = strategy.build_head(4, 2)
    run = _run(head)
    images = torch.randn(3, 1, 2, 2)
    batch = {"x": images, "label": torch.tensor([0, 1, 1])}
    scores, labels = strategy.predict(run, batch)
    joint = head["joint"](rotations(images, (0, 1, 2, 3)).flatten(1))
    by_hand = sum(joint[j::4, j::4] for j in range(4)) / 4
    assert torch.allclose(scores, by_hand) and labels.tolist() == [0, 1, 1]
    loss = strategy.training_loss(run, batch)
    assert loss.item() == pytest.approx(nn.functional.cross_entropy(joint, torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7])).item())
    strategy.config.inference = "single"
    assert torch.allclose(strategy.predict(run, batch)[0], head["joint"](images.flatten(1))[:, 0::4])


def test_sla_sd_head_is_trained_on_the_unrotated_images_and_scores_alone() -> None:
    from selfsup.evaluation.fine_tune_strategies.configs import SLASDConfig

    strategy = SLA(SLASDConfig())
    head = strategy.build_head(4, 2)
    assert set(head.keys()) == {"joint", "single"}
    run = _run(head)
    images = torch.randn(2, 1, 2, 2)
    batch = {"x": images, "label": torch.tensor([1, 0])}
    joint = head["joint"](rotations(images, (0, 1, 2, 3)).flatten(1))
    single = head["single"](images.flatten(1))
    expected = sla_joint_loss(joint, batch["label"], 4) + sla_distillation_loss(single, aggregate_joint_logits(joint, 4), batch["label"])
    assert strategy.training_loss(run, batch).item() == pytest.approx(expected.item(), rel=1e-6)
    assert torch.allclose(strategy.predict(run, batch)[0], single)


def test_sla_on_non_images_is_a_named_error() -> None:
    strategy = SLA(SLAConfig())
    run = _run(strategy.build_head(4, 2))
    with pytest.raises(DatasetError, match="rotates square images.*'x' of dataset unit is \\(3, 4\\).*core-tuning"):
        strategy.training_loss(run, {"x": torch.randn(3, 4), "label": torch.tensor([0, 1, 0])})


def test_sla_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="transform='flip'"):
        SLAConfig(transform="flip")
    with pytest.raises(ConfigError, match="self_distillation=true"):
        SLAConfig(inference="distilled")


# ------------------------------------------------------------------ Core-tuning


def test_focal_supcon_golden_value_and_focal_weight() -> None:
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    classes = torch.tensor([0, 0, 1])
    # anchor 0: logits to 1 and 2 are 1/τ and 0 (τ = 1); p_01 = e / (e + 1); focal weight 1 - p_01;
    # mean over the 3 columns; anchor 1 the same; anchor 2 has no positive (not counted)
    p = math.e / (math.e + 1)
    expected = -(1 - p) * math.log(p) / 3
    assert focal_supcon_loss(z, classes, temperature=1.0).item() == pytest.approx(expected, rel=1e-6)
    # without the focal weight the value would be -log(p)/3: the weight matters
    assert expected != pytest.approx(-math.log(p) / 3)
    # base temperature scales: (τ / τ_b) = 0.5
    assert focal_supcon_loss(z, classes, temperature=1.0, base_temperature=2.0).item() == pytest.approx(expected / 2, rel=1e-6)


def test_focal_supcon_without_positives_is_zero_with_a_gradient() -> None:
    z = nn.functional.normalize(torch.randn(3, 4), dim=1).requires_grad_(True)
    loss = focal_supcon_loss(z, torch.tensor([0, 1, 2]))
    loss.backward()
    assert loss.item() == 0.0 and z.grad is not None


def test_hard_pairs_pick_least_similar_positive_and_most_similar_negative() -> None:
    features = torch.tensor([[1.0, 0.0], [0.6, 0.8], [-0.6, 0.8], [0.8, -0.6], [0.0, -1.0]])
    labels = torch.tensor([0, 0, 0, 1, 1])
    positive, negative = hard_pairs(features, labels)
    # row 0: same-class similarities 0.6 (row 1) and -0.6 (row 2) -> least similar is 2;
    # other-class similarities 0.8 (row 3) and 0 (row 4) -> most similar is 3
    assert positive[0].item() == 2 and negative[0].item() == 3
    # row 3: its only positive (row 4) has similarity 0.6 > 0, so the official argmin over the
    # masked products picks a masked zero at column 0, which the official fallback turns into 3 itself
    assert positive[3].item() == 3
    # row 4: most similar other-class row: similarities 0 (row 0), -0.8 (1), -0.8 (2) -> 0
    assert negative[4].item() == 0


def test_feature_set_detaches_originals_and_weights_hard_negatives_to_the_partner() -> None:
    features = torch.randn(6, 5, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    mixed, soft = core_tuning_feature_set(features, labels, 3, np.random.default_rng(0))
    assert mixed.shape == (18, 5) and soft.shape == (18, 3)
    assert torch.equal(soft[:6], nn.functional.one_hot(labels, 3).float())
    mixed[:6].sum().backward(retain_graph=True)
    assert features.grad is None or torch.all(features.grad == 0), "originals must be detached"
    mixed[6:].sum().backward()
    assert features.grad is not None and features.grad.abs().sum() > 0
    own = soft[6:12].gather(1, labels.unsqueeze(1)).squeeze(1)
    assert torch.all((own <= 0.2 + 1e-6) | (own == 1.0)), "the partner weighs at least 0.8 (own class at most 0.2)"
    assert torch.allclose(soft.sum(dim=1), torch.ones(18))


def test_core_tuning_loss_is_ce_plus_eta_focal_supcon() -> None:
    strategy = CoreTuning(CoreTuningConfig(eta=0.0))
    torch.manual_seed(0)
    head = strategy.build_head(4, 2)
    assert head["classifier"].bias is None
    run = _run(head)
    batch = {"x": torch.randn(6, 1, 2, 2), "label": torch.tensor([0, 1, 0, 1, 0, 1])}
    ce_only = strategy.training_loss(run, batch)
    run.generator.manual_seed(0)
    with_eta = CoreTuning(CoreTuningConfig(eta=2.0)).training_loss(run, batch)
    assert with_eta.item() > ce_only.item()
    scores, labels = strategy.predict(run, batch)
    assert torch.allclose(scores, head["classifier"](batch["x"].flatten(1)))


# ------------------------------------------------------------------ the evaluator and the hook


def _blobs(make_eval_source):
    from sklearn.datasets import make_blobs

    x, y = make_blobs(400, centers=3, n_features=4, cluster_std=2.5, random_state=0)
    x = torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1, 2, 2)
    y = torch.as_tensor(y)
    splits = {"train": (x[:300], y[:300]), "test": (x[300:], y[300:])}
    return make_eval_source(splits, info={"num_classes": 3})


class _Conv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed_dim = 8
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.Tanh())

    def forward(self, batch):
        return self.net(batch["x"])


def test_default_strategy_is_plain_cross_entropy(make_eval_source) -> None:
    source = _blobs(make_eval_source)
    config = FineTuneConfig(epochs=8, lr=1e-2, head_lr=3e-2)
    default = FineTune(config).evaluate(_Conv(), source, device=CPU, seed=0)
    bound = FineTune(config)
    bound.use_strategy(CrossEntropy())
    assert bound.evaluate(_Conv(), source, device=CPU, seed=0) == default
    assert default["accuracy"] > 0.5


@pytest.mark.parametrize("strategy", [SLA(SLAConfig()), CoreTuning(CoreTuningConfig())], ids=["sla", "core-tuning"])
def test_strategies_train_through_the_evaluator(make_eval_source, strategy) -> None:
    source = _blobs(make_eval_source)
    evaluator = FineTune(FineTuneConfig(epochs=8, lr=1e-2, head_lr=3e-2, strategy="x"))
    evaluator.use_strategy(strategy)
    result = evaluator.evaluate(_Conv(), source, device=CPU, seed=0)
    assert result["accuracy"] > 0.5  # 3 blobs: chance is 1/3
    assert result == evaluator.evaluate(_Conv(), source, device=CPU, seed=0), "seeded: same numbers"


def test_label_fraction_keeps_a_seeded_subset(make_eval_source) -> None:
    source = _blobs(make_eval_source)
    seen: list[int] = []

    class Counting(CrossEntropy):
        def training_loss(self, run, batch):
            seen.append(len(batch["label"]))
            return super().training_loss(run, batch)

    evaluator = FineTune(FineTuneConfig(epochs=1, label_fraction=0.1, batch_size=1000))
    evaluator.use_strategy(Counting())
    evaluator.evaluate(_Conv(), source, device=CPU, seed=0)
    assert seen == [27]  # 300 train rows - 10 % for validation = 270 fitting rows; 10 % of them
    with pytest.raises(ConfigError, match="label_fraction=0"):
        FineTuneConfig(label_fraction=0.0)


def test_an_unbound_strategy_and_a_wrong_task_are_named_errors(make_eval_source) -> None:
    source = _blobs(make_eval_source)
    with pytest.raises(ConfigError, match="strategy 'sla' was never built"):
        FineTune(FineTuneConfig(strategy="sla")).evaluate(_Conv(), source, device=CPU, seed=0)
    evaluator = FineTune(FineTuneConfig(task="regression"))
    evaluator.use_strategy(SLA(SLAConfig()))
    with pytest.raises(ConfigError, match="trains \\['classification'\\] tasks.*regression"):
        evaluator.evaluate(_Conv(), source, device=CPU, seed=0)


def test_registry_builds_strategies_and_names_bad_settings(plugin_set) -> None:
    registry = Registry(plugin_set)
    assert {s.name for s in registry.list("strategies")} >= {"cross-entropy", "sla", "sla-sd", "core-tuning"}
    built = build_strategy(registry, "core-tuning", {"eta": 0.5})
    assert isinstance(built, CoreTuning) and built.config.eta == 0.5
    with pytest.raises(ConfigError, match="strategy 'core-tuning' has no setting 'etaa'.*Did you mean 'eta'"):
        build_strategy(registry, "core-tuning", {"etaa": 0.5})
    with pytest.raises(ConfigError, match="strategy_config.eta"):
        build_strategy(registry, "core-tuning", {"eta": "big"})
    with pytest.raises(UnknownComponentError, match="Unknown strategy 'slaa'.*Did you mean 'sla'"):
        build_strategy(registry, "slaa", {})


class _LabelSmoothing(CrossEntropy):
    def training_loss(self, run, batch):
        embeddings, labels = run.embed(batch)
        return nn.functional.cross_entropy(run.head(embeddings), labels, label_smoothing=0.1)


class _StrategyPlugin:
    @hookimpl
    def register_fine_tune_strategies(self):
        return [FineTuneStrategySpec(name="smooth", factory=_LabelSmoothing)]


class _BrokenStrategyPlugin:
    @hookimpl
    def register_fine_tune_strategies(self):
        raise RuntimeError("boom")


def test_a_plugin_strategy_runs_in_pretrain(tmp_path, toy, register_plugin) -> None:
    import selfsup

    register_plugin(_StrategyPlugin(), name="smoothing")

    result = selfsup.pretrain(
        modality="toy", run_dir=tmp_path / "run", evaluators=["fine-tune"],
        evaluator_config={"fine-tune": {"strategy": "smooth", "epochs": 10, "lr": 1e-2, "head_lr": 3e-2}},
        trainer={"max_steps": 2, "progress": "off"},
    )
    assert result.metrics["fine-tune/accuracy"] > 0.5
    with pytest.raises(ConfigError, match="no setting 'x'"):  # before training: no run folder is made
        selfsup.pretrain(
            modality="toy", run_dir=tmp_path / "bad", evaluators=["fine-tune"],
            evaluator_config={"fine-tune": {"strategy": "sla", "strategy_config": {"x": 1}}},
            trainer={"max_steps": 2, "progress": "off"},
        )
    assert not (tmp_path / "bad").exists()


def test_a_failing_strategy_hook_marks_only_its_plugin(monkeypatch) -> None:
    from selfsup.plugins import PluginSet

    plugins = PluginSet(strict=False)
    plugins.load_builtins()
    plugins.register(_BrokenStrategyPlugin(), name="broken")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        registry = Registry(plugins)
    statuses = {status.name: status.status for status in plugins.list()}
    assert statuses["broken"] == "error" and statuses["selfsup-builtin"] == "ok"
    assert "sla" in {s.name for s in registry.list("strategies")}

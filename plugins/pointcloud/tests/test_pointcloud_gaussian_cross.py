"""The ``gaussian-cross`` objective: core conformance, gradients through every loss, learning, bad input."""

from __future__ import annotations

import pytest
import torch

from selfsup.engine.device import seed_everything
from selfsup.errors import ConfigError, DatasetError
from selfsup.testing import ObjectiveContract, PluginImportContract
from selfsup_pointcloud.configs import PointUNetConfig, ProceduralRoomsConfig
from selfsup_pointcloud.datasets.procedural import ProceduralRooms
from selfsup_pointcloud.encoders.unet import build_point_unet
from selfsup_pointcloud.objectives.gaussian_cross import GaussianCross, GaussianCrossConfig

DATA = {"train_scenes": 2, "val_scenes": 0, "test_scenes": 0, "room_size": [2.0, 2.5], "points_per_m2": 60.0,
        "furniture": [1, 2], "grid_size": 0.15, "views_per_scene": 3, "view_size": [12, 16]}
ENCODER = {"grid_size": 0.15, "channels": [8, 16], "decoder_channels": [8, 16]}
TINY = {"resolution": 8, "dense_channels": 8, "dense_layers": 1, "feature_dim": 4, "num_views": 2, "mask_cells": 2}


class TestGaussianCrossContract(ObjectiveContract):
    modality = "pointcloud"
    dataset = "procedural-rooms"
    dataset_config = DATA
    encoder = "point-unet"
    encoder_config = ENCODER
    objective = "gaussian-cross"
    objective_config = TINY


class TestPluginImportStaysLight(PluginImportContract):
    plugin_module = "selfsup_pointcloud.plugin"
    heavy_modules = ("torch", "torchvision", "open3d")


@pytest.fixture(scope="module")
def batch_and_info():
    data = ProceduralRooms(ProceduralRoomsConfig(**DATA))
    return data.collate([data.split("train")[i] for i in range(2)]), data.info


def _objective(info, **overrides) -> GaussianCross:
    torch.manual_seed(0)
    encoder = build_point_unet(PointUNetConfig(**ENCODER), info)
    return GaussianCross(GaussianCrossConfig(**{**TINY, **overrides}), encoder, info).train()


@pytest.mark.parametrize("term", ["color_weight", "depth_weight", "feature_weight"])
def test_every_loss_alone_reaches_the_encoder(batch_and_info, term) -> None:
    batch, info = batch_and_info
    weights = {"color_weight": 0.0, "depth_weight": 0.0, "feature_weight": 0.0, term: 1.0}
    if term != "feature_weight":
        weights["teacher"] = "none"
    objective = _objective(info, **weights)
    seed_everything(0)
    objective.training_step(batch, step=1, phase="main")["loss"].backward()
    grads = [p.grad for p in objective.encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_every_term_decreases_when_fitting_one_batch(batch_and_info) -> None:
    batch, info = batch_and_info
    objective = _objective(info)
    optimizer = torch.optim.Adam(objective.phases()[0].parameters, lr=1e-2)
    history = []
    for _ in range(30):
        seed_everything(0)  # the same mask and views every step
        out = objective.training_step(batch, step=1, phase="main")
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
        history.append({k: float(v.detach()) for k, v in out.items()})
    for key, factor in (("color_l1", 0.95), ("depth_l1", 0.8), ("feature_cos", 0.8), ("loss", 0.8)):
        assert history[-1][key] < factor * history[0][key], (key, history[0][key], history[-1][key])
    assert 0.0 < history[-1]["kept_fraction"] <= 1.0 and 0.2 < history[0]["visible_fraction"] < 0.9


def test_teacher_stays_frozen_in_train_mode(batch_and_info) -> None:
    batch, info = batch_and_info
    objective = _objective(info)
    before = {k: v.clone() for k, v in objective.teacher.state_dict().items()}
    objective.train()
    assert not objective.teacher.training
    objective.training_step(batch, step=1, phase="main")["loss"].backward()
    assert all(torch.equal(before[k], v) for k, v in objective.teacher.state_dict().items())
    trainable = {id(p) for p in objective.phases()[0].parameters}
    assert not any(id(p) in trainable for p in objective.teacher.parameters())


def test_without_distillation_the_feature_head_is_not_trained(batch_and_info) -> None:
    batch, info = batch_and_info
    objective = _objective(info, feature_weight=0.0, teacher="none")
    assert objective.teacher is None
    out = objective.training_step(batch, step=1, phase="main")
    assert "feature_cos" not in out and torch.isfinite(out["loss"])
    trainable = {id(p) for p in objective.phases()[0].parameters}
    assert not any(id(p) in trainable for p in objective.heads.feature.parameters())


def test_paper_lattice_anchors(batch_and_info) -> None:
    batch, info = batch_and_info
    objective = _objective(info, anchors="lattice")
    seed_everything(0)
    gaussians, _ = objective.gaussians(batch)
    assert gaussians.means.shape[0] == 2 * 8**3
    out = objective.training_step(batch, step=1, phase="main")
    out["loss"].backward()
    assert torch.isfinite(out["loss"]) and objective.encoder.stem[0].weight.grad is not None


def test_bad_input_raises_named_errors(batch_and_info) -> None:
    batch, info = batch_and_info
    no_views = {k: v for k, v in batch.items() if k not in ("image", "depth")}
    with pytest.raises(DatasetError, match="views_per_scene"):
        _objective(info).training_step(no_views, step=1, phase="main")
    with pytest.raises(ConfigError, match="needs a teacher"):
        _objective(info, teacher="none")
    with pytest.raises(ConfigError, match="mask_ratio"):
        _objective(info, mask_ratio=1.0)
    with pytest.raises(ConfigError, match="anchors"):
        _objective(info, anchors="grid")


def test_tiny_pretrain_end_to_end(tmp_path) -> None:
    """``pretrain`` with gaussian-cross: the engine's phases, logging and the saved encoder work."""
    from selfsup import load_encoder, pretrain

    result = pretrain(
        modality="pointcloud",
        objective="gaussian-cross",
        run_dir=tmp_path / "run",
        data=DATA,
        encoder_config=ENCODER,
        objective_config=TINY,
        evaluators=[],
        trainer={"max_steps": 3, "batch_size": 2, "progress": "off", "log_every": 1},
    )
    assert len(result.history) == 3
    assert {"loss", "color_l1", "depth_l1", "feature_cos", "kept_fraction"} <= set(result.history[-1])
    assert all(torch.isfinite(torch.tensor(row["loss"])) for row in result.history)
    assert load_encoder(tmp_path / "run").embed_dim == 8


@pytest.mark.slow
def test_gaussian_cross_pretraining_beats_random_init_on_linear_probe(tmp_path) -> None:
    """Quality on small generated rooms (20 steps, lr 0.005, colour + depth rendering only).

    Measured with this exact configuration over seeds 0/1/2 (2026-12-07, CPU): multires mIoU
    pretrained 0.453/0.426/0.467 vs random init 0.260/0.343/0.363, paired gains +0.192/+0.083/+0.104
    (mean 0.126, sample sd 0.058). The margin asked, 0.07, lies below the smallest gain and above the
    sd; the floor 0.40 lies below every pretrained score and above every random init.
    The random init varies more than the pretrained encoder. At lr 0.002 (the earlier setting) the
    gains were +0.183/+0.098/+0.065 (sd 0.061, above the smallest gain), at 40 steps
    +0.191/+0.085/+0.060; the ``last`` feature set gains +0.162/+0.019/+0.116 at lr 0.005, so it is
    not asserted."""
    from selfsup import pretrain

    result = pretrain(
        modality="pointcloud",
        objective="gaussian-cross",
        run_dir=tmp_path / "run",
        seed=0,
        data={"train_scenes": 6, "val_scenes": 1, "test_scenes": 2, "points_per_m2": 100, "grid_size": 0.15,
              "views_per_scene": 3, "view_size": [18, 24]},
        encoder_config={"grid_size": 0.15, "channels": [16, 32, 32], "decoder_channels": [16, 16, 32]},
        objective_config={"resolution": 10, "feature_weight": 0.0, "teacher": "none", "dense_channels": 16},
        trainer={"max_steps": 20, "progress": "off", "log_every": 10, "batch_size": 2, "lr": 0.005},
        evaluators=["seg-linear-probe"],
        evaluator_config={"seg-linear-probe": {"max_train_points": 3000, "l2_grid": [1e-2], "max_iter": 50}},
    )
    pretrained = result.metrics["seg-linear-probe/miou_multires"]
    baseline = result.random_init_metrics["seg-linear-probe/miou_multires"]
    assert pretrained > 0.40, pretrained
    assert pretrained > baseline + 0.07, (pretrained, baseline)


def test_gaussian_cross_gets_posed_views_from_its_own_data_defaults(tmp_path):
    """`modality=pointcloud objective=gaussian-cross` needs no data key (it used to fail on view-less rooms)."""
    from selfsup import pretrain
    from selfsup.config import resolve
    from selfsup.registry import get_registry

    resolved = resolve({"modality": "pointcloud", "objective": "gaussian-cross"}, get_registry())
    assert resolved.dataset.name == "procedural-rooms" and resolved.config.data.views_per_scene == 4
    assert resolve({"modality": "pointcloud"}, get_registry()).config.data.views_per_scene == 0  # msm: unchanged
    mine = resolve({"modality": "pointcloud", "objective": "gaussian-cross", "data": {"views_per_scene": 2}}, get_registry())
    assert mine.config.data.views_per_scene == 2  # the user's value wins
    data = {key: value for key, value in DATA.items() if key != "views_per_scene"}
    result = pretrain(
        modality="pointcloud", objective="gaussian-cross", run_dir=tmp_path / "run", evaluators=[], data=data,
        encoder_config=ENCODER, objective_config=TINY, trainer={"max_steps": 1, "batch_size": 2, "progress": "off"},
    )
    assert len(result.history) == 1 and result.config["data"]["views_per_scene"] == 4


def test_a_module_factory_teacher_in_a_config_file_or_on_the_command_line_is_refused(tmp_path, capsys, monkeypatch):
    from selfsup.cli import main

    monkeypatch.delenv("SELFSUP_ALLOWED_FACTORIES", raising=False)
    config = tmp_path / "shared.yaml"
    config.write_text("modality: pointcloud\nobjective: gaussian-cross\nobjective_config:\n  teacher: os:getpid\n")
    small = ["evaluators=[]", "trainer.max_steps=1", "data.train_scenes=2", "data.val_scenes=0", "data.test_scenes=0",
             "data.view_size=[12,16]", "encoder_config.channels=[8,16]", "encoder_config.decoder_channels=[8,16]"]
    assert main(["pretrain", "--config", str(config), f"run_dir={tmp_path / 'a'}", *small]) == 2
    err = capsys.readouterr().err
    assert "objective_config.teacher='os:getpid' names a Python callable" in err and "Traceback" not in err
    assert main(["pretrain", "modality=pointcloud", "objective=gaussian-cross", "objective_config.teacher=os:getpid",
                 f"run_dir={tmp_path / 'b'}", *small]) == 2
    assert "SELFSUP_ALLOWED_FACTORIES=os:getpid" in capsys.readouterr().err
    assert not (tmp_path / "b" / "log.jsonl").exists()

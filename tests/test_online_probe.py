"""The online linear probe (``trainer.online_probe``): it learns, it leaves training alone, it
resumes exactly, and it refuses data it cannot probe before training."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from selfsup.config import TrainerConfig
from selfsup.engine.online_probe import OnlineProbe
from selfsup.engine.trainer import Trainer
from selfsup.errors import ConfigError, DatasetError

pytestmark = pytest.mark.usefixtures("torch_single_thread")

CPU = torch.device("cpu")


class _NormEncoder(nn.Module):
    """An encoder with BatchNorm statistics and dropout: a forward in train mode would move the
    statistics and draw random numbers."""

    def __init__(self, num_features: int, embed_dim: int = 4) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.net = nn.Sequential(nn.Linear(num_features, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, embed_dim))

    def forward(self, batch: dict) -> torch.Tensor:
        return self.net(batch["x"])


def _toy(**blobs):
    import selfsup_toy

    data = selfsup_toy.Blobs(selfsup_toy.BlobsConfig(**blobs))
    torch.manual_seed(0)
    encoder = _NormEncoder(data.info["num_features"])
    return data, selfsup_toy.Denoise(selfsup_toy.DenoiseConfig(), encoder, data.info)


def _log(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


def test_the_probe_learns_the_classes_and_logs_every_step(tmp_path, toy) -> None:
    data, objective = _toy(num_samples=400)
    config = TrainerConfig(max_steps=200, batch_size=32, log_every=50, online_probe=True)
    Trainer(config, run_dir=tmp_path, seed=0).fit(objective, data)
    lines = _log(tmp_path)
    assert [line["step"] for line in lines] == list(range(1, 201))
    accuracy = [line["online_probe/accuracy"] for line in lines]
    loss = [line["online_probe/loss"] for line in lines]
    # 3 blobs, linearly separable in the encoder's features (logistic regression: 0.96 after
    # training); measured: 0.70 over the first 10 steps, 0.96 over the last 20
    assert sum(accuracy[:10]) / 10 < 0.8
    assert sum(accuracy[-20:]) / 20 > 0.9
    assert sum(loss[-20:]) / 20 < 0.5 * sum(loss[:10]) / 10


def test_the_probe_leaves_the_training_trajectory_and_the_encoder_alone(toy) -> None:
    def train(online_probe: bool):
        data, objective = _toy()
        Trainer(TrainerConfig(max_steps=6, batch_size=32, online_probe=online_probe), seed=0).fit(objective, data)
        return objective.state_dict()  # weights and BatchNorm statistics

    with_probe, without = train(True), train(False)
    assert with_probe.keys() == without.keys()
    for key in without:
        assert torch.equal(with_probe[key], without[key]), key


def test_an_update_reads_detached_eval_mode_features_and_weights_only_labelled_rows() -> None:
    import copy

    torch.manual_seed(0)
    encoder = _NormEncoder(3).train()
    batch = {"x": torch.randn(6, 3), "label": torch.tensor([0, 1, -1, 1, 0, 1]),
             "eval_mask": torch.tensor([True, True, True, True, True, False])}
    probe = OnlineProbe(4, 2, lr=0.1, device=CPU, dtype=torch.float32)
    with torch.no_grad():
        features = copy.deepcopy(encoder).eval()(batch)  # eval mode: running statistics, no dropout
        logits = copy.deepcopy(probe.head).train()(features)  # the head's BatchNorm sees every row
    kept = [0, 1, 3, 4]  # label -1 is unlabelled, row 5 is masked out
    labels = batch["label"][kept]
    expected_loss = nn.functional.cross_entropy(logits[kept], labels)
    expected_accuracy = (logits[kept].argmax(1) == labels).float().mean()
    out = probe.update(encoder, batch)
    assert out["online_probe/loss"].item() == pytest.approx(expected_loss.item(), rel=1e-6)
    assert out["online_probe/accuracy"].item() == pytest.approx(expected_accuracy.item())
    assert encoder.training and all(m.training for m in encoder.modules())  # its own flags restored
    assert all(p.grad is None for p in encoder.parameters())  # no gradient reaches the encoder
    assert probe.head[1].weight.grad is not None  # the head took its step


def test_a_resumed_run_continues_the_same_probe(tmp_path, toy) -> None:
    def config(steps: int, **extra) -> TrainerConfig:
        return TrainerConfig(max_steps=steps, batch_size=32, schedule="constant", warmup_steps=0, log_every=1,
                             online_probe=True, online_probe_lr=1e-2, **extra)

    data, objective = _toy()
    Trainer(config(8), run_dir=tmp_path / "straight", seed=0).fit(objective, data)
    data, objective = _toy()
    Trainer(config(4), run_dir=tmp_path / "resumed", seed=0).fit(objective, data)
    data, objective = _toy()
    trainer = Trainer(config(8, resume=True), run_dir=tmp_path / "resumed", seed=0)
    trainer.fit(objective, data)
    straight, resumed = _log(tmp_path / "straight"), _log(tmp_path / "resumed")
    assert [line["step"] for line in resumed] == list(range(1, 9))
    for a, b in zip(straight, resumed, strict=True):
        assert a["online_probe/loss"] == pytest.approx(b["online_probe/loss"], rel=1e-5), a["step"]
    checkpoint = torch.load(trainer.last_checkpoint, weights_only=True)
    assert set(checkpoint["online_probe"]) == {"head", "optimizer"}


@pytest.mark.parametrize(
    ("info", "message"),
    [
        ({"num_features": 8, "task": "regression"}, r"online_probe=true needs class labels.*regression"),
        ({"num_features": 8}, r"online_probe=true needs class labels.*declares no class labels"),
    ],
)
def test_data_without_class_labels_is_refused_before_training(tmp_path, toy, info, message) -> None:
    data, objective = _toy()
    data.info = info
    with pytest.raises(ConfigError, match=message):
        Trainer(TrainerConfig(max_steps=3, batch_size=32, online_probe=True), run_dir=tmp_path, seed=0).fit(objective, data)
    assert not (tmp_path / "log.jsonl").exists()


def test_an_unlabelled_training_split_and_a_bad_lr_are_refused_before_training(tmp_path, toy, make_eval_source) -> None:
    data = make_eval_source({"train": (torch.randn(40, 8), None)}, info={"num_classes": 3})
    _, objective = _toy()
    with pytest.raises(DatasetError, match=r"training batches of dataset .* have no 'label'"):
        Trainer(TrainerConfig(max_steps=3, batch_size=8, online_probe=True), run_dir=tmp_path, seed=0).fit(objective, data)
    data, objective = _toy()
    with pytest.raises(ConfigError, match=r"trainer.online_probe_lr=0.0 must be > 0"):
        Trainer(TrainerConfig(max_steps=3, batch_size=32, online_probe=True, online_probe_lr=0.0), seed=0).fit(objective, data)
    assert not (tmp_path / "log.jsonl").exists()


def test_pretrain_takes_the_key_from_the_command_line(tmp_path, toy) -> None:
    from selfsup.cli import main

    run_dir = tmp_path / "run"
    status = main(["pretrain", "modality=toy", "trainer.max_steps=3", "trainer.batch_size=32", "trainer.online_probe=true",
                   "trainer.progress=off", "evaluators=[]", f"run_dir={run_dir}"])
    assert status == 0
    assert all("online_probe/accuracy" in line for line in _log(run_dir))

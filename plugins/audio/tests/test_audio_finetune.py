"""The core's ``fine-tune`` evaluator on the SSAST encoder: end to end through ``pretrain`` on FSDD,
and end-to-end training of the AST beating a head trained on frozen features."""

from __future__ import annotations

import json
import math

import torch

from selfsup import load_encoder, pretrain
from selfsup.evaluation.fine_tune import FineTune, FineTuneConfig
from selfsup_audio.configs import ASTConfig, SyntheticSoundsConfig
from selfsup_audio.datasets.synthetic import SyntheticSounds
from selfsup_audio.encoders.ast import build_ast

from selfsup_audio_fixtures import DATA, needs_fsdd

TINY_AST = {"embed_dim": 32, "depth": 1, "num_heads": 2}


@needs_fsdd
def test_fine_tune_runs_on_fsdd_beside_the_random_init_encoder(tmp_path):
    result = pretrain(
        modality="audio", dataset="fsdd", run_dir=tmp_path / "run", evaluators=["fine-tune"],
        data={"root": str(DATA / "fsdd"), "max_clips": 160, "target_length": 64, "split": "speaker"},
        encoder_config=TINY_AST,
        evaluator_config={"fine-tune": {"epochs": 2, "batch_size": 32, "lr": 1e-3, "head_lr": 1e-2}},
        trainer={"max_steps": 2, "batch_size": 16, "progress": "off"},
    )
    for metrics in (result.metrics, result.random_init_metrics):
        assert set(metrics) == {"fine-tune/accuracy", "fine-tune/macro_f1", "fine-tune/best_epoch"}
        assert 0.0 <= metrics["fine-tune/accuracy"] <= 1.0 and metrics["fine-tune/best_epoch"] in (1.0, 2.0)
        assert all(math.isfinite(v) for v in metrics.values())
    recorded = json.loads((tmp_path / "run" / "metrics.json").read_text())["evaluations"]["fine-tune"]
    assert recorded["pretrained"]["accuracy"] == result.metrics["fine-tune/accuracy"]
    # Fine-tuning trains a copy: the saved pretrained encoder is the one the run returned.
    saved = load_encoder(tmp_path / "run").state_dict()
    assert all(torch.equal(saved[k], v) for k, v in result.encoder.state_dict().items())


def test_end_to_end_fine_tuning_beats_a_head_on_frozen_features():
    # the earlier default data (tones, 128 x 128): an end-to-end fine-tune of a random-init encoder
    # must beat a head on its frozen features there; on the contours preset 12 clips a class are too few
    data = SyntheticSounds(SyntheticSoundsConfig(preset="tones", num_mel_bins=128, target_length=128,
                                                 train_per_class=12, val_per_class=3, test_per_class=6, seed=0))
    torch.manual_seed(0)
    encoder = build_ast(ASTConfig(**TINY_AST), data.info)
    before = {k: v.clone() for k, v in encoder.state_dict().items()}

    def accuracy(encoder_lr: float) -> float:
        config = FineTuneConfig(epochs=6, batch_size=16, lr=encoder_lr, head_lr=1e-2, patience=6)
        return FineTune(config).evaluate(encoder, data, device=torch.device("cpu"), seed=0)["accuracy"]

    end_to_end, head_only = accuracy(3e-3), accuracy(1e-9)  # lr 1e-9: the encoder stays as initialised
    chance = 1 / data.info["num_classes"]
    assert end_to_end >= head_only + 0.1, (end_to_end, head_only)
    assert end_to_end >= 2 * chance
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())

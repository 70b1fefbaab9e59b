"""End to end: a tiny ``pretrain`` on the embedded dataset, and the CLI listing."""

from __future__ import annotations

import math

from selfsup import load_encoder, pretrain
from selfsup.registry import get_registry


def test_modality_defaults():
    registry = get_registry()
    modality = registry.get("modality", "audio")
    assert modality.default_evaluators == ("linear-probe", "knn", "fine-tune")  # SSAST's protocol is fine-tuning
    assert modality.default_encoder == "ast" and modality.default_objective == "ssast"
    assert modality.default_dataset == "synthetic-sounds"


def test_tiny_pretrain_on_the_embedded_dataset(tmp_path):
    result = pretrain(
        modality="audio",
        run_dir=tmp_path / "run",
        data={"train_per_class": 8, "val_per_class": 2, "test_per_class": 4},
        encoder_config={"embed_dim": 32, "depth": 1, "num_heads": 2},
        trainer={"max_steps": 4, "batch_size": 16, "progress": "off", "log_every": 1},
    )
    assert set(result.metrics) >= {"linear-probe/accuracy", "knn/accuracy"}
    assert all(math.isfinite(v) for v in result.metrics.values())
    assert {"loss", "nce", "mse", "pretext_accuracy"} <= set(result.history[-1])
    encoder = load_encoder(tmp_path / "run")
    assert encoder.embed_dim == 32

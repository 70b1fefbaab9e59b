"""The fixed small config of every objective that ``speed.py`` times, and its CUDA sizes.

Data only; ``speed.py`` documents how they are used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SMALL_CONFIGS", "CUDA_CONFIGS"]

#: The fixed small config of each known objective: the choices and config keys passed to
#: ``selfsup.config.resolve`` on top of the modality defaults (the trainer's device,
#: precision, steps and progress are set by the harness). ``data_dir`` names a folder
#: under ``--data-dir`` that becomes ``data.root`` (a dataset that needs files).
#: Objectives not listed here run with their modality's defaults and ``speed.DEFAULT_BATCH``.
SMALL_CONFIGS: dict[str, dict[str, Any]] = {
    "ts-simclr": {"dataset": "synthetic-sines", "data": {"train_size": 512, "val_size": 16, "test_size": 16},
                  "trainer": {"batch_size": 128}},
    "t-jepa": {"dataset": "adult-sample", "encoder": "ft-transformer", "trainer": {"batch_size": 256}},
    "clan": {"dataset": "synthetic-traffic", "encoder": "residual-mlp",
             "data": {"num_benign": 1200, "num_attack": 300}, "trainer": {"batch_size": 256}},
    "ssast": {"dataset": "synthetic-sounds", "encoder": "ast", "encoder_config": {"size": "cpu"},
              "data": {"train_per_class": 6, "val_per_class": 1, "test_per_class": 1}, "trainer": {"batch_size": 16}},
    # batch 4: the chunked PyTorch selective scan takes ~1 s per clip per step on one CPU thread
    "ssamba": {"dataset": "synthetic-sounds", "encoder": "amba", "encoder_config": {"size": "cpu"},
               "data": {"train_per_class": 6, "val_per_class": 1, "test_per_class": 1}, "trainer": {"batch_size": 4}},
    # pretrain_steps=0: the measured steps are the clustering steps (k-means runs once, at step 1, in warm-up)
    "scgc": {"dataset": "sbm", "encoder": "mlp", "objective_config": {"pretrain_steps": 0, "kmeans_n_init": 2}},
    "scgc-star": {"dataset": "sbm", "encoder": "mlp", "objective_config": {"pretrain_steps": 0, "kmeans_n_init": 2}},
    "d-sla": {"dataset": "mutag", "data_dir": "mutag", "encoder": "gin", "encoder_config": {"num_layers": 3, "hidden_dim": 64},
              "trainer": {"batch_size": 32}},
    "msm": {"dataset": "procedural-rooms", "encoder": "point-unet",
            "data": {"train_scenes": 4, "val_scenes": 1, "test_scenes": 1, "points_per_m2": 150.0},
            "trainer": {"batch_size": 2}},
    # the resnet18 teacher is randomly initialised (no weights file): the same cost as a pretrained one
    "gaussian-cross": {"dataset": "procedural-rooms", "encoder": "point-unet",
                       "data": {"train_scenes": 4, "val_scenes": 1, "test_scenes": 1, "points_per_m2": 150.0,
                                "views_per_scene": 2, "view_size": [30, 40]},
                       "objective_config": {"resolution": 12}, "trainer": {"batch_size": 2}},
    "augself-gan": {"dataset": "digits", "encoder": "biggan-d", "objective_config": {"sample_every": 0},
                    "trainer": {"batch_size": 32}},
    "augself-gan-plus": {"dataset": "digits", "encoder": "biggan-d", "objective_config": {"sample_every": 0},
                         "trainer": {"batch_size": 32}},
    "diffaugment": {"dataset": "digits", "encoder": "biggan-d", "objective_config": {"sample_every": 0},
                    "trainer": {"batch_size": 32}},
}
#: On CUDA, the audio transformers at the size the issue's MFU goal names (SSAST-base) and
#: batches that occupy a GPU; merged over ``SMALL_CONFIGS``.
CUDA_CONFIGS: dict[str, dict[str, Any]] = {
    "ssast": {"encoder_config": {"size": "base"}, "trainer": {"batch_size": 32}},
    "ssamba": {"encoder_config": {"size": "base"}, "trainer": {"batch_size": 32}},
    "t-jepa": {"trainer": {"batch_size": 512}},
}

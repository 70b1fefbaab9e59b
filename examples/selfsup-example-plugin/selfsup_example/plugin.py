"""The entry-point target: only ``@hookimpl`` functions returning specs.

selfsup imports this module when it loads plugins (``selfsup list``,
``pretrain``...), so it imports nothing heavy: the factories are lazy
``"module:attribute"`` strings, imported only when a run builds them, and the
configs come from the torch-free ``configs`` module.
"""

from __future__ import annotations

from selfsup import CommandSpec, DatasetSpec, EncoderSpec, ModalitySpec, ObjectiveSpec, hookimpl

from .configs import Conv1dConfig, SinesConfig, TSSimCLRConfig


@hookimpl
def register_modalities() -> list[ModalitySpec]:
    return [
        ModalitySpec(
            name="example-series",
            description="Fixed-length multichannel time series [rows, channels, length].",
            default_encoder="conv1d",
            default_objective="ts-simclr",
            default_dataset="synthetic-sines",
            default_evaluators=("linear-probe", "knn"),
            overrides={"trainer": {"max_steps": 300, "batch_size": 128}},
        )
    ]


@hookimpl
def register_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name="synthetic-sines",
            modality="example-series",
            factory="selfsup_example.data:SyntheticSines",
            config_cls=SinesConfig,
            description="Seeded noisy sinusoids; the class is the base frequency (train/val/test).",
        )
    ]


@hookimpl
def register_encoders() -> list[EncoderSpec]:
    return [
        EncoderSpec(
            name="conv1d",
            modality="example-series",
            factory="selfsup_example.encoder:Conv1dEncoder",
            config_cls=Conv1dConfig,
            description="Strided 1-D conv blocks, GroupNorm, global average pooling.",
        )
    ]


@hookimpl
def register_objectives() -> list[ObjectiveSpec]:
    return [
        ObjectiveSpec(
            name="ts-simclr",
            modalities=frozenset({"example-series"}),
            factory="selfsup_example.objective:TSSimCLR",
            config_cls=TSSimCLRConfig,
            description="SimCLR for time series: NT-Xent over jittered, scaled, time-shifted views.",
            trainer_defaults={"lr": 2e-3, "weight_decay": 1e-4},
        )
    ]


@hookimpl
def register_commands() -> list[CommandSpec]:
    # ``selfsup sines-summary``: the factory is imported only when the command runs.
    return [
        CommandSpec(
            name="sines-summary",
            description="rows per class of each synthetic-sines split",
            factory="selfsup_example.commands:summary",
        )
    ]

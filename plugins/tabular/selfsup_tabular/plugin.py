"""The tabular plugin's entry point: hook implementations returning specs, nothing else.

Factories are lazy ``"module:attribute"`` paths and every config lives in the torch-free
:mod:`selfsup_tabular.configs` (or :mod:`selfsup_tabular.datasets.configs`), so registering
imports neither torch nor pandas.
"""

from __future__ import annotations

from selfsup import DatasetSpec, EncoderSpec, EvaluatorSpec, ModalitySpec, ObjectiveSpec, hookimpl

from .datasets.configs import AdultConfig, AdultSampleConfig, CSVTableConfig, SyntheticTrafficConfig
from .configs import (
    CentroidAnomalyConfig,
    CLANConfig,
    FTTransformerConfig,
    RawMLPBaselineConfig,
    ResidualMLPConfig,
    TJEPAConfig,
)

__all__ = [
    "register_modalities",
    "register_encoders",
    "register_objectives",
    "register_evaluators",
    "register_datasets",
]

TABULAR = frozenset({"tabular"})
#: Every tabular dataset's "raw rows -> batch" transform (``selfsup embed`` / ``export``).
TABLE_INPUTS = "selfsup_tabular.datasets.inputs:table_inputs"

#: T-JEPA's optimisation (jose-melo/t-jepa: scripts/launch_tjepa.sh, src/configs.py): AdamW, wd 0,
#: warm-up 10 of 300 epochs then cosine; the context encoder's gradients are clamped at 1.0 by the
#: objective (``objective_config.encoder_grad_clip_value``), the predictor's are not. The batch and the
#: budget are sized for a CPU (the paper: batch 512, 300 epochs with early stopping); on Adult,
#: 20 epochs gave no linear-probe gain over the random-init encoder and 60 did (benchmarks/tabular.md).
TJEPA_TRAINER_DEFAULTS = {
    "optimizer": "adamw",
    "lr": 3.66e-4,
    "weight_decay": 0.0,
    "warmup_fraction": 0.033,
    "batch_size": 512,
    "max_epochs": 60,
    # one CPU thread: the model's matrices are too small to gain from a second one, and two threads
    # ran 2-3x slower per step on a shared 2-core machine (benchmarks/tabular.md, 2026-11-28)
    "threads": 1,
}
#: CLAN's optimisation (jackwilkie/CLAN: train_clan.py): AdamW betas (0.9, 0.999), wd 0, lr 1e-4 after a
#: 10 % warm-up, cosine down to 1e-6 (min_lr_ratio 0.01). Batch 8192 and 200 epochs in the paper.
CLAN_TRAINER_DEFAULTS = {
    "optimizer": "adamw",
    "lr": 1e-4,
    "weight_decay": 0.0,
    "warmup_fraction": 0.1,
    "min_lr_ratio": 0.01,
    "batch_size": 1024,
    "max_epochs": 50,
}


@hookimpl
def register_modalities() -> list[ModalitySpec]:
    return [
        ModalitySpec(
            name="tabular",
            sample_unit="rows",
            description="Tables of numerical and categorical columns.",
            default_encoder="ft-transformer",
            default_objective="t-jepa",
            default_dataset="adult-sample",
            # every table is a RawFeatureSource: the results' "raw features" column is the
            # probes on numerical + one-hot columns (mlp-probe's is raw-mlp-baseline's number)
            default_evaluators=("linear-probe", "mlp-probe"),
        )
    ]


@hookimpl
def register_encoders() -> list[EncoderSpec]:
    return [
        EncoderSpec(
            name="ft-transformer",
            modality="tabular",
            factory="selfsup_tabular.encoders.ft_transformer:build_ft_transformer",
            config_cls=FTTransformerConfig,
            description="Feature tokenizer + transformer (FT-Transformer / T-JEPA encoder).",
        ),
        EncoderSpec(
            name="residual-mlp",
            modality="tabular",
            factory="selfsup_tabular.encoders.residual_mlp:build_residual_mlp",
            config_cls=ResidualMLPConfig,
            description="Residual MLP (the CLAN paper's encoder).",
        ),
    ]


@hookimpl
def register_objectives() -> list[ObjectiveSpec]:
    return [
        ObjectiveSpec(
            name="t-jepa",
            modalities=TABULAR,
            factory="selfsup_tabular.objectives.t_jepa:TJEPA",
            config_cls=TJEPAConfig,
            description="T-JEPA (Thimonier et al., ICLR 2025): predict EMA-target latents of masked feature subsets.",
            encoders=("ft-transformer",),  # masks individual feature tokens
            trainer_defaults=TJEPA_TRAINER_DEFAULTS,
        ),
        ObjectiveSpec(
            name="clan",
            modalities=TABULAR,
            factory="selfsup_tabular.objectives.clan:CLAN",
            config_cls=CLANConfig,
            description="CLAN (Wilkie et al., 2025): benign samples as positives, augmented ones as negatives.",
            trainer_defaults=CLAN_TRAINER_DEFAULTS,
        ),
    ]


@hookimpl
def register_evaluators() -> list[EvaluatorSpec]:
    return [
        EvaluatorSpec(
            name="centroid-anomaly",
            modalities=TABULAR,
            factory="selfsup_tabular.evaluation.anomaly:CentroidAnomaly",
            tasks=frozenset({"binary", "multiclass"}),
            config_cls=CentroidAnomalyConfig,
            description="ROC-AUC of the cosine distance to the benign-train centroid (CLAN's anomaly score).",
        ),
        EvaluatorSpec(
            name="raw-mlp-baseline",
            modalities=TABULAR,
            factory="selfsup_tabular.evaluation.raw_baseline:RawMLPBaseline",
            tasks=frozenset({"binary", "multiclass"}),
            config_cls=RawMLPBaselineConfig,
            description="The MLP probe trained on raw features (numerical + one-hot), ignoring the encoder.",
        ),
    ]


@hookimpl
def register_datasets() -> list[DatasetSpec]:
    return [
        DatasetSpec(
            name="adult-sample",
            modality="tabular",
            input_transform=TABLE_INPUTS,
            factory="selfsup_tabular.datasets.adult:AdultSample",
            config_cls=AdultSampleConfig,
            description="Embedded stratified sample of UCI Adult (CC BY 4.0); needs no files.",
        ),
        DatasetSpec(
            name="adult",
            modality="tabular",
            input_transform=TABLE_INPUTS,
            factory="selfsup_tabular.datasets.adult:Adult",
            config_cls=AdultConfig,
            description="UCI Adult from adult.data / adult.test in data.root (official test split).",
        ),
        DatasetSpec(
            name="csv",
            modality="tabular",
            input_transform=TABLE_INPUTS,
            factory="selfsup_tabular.datasets.csv_table:CSVTable",
            config_cls=CSVTableConfig,
            description="Any CSV/TSV/Parquet table with a target column; schema inferred.",
        ),
        DatasetSpec(
            name="synthetic-traffic",
            modality="tabular",
            input_transform=TABLE_INPUTS,
            factory="selfsup_tabular.datasets.synthetic:SyntheticTraffic",
            config_cls=SyntheticTrafficConfig,
            description="Generated network-traffic-like data: benign-only train, benign + attacks in test.",
        ),
    ]

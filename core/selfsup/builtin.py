"""The core's built-in plugin: the evaluators every modality can use, and the loggers
(TensorBoard, MLflow, W&B; ``selfsup.loggers.plugin``).

Registered through the same hooks as any third-party plugin.
"""

from __future__ import annotations

from .evaluation.configs import (
    ClusteringConfig,
    EmbeddingStatsConfig,
    FineTuneConfig,
    KNNConfig,
    LinearProbeConfig,
    MLPProbeConfig,
    RegressionProbeConfig,
)
from .evaluation.fine_tune_strategies.configs import CoreTuningConfig, CrossEntropyConfig, SLAConfig, SLASDConfig
from .hookspecs import hookimpl
from .procedures.configs import LLSConfig, SelfTrainConfig
from .loggers.plugin import register_loggers
from .specs import EvaluatorSpec, FineTuneStrategySpec

#: Task types of the class-index evaluators.
CLASSIFICATION = frozenset({"binary", "multiclass"})

__all__ = ["register_evaluators", "register_loggers", "register_fine_tune_strategies"]


@hookimpl
def register_evaluators() -> list[EvaluatorSpec]:
    return [
        EvaluatorSpec(
            name="linear-probe",
            factory="selfsup.evaluation.linear_probe:LinearProbe",
            tasks=CLASSIFICATION | {"multilabel"},
            config_cls=LinearProbeConfig,
            description="Logistic regression on frozen features (per-task masked ROC-AUC for multi-task labels); L2 chosen on validation.",
        ),
        EvaluatorSpec(
            name="knn",
            factory="selfsup.evaluation.knn:KNN",
            tasks=CLASSIFICATION,
            config_cls=KNNConfig,
            description="Weighted k-nearest-neighbour classifier on cosine similarity.",
        ),
        EvaluatorSpec(
            name="clustering",
            factory="selfsup.evaluation.clustering:Clustering",
            tasks=CLASSIFICATION,
            config_cls=ClusteringConfig,
            description="k-means on features: ACC (Hungarian), NMI, ARI, macro-F1.",
        ),
        EvaluatorSpec(
            name="regression-probe",
            factory="selfsup.evaluation.regression_probe:RegressionProbe",
            tasks=frozenset({"regression"}),
            config_cls=RegressionProbeConfig,
            description="Ridge regression on frozen features; R², RMSE and MAE.",
        ),
        EvaluatorSpec(
            name="mlp-probe",
            factory="selfsup.evaluation.mlp_probe:MLPProbe",
            tasks=CLASSIFICATION,
            config_cls=MLPProbeConfig,
            description="MLP classifier on frozen features, early-stopped on validation accuracy.",
        ),
        EvaluatorSpec(
            name="embedding-stats",
            factory="selfsup.evaluation.embedding_stats:EmbeddingStats",
            config_cls=EmbeddingStatsConfig,
            description="Collapse diagnostics: embedding std, effective rank, RankMe.",
        ),
        EvaluatorSpec(
            name="fine-tune",
            factory="selfsup.evaluation.fine_tune:FineTune",
            tasks=CLASSIFICATION | {"multilabel", "regression"},
            config_cls=FineTuneConfig,
            description="Fine-tunes a copy of the encoder with a linear head; accuracy, masked ROC-AUC or RMSE/MAE/R² by task.",
        ),
        EvaluatorSpec(
            name="self-train",
            factory="selfsup.procedures.self_train:SelfTrain",
            tasks=CLASSIFICATION,
            config_cls=SelfTrainConfig,
            description="Self-training with few labels (labels.fraction): pseudo-label rounds, mean teacher or FST-D/W; per-round accuracy beside supervised-only.",
        ),
        EvaluatorSpec(
            name="lls",
            factory="selfsup.procedures.lls_eval:LatentLabelShift",
            tasks=CLASSIFICATION,
            config_cls=LLSConfig,
            description="Latent label shift (DDFA): domains with shifted label proportions, domain discriminator, NMF; Hungarian accuracy vs k-means.",
        ),
    ]


@hookimpl
def register_fine_tune_strategies() -> list[FineTuneStrategySpec]:
    return [
        FineTuneStrategySpec(
            name="cross-entropy",
            factory="selfsup.evaluation.fine_tune_strategy:CrossEntropy",
            config_cls=CrossEntropyConfig,
            description="Plain fine-tuning: a linear head and the task's loss (cross-entropy, masked BCE or MSE). The default.",
        ),
        FineTuneStrategySpec(
            name="sla",
            factory="selfsup.evaluation.fine_tune_strategies.sla:SLA",
            config_cls=SLAConfig,
            description="SLA (Lee et al. 2020): joint rotation x class labels, scores aggregated over rotations; images only.",
        ),
        FineTuneStrategySpec(
            name="sla-sd",
            factory="selfsup.evaluation.fine_tune_strategies.sla:SLA",
            config_cls=SLASDConfig,
            description="SLA+SD: SLA plus a single head distilled from the aggregated scores (one forward pass at test time); images only.",
        ),
        FineTuneStrategySpec(
            name="core-tuning",
            factory="selfsup.evaluation.fine_tune_strategies.core_tuning:CoreTuning",
            config_cls=CoreTuningConfig,
            description="Core-tuning (Zhang et al. 2021): CE + focal SupCon on mixed hard positives/negatives of the embeddings.",
        ),
    ]

"""The config dataclasses of the core evaluators (torch-free, so registering them is cheap).

Each config validates itself on construction and raises
:class:`selfsup.errors.ConfigError` naming the bad field and a valid example.
Sequence fields accept lists (as OmegaConf produces) and are stored as tuples.
The protocols behind the fields are documented in each evaluator's module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

__all__ = [
    "LinearProbeConfig",
    "KNNConfig",
    "ClusteringConfig",
    "RegressionProbeConfig",
    "MLPProbeConfig",
    "EmbeddingStatsConfig",
    "FineTuneConfig",
    "FINE_TUNE_TASKS",
    "KNN_WEIGHTINGS",
    "CLUSTERING_NORMALIZATIONS",
    "check_positive",
    "check_fraction",
    "check_grid",
    "check_mlp_settings",
]

#: Allowed ``KNNConfig.weighting`` values.
KNN_WEIGHTINGS = ("exp", "uniform")
#: Allowed ``FineTuneConfig.task`` values.
FINE_TUNE_TASKS = ("auto", "classification", "binary", "regression")
#: Allowed ``ClusteringConfig.normalize`` values.
CLUSTERING_NORMALIZATIONS = ("l2", "standardize", "none")


# --------------------------------------------------------------------------- checks


def check_positive(value: Any, name: str, owner: str, example: str, *, allow_zero: bool = False) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a number ``> 0`` (or ``>= 0``)."""
    try:
        ok = value >= 0 if allow_zero else value > 0
    except TypeError:
        ok = False
    if isinstance(value, bool) or not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{owner}: {name} must be a number {bound}, got {value!r}. Use e.g. {name}={example}.")


def check_fraction(value: Any, name: str, owner: str, example: str) -> None:
    """Raise :class:`ConfigError` unless ``0 < value < 1``."""
    try:
        ok = 0.0 < value < 1.0
    except TypeError:
        ok = False
    if not ok:
        raise ConfigError(f"{owner}: {name} must be in (0, 1), got {value!r}. Use e.g. {name}={example}.")


def check_grid(values: Iterable[Any] | float, name: str, owner: str, example: str) -> tuple[float, ...]:
    """Coerce a grid (number, list, tuple, OmegaConf list) to a non-empty tuple of finite floats ``>= 0``."""
    items: Iterable[Any] = (values,) if isinstance(values, (int, float)) else values
    try:
        grid = tuple(float(v) for v in items)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{owner}: {name} must be a list of numbers, got {values!r}. Use e.g. {name}={example}."
        ) from exc
    if not grid or any(not (0.0 <= v < float("inf")) for v in grid):
        raise ConfigError(
            f"{owner}: {name} must be a non-empty list of finite numbers >= 0, got {list(grid)}. "
            f"Use e.g. {name}={example}."
        )
    return grid


def check_mlp_settings(
    owner: str,
    hidden: Sequence[int],
    dropout: float,
    lr: float,
    weight_decay: float,
    epochs: int,
    batch_size: int,
    patience: int,
) -> None:
    """Validate the hyper-parameters of the MLP probe."""
    for width in hidden:
        check_positive(width, "hidden", owner, "[256, 256]")
    try:
        ok = 0.0 <= dropout < 1.0
    except TypeError:
        ok = False
    if not ok:
        raise ConfigError(f"{owner}: dropout must be in [0, 1), got {dropout!r}. Use e.g. dropout=0.1.")
    check_positive(lr, "lr", owner, "1e-3")
    check_positive(weight_decay, "weight_decay", owner, "1e-4", allow_zero=True)
    check_positive(epochs, "epochs", owner, "50")
    check_positive(batch_size, "batch_size", owner, "256")
    check_positive(patience, "patience", owner, "5")


# --------------------------------------------------------------------------- configs


@dataclass(frozen=True)
class LinearProbeConfig:
    """Settings of ``linear-probe`` (:mod:`selfsup.evaluation.linear_probe`)."""

    #: The split scored.
    split: str = "test"
    #: Candidate L2 penalties: weight decay on the mean cross-entropy, ``(l2/2)||W||^2``.
    l2_grid: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    #: While the chosen ``l2`` is the grid's smallest or largest value, try up to this many
    #: more values, each 10x beyond that edge (0: never widen); ``l2_at_edge`` reports 1 when
    #: the choice is still on an edge.
    widen: int = 3
    #: L-BFGS iterations per fit.
    max_iter: int = 200
    #: Fraction of train held out for choosing ``l2`` when the source has no ``"val"`` split.
    val_fraction: float = 0.1
    #: Feature-extraction batch size.
    batch_size: int = 1024

    def __post_init__(self) -> None:
        owner = "linear-probe"
        object.__setattr__(self, "l2_grid", check_grid(self.l2_grid, "l2_grid", owner, "[1e-4, 1e-3, 1e-2]"))
        check_positive(self.max_iter, "max_iter", owner, "200")
        check_positive(self.widen, "widen", owner, "3", allow_zero=True)
        check_fraction(self.val_fraction, "val_fraction", owner, "0.1")
        check_positive(self.batch_size, "batch_size", owner, "1024")


@dataclass(frozen=True)
class KNNConfig:
    """Settings of ``knn`` (:mod:`selfsup.evaluation.knn`)."""

    #: The split scored; ``"train"`` is always the memory bank.
    split: str = "test"
    #: Number of neighbours (capped at the memory-bank size, with a warning).
    k: int = 20
    #: Temperature ``T`` of the ``exp(s / T)`` weights.
    temperature: float = 0.07
    #: ``"exp"`` (InstDisc/DINO weights) or ``"uniform"`` (majority vote).
    weighting: str = "exp"
    #: Feature-extraction batch size.
    batch_size: int = 1024

    def __post_init__(self) -> None:
        check_positive(self.k, "k", "knn", "20")
        check_positive(self.temperature, "temperature", "knn", "0.07")
        check_positive(self.batch_size, "batch_size", "knn", "1024")
        if self.weighting not in KNN_WEIGHTINGS:
            raise ConfigError(
                f"knn: weighting must be one of {list(KNN_WEIGHTINGS)}, got {self.weighting!r}. Use weighting='exp'."
            )


@dataclass(frozen=True)
class ClusteringConfig:
    """Settings of ``clustering`` (:mod:`selfsup.evaluation.clustering`)."""

    #: The split clustered and scored (graph plugins use ``"all"``).
    split: str = "test"
    #: Number of clusters; ``None`` uses ``data.info["num_classes"]``.
    num_clusters: int | None = None
    #: k-means restarts (best inertia wins).
    n_init: int = 10
    #: Lloyd iterations per restart.
    max_iter: int = 300
    #: Relative tolerance on the squared centre shift (scikit-learn's ``tol``).
    tol: float = 1e-4
    #: Feature preprocessing: ``"l2"`` (unit rows), ``"standardize"`` or ``"none"``.
    normalize: str = "l2"
    #: Feature-extraction batch size.
    batch_size: int = 1024

    def __post_init__(self) -> None:
        owner = "clustering"
        if self.num_clusters is not None:
            check_positive(self.num_clusters, "num_clusters", owner, "10")
        check_positive(self.n_init, "n_init", owner, "10")
        check_positive(self.max_iter, "max_iter", owner, "300")
        check_positive(self.tol, "tol", owner, "1e-4", allow_zero=True)
        check_positive(self.batch_size, "batch_size", owner, "1024")
        if self.normalize not in CLUSTERING_NORMALIZATIONS:
            raise ConfigError(
                f"{owner}: normalize must be one of {list(CLUSTERING_NORMALIZATIONS)}, got {self.normalize!r}. "
                "Use normalize='l2'."
            )


@dataclass(frozen=True)
class RegressionProbeConfig:
    """Settings of ``regression-probe`` (:mod:`selfsup.evaluation.regression_probe`)."""

    #: The split scored.
    split: str = "test"
    #: Candidate ridge penalties on the sum-of-squares objective (scikit-learn's ``alpha``).
    alpha_grid: tuple[float, ...] = (1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3, 1e4, 1e5)
    #: While the chosen ``alpha`` is the grid's smallest or largest value, try up to this many
    #: more values, each 10x beyond that edge (0: never widen); ``alpha_at_edge`` reports 1
    #: when the choice is still on an edge.
    widen: int = 4
    #: Fraction of train held out for choosing ``alpha`` when the source has no ``"val"`` split.
    val_fraction: float = 0.1
    #: Feature-extraction batch size.
    batch_size: int = 1024

    def __post_init__(self) -> None:
        owner = "regression-probe"
        object.__setattr__(self, "alpha_grid", check_grid(self.alpha_grid, "alpha_grid", owner, "[0.1, 1, 10]"))
        check_positive(self.widen, "widen", owner, "4", allow_zero=True)
        check_fraction(self.val_fraction, "val_fraction", owner, "0.1")
        check_positive(self.batch_size, "batch_size", owner, "1024")


@dataclass(frozen=True)
class MLPProbeConfig:
    """Settings of ``mlp-probe`` (:mod:`selfsup.evaluation.mlp_probe`)."""

    #: The split scored.
    split: str = "test"
    #: Widths of the hidden layers (``()`` gives a linear classifier).
    hidden: tuple[int, ...] = (256, 256)
    #: Dropout probability after each hidden layer.
    dropout: float = 0.1
    #: AdamW learning rate.
    lr: float = 1e-3
    #: AdamW decoupled weight decay (weight matrices only).
    weight_decay: float = 1e-4
    #: Maximum number of epochs.
    epochs: int = 50
    #: Training minibatch size.
    train_batch_size: int = 256
    #: Epochs without validation improvement before stopping.
    patience: int = 5
    #: Fraction of train held out for early stopping when the source has no ``"val"`` split.
    val_fraction: float = 0.1
    #: Feature-extraction batch size.
    batch_size: int = 1024

    def __post_init__(self) -> None:
        owner = "mlp-probe"
        raw = self.hidden
        try:
            hidden = (int(raw),) if isinstance(raw, (int, float)) else tuple(int(h) for h in raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{owner}: hidden must be a list of layer widths, got {raw!r}. Use e.g. hidden=[256, 256]."
            ) from exc
        object.__setattr__(self, "hidden", hidden)
        check_mlp_settings(
            owner, hidden, self.dropout, self.lr, self.weight_decay, self.epochs, self.train_batch_size, self.patience
        )
        check_fraction(self.val_fraction, "val_fraction", owner, "0.1")
        check_positive(self.batch_size, "batch_size", owner, "1024")


@dataclass(frozen=True)
class EmbeddingStatsConfig:
    """Settings of ``embedding-stats`` (:mod:`selfsup.evaluation.embedding_stats`)."""

    #: The split embedded (labels are not needed).
    split: str = "test"
    #: At most this many rows (a seeded random subset) enter the statistics.
    max_samples: int = 10000
    #: Feature-extraction batch size.
    batch_size: int = 1024

    def __post_init__(self) -> None:
        check_positive(self.max_samples, "max_samples", "embedding-stats", "10000")
        check_positive(self.batch_size, "batch_size", "embedding-stats", "1024")


@dataclass(frozen=True)
class FineTuneConfig:
    """Settings of ``fine-tune`` (:mod:`selfsup.evaluation.fine_tune`)."""

    #: The split scored.
    split: str = "test"
    #: ``"classification"`` (one class index per row, cross-entropy), ``"binary"``
    #: (``[N]`` or ``[N, T]`` float 0/1 targets, NaN = missing, binary cross-entropy,
    #: ROC-AUC), ``"regression"`` (``[N]`` or ``[N, T]`` real targets, NaN = missing, MSE on
    #: standardised targets; RMSE, MAE, R²) or ``"auto"``: the task the dataset declares
    #: (selfsup.tasks); for a dataset that declares none, float labels -> binary, integer -> classification.
    task: str = "auto"
    #: Maximum number of epochs over the train split.
    epochs: int = 20
    #: AdamW learning rate of the encoder's parameters.
    lr: float = 1e-4
    #: AdamW learning rate of the new linear head.
    head_lr: float = 1e-3
    #: AdamW decoupled weight decay (encoder and head).
    weight_decay: float = 0.0
    #: Training minibatch size (ignored by full-batch sources).
    batch_size: int = 32
    #: Epochs without validation improvement before stopping.
    patience: int = 10
    #: Fraction of train held out for model selection when the source has no ``"val"`` split.
    val_fraction: float = 0.1
    #: Batch size when scoring the validation and scored splits.
    eval_batch_size: int = 256
    #: Keep this fraction of the fitting rows' labels (a seeded random subset; the
    #: semi-supervised "10 % of the labels" setting is 0.1). Full-batch sources ignore it.
    label_fraction: float = 1.0
    #: The fine-tuning strategy (``selfsup list strategies``): ``cross-entropy`` (plain),
    #: ``sla``, ``core-tuning``, or one a plugin registers (``register_fine_tune_strategies``).
    strategy: str = "cross-entropy"
    #: The strategy's settings, e.g. ``{eta: 0.1}`` (``selfsup info <strategy>``).
    strategy_config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        owner = "fine-tune"
        if not 0.0 < self.label_fraction <= 1.0:
            raise ConfigError(f"{owner}: label_fraction={self.label_fraction} is not in (0, 1]. Use e.g. label_fraction=0.1.")
        if self.task not in FINE_TUNE_TASKS:
            raise ConfigError(
                f"{owner}: task must be one of {list(FINE_TUNE_TASKS)}, got {self.task!r}. Use task='auto'."
            )
        check_positive(self.epochs, "epochs", owner, "20")
        check_positive(self.lr, "lr", owner, "1e-4")
        check_positive(self.head_lr, "head_lr", owner, "1e-3")
        check_positive(self.weight_decay, "weight_decay", owner, "0.0", allow_zero=True)
        check_positive(self.batch_size, "batch_size", owner, "32")
        check_positive(self.patience, "patience", owner, "10")
        check_fraction(self.val_fraction, "val_fraction", owner, "0.1")
        check_positive(self.eval_batch_size, "eval_batch_size", owner, "256")

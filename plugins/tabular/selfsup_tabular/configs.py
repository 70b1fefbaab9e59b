"""The tabular plugin's configs: standard-library dataclasses only.

:mod:`selfsup_tabular.plugin` imports them to register its components, so registering imports
neither torch nor pandas (``selfsup list`` stays fast; ``tests/test_plugin_import.py`` checks it).
The modules that use each config import it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from selfsup.errors import ConfigError
from selfsup.evaluation.configs import MLPProbeConfig

__all__ = [
    "FTTransformerConfig",
    "ResidualMLPConfig",
    "TJEPAConfig",
    "CLANConfig",
    "CentroidAnomalyConfig",
    "RawMLPBaselineConfig",
]


@dataclass
class FTTransformerConfig:
    """Hyper-parameters of :class:`FTTransformer`.

    Defaults follow ``scripts/launch_tjepa.sh`` (the released T-JEPA recipe:
    h=64, 2 heads, FF 64, 1 reg token, trunc-normal init, dropout ≈ 0.0019 → 0)
    except the depth: 16 layers there, 2 here so that Adult pretrains in minutes
    on 2 CPU cores (the Adult sweep ``scripts/tjepa_tuning/config_tjepa_linear_adult.yaml``
    searches 1-8 and 16 layers).
    """

    #: Token width h.
    d_token: int = 64
    #: Transformer layers.
    n_layers: int = 2
    #: Attention heads (must divide ``d_token``).
    n_heads: int = 2
    #: Feed-forward width of each layer.
    d_ffn: int = 64
    #: Dropout in the layers and in the output head.
    dropout: float = 0.0
    #: Prepended regularization ([CLS]-like) tokens; the T-JEPA authors call them
    #: critical against collapse.
    n_reg_tokens: int = 1
    #: ``sinusoidal`` (T-JEPA, base 100) or ``none``.
    positional: str = "sinusoidal"
    #: Base of the sinusoidal encoding (100 in T-JEPA, 10000 in Vaswani et al.).
    positional_base: float = 100.0
    #: What ``forward`` returns: ``flatten`` (all L output tokens concatenated,
    #: T-JEPA's ``linear_flatten``; embed_dim = L·h), ``mean`` (mean over the L
    #: tokens; h) or ``reg`` (the reg tokens concatenated; n_reg·h).
    pooling: str = "flatten"
    #: Feed-forward activation: ``relu`` (T-JEPA ``model_act_func``) or ``gelu``.
    activation: str = "relu"
    layer_norm_eps: float = 1e-5
    #: ``trunc_normal`` (std 0.02 for Linear/Embedding, T-JEPA) or ``torch_default``.
    init: str = "trunc_normal"
    #: Add a learned feature-type embedding (one vector for numerical, one for categorical
    #: features; none on the reg tokens) after the positional encoding, as T-JEPA's
    #: ``model_feature_type_embedding`` (``src/encoder.py``: only when the table has both kinds).
    #: The official Adult sweep turns it on; off by default here because every recorded
    #: benchmark (benchmarks/tabular.md) was measured without it.
    feature_type_embedding: bool = False


@dataclass
class ResidualMLPConfig:
    """Hyper-parameters of :class:`ResidualMLP`.

    CLAN (``train_clan.py``) uses 4 blocks of width 1024, d_out 64, no dropout;
    the width here is 256 so that training fits a CPU.
    """

    #: Width of every residual block (CLAN: 1024).
    width: int = 256
    #: Residual blocks (CLAN: 4).
    n_blocks: int = 4
    #: Output (embedding) width (CLAN: 64).
    d_out: int = 64
    #: Dropout after each block but the last (CLAN: 0.0).
    dropout: float = 0.0
    #: ``one_hot`` or ``embedding`` input for categorical columns.
    categorical: str = "one_hot"
    #: Per-column embedding width when ``categorical="embedding"``.
    cat_embed_dim: int = 8


@dataclass
class TJEPAConfig:
    """Hyper-parameters of :class:`TJEPA`.

    Mask shares: ``src/configs.py`` defaults ([0.2, 0.4] for both; the tuned
    Jannis run in ``scripts/launch_tjepa.sh`` uses context [0.136, 0.368] and
    target [0.156, 0.622]). Predictor: width 16 and 4 heads from
    ``launch_tjepa.sh``, 2 layers (``src/configs.py`` default; 16 in the Jannis
    recipe), feed-forward 256 (``--pred_dim_feedforward`` default, not set by
    the recipe). EMA 0.996 → 1.0 linear (``launch_tjepa.sh``, ``run.py``).
    """

    #: Smallest context, as a share of the d features (n = round(d · share)).
    min_context_share: float = 0.2
    #: Largest context, as a share of the d features.
    max_context_share: float = 0.4
    #: Smallest target, as a share of the d features.
    min_target_share: float = 0.2
    #: Largest target, as a share of the d features.
    max_target_share: float = 0.4
    #: M, target masks per context (``--mask_num_preds``).
    num_target_masks: int = 4
    #: Predictor token width h_p (``--pred_embed_dim``).
    predictor_dim: int = 16
    #: Transformer layers of the predictor.
    predictor_layers: int = 2
    #: Attention heads of the predictor.
    predictor_heads: int = 4
    #: Feed-forward width of the predictor's layers (``--pred_dim_feedforward``).
    predictor_ffn: int = 256
    #: Predictor dropout (``--pred_p_dropout``; 0.0019 in the recipe).
    predictor_dropout: float = 0.0
    #: EMA momentum of the target encoder at the first step.
    ema_start: float = 0.996
    #: EMA momentum at the last step.
    ema_end: float = 1.0
    #: ``linear`` (T-JEPA) or ``cosine``.
    ema_schedule: str = "linear"
    #: ``offset`` (reg tokens always in the context, never targets) or
    #: ``as_released`` (the official code's indexing); see the module docstring.
    reg_token_index_mode: str = "offset"
    #: The encoder saved and evaluated: ``context`` (the trained online encoder; the recorded
    #: benchmarks use it) or ``target`` (the EMA target, which the paper evaluates).
    evaluate: str = "context"
    #: ``independent`` (M independently drawn target sets per row, as the paper describes) or
    #: ``as_released`` (the released collator's behaviour: the M target sets of a row are
    #: identical, because ``src/mask.py`` appends views of one array shuffled in place, so the
    #: objective trains one target set repeated M times).
    target_masks: str = "independent"
    #: Clamp the context encoder's gradients elementwise to [−v, v] (T-JEPA's
    #: ``exp_gradient_clipping = 1.0``: ``src/encoder.py`` registers the clamp as a hook on the
    #: encoder's parameters only, so the predictor's gradients are not clamped); ``None``: off.
    #: ``trainer.grad_clip_value`` clamps every parameter instead.
    encoder_grad_clip_value: Optional[float] = 1.0


@dataclass
class CLANConfig:
    """Hyper-parameters of :class:`CLAN`.

    Margin 0.5 and the resampling settings come from ``train_clan.py``; α = 0.5
    and ε = 1e-6 from ``loss/clan_loss.py`` (``CLANLoss``). The paper's
    optimiser (AdamW, lr 1e-4 with 10 % warm-up from 1e-6 and cosine to 1e-6,
    wd 0, batch 8192, 200 epochs) is a trainer setting.
    """

    #: Cosine-half-distance margin m for the augmented negatives.
    margin: float = 0.5
    #: Weight α of the benign-benign term (1 − α for the negatives).
    alpha: float = 0.5
    #: Threshold ε above which a pair is active (and added to the denominators).
    eps: float = 1e-6
    #: Square distances and hinges before averaging.
    squared: bool = False
    #: Probability that a feature of an augmented row is resampled.
    resample_p_feature: float = 0.1
    #: Probability that a row is augmented at all.
    resample_p_sample: float = 1.0
    #: Half-width a of the resampling interval U(mean − a, mean + a).
    resample_max: float = 1.7
    resample_mean: float = 0.0
    #: ``benign`` (rows with data_info['benign_label'] only, when defined) or ``all``.
    train_on: str = "benign"


@dataclass(frozen=True)
class CentroidAnomalyConfig:
    """Settings of :class:`CentroidAnomaly`."""

    #: The split scored.
    split: str = "test"
    #: The split whose benign rows define the centroid.
    reference_split: str = "train"
    #: Also report per-attack-class AUROCs and their mean.
    per_class: bool = True
    #: Feature-extraction batch size.
    batch_size: int = 1024

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ConfigError(f"centroid-anomaly: batch_size must be >= 1, got {self.batch_size}; e.g. batch_size=1024.")


@dataclass(frozen=True)
class RawMLPBaselineConfig(MLPProbeConfig):
    """Exactly :class:`selfsup.evaluation.mlp_probe.MLPProbeConfig` (fields and defaults inherited)."""

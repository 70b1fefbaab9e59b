"""FT-Transformer feature-token encoder, as used by T-JEPA.

Each of the ``d`` columns of a row becomes one token of width ``h``
(Gorishniy et al. 2021, "Revisiting Deep Learning Models for Tabular Data"):

* numerical column j:   t_j = x_j · W_j + b_j
* categorical column j: t_j = Emb_j[x_j] + b_j   (index 0 = missing/unseen has its own row)
* ``n_reg`` "regularization" tokens are prepended; each is r_k = W_reg,k · 1 with no bias.

Token order: ``[reg_1..reg_R, num_1..num_n, cat_1..cat_c]``; sequence length
``L = R + d``. A sinusoidal positional encoding over the ``L`` positions is
added (interleaved sin/cos with base 100, i.e. ``PE[p, 2i] = sin(p / 100^(2i/h))``,
``PE[p, 2i+1] = cos(...)``). The tokens then pass a post-norm transformer
(ReLU feed-forward) and the output head Dropout → LayerNorm → Linear(h, h) →
Dropout → LayerNorm.

Facts from the official T-JEPA code (jose-melo/t-jepa @ 98dda99):

* tokenizer, reg tokens with zero bias, kaiming-uniform(a=√5) token weights:
  ``src/encoder.py`` (``Tokenizer``);
* positional encoding with ``log(100)``: ``src/utils/train_utils.py`` (``PositionalEncoding``);
* post-norm layers and the output head: ``src/encoder.py`` (``TabularEncoder``),
  ``src/tjepa_transformer.py`` (PyTorch layer, ``norm_first=False``);
* trunc-normal(0.02) init of Linear/Embedding, LayerNorm 1/0:
  ``src/utils/train_utils.py`` (``init_weights``), ``scripts/launch_tjepa.sh`` (``INIT_TYPE``);
* downstream input ``linear_flatten`` (all output tokens, reg tokens included,
  concatenated): ``src/models/linear_probing.py``, ``src/train.py``.

Deviation: the released code builds its layer stack with ``deepcopy`` so every
layer starts with the same attention in-projection; here each layer is
initialised independently.

Implementation: the layers are ``nn.TransformerEncoderLayer`` modules (their
parameters and state-dict keys), but :func:`encoder_layer_forward` computes them:
the same math in fewer passes over memory on a CPU (attention by matrix products
for narrow heads, the bias and ReLU fused into the first feed-forward product),
and optionally for the last tokens only (``keep_last``, used by T-JEPA's predictor).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from selfsup.errors import ConfigError

from ..configs import FTTransformerConfig
from .._model_utils import TabularLayout, category_offsets, require_choice, rows_in

__all__ = [
    "FTTransformerConfig",
    "FTTransformer",
    "FeatureTokenizer",
    "PostNormTransformer",
    "build_ft_transformer",
    "sinusoidal_positions",
    "init_trunc_normal_",
    "encoder_layer_forward",
]

POSITIONAL_CHOICES = ("sinusoidal", "none")
POOLING_CHOICES = ("flatten", "mean", "reg")
ACTIVATION_CHOICES = ("relu", "gelu")
INIT_CHOICES = ("trunc_normal", "torch_default")


def sinusoidal_positions(length: int, dim: int, base: float = 100.0) -> torch.Tensor:
    """Interleaved sin/cos encoding ``[length, dim]``: PE[p, 2i] = sin(p·ω_i), PE[p, 2i+1] = cos(p·ω_i).

    ω_i = base^(−2i/dim); T-JEPA uses base 100 (``src/utils/train_utils.py``).
    """
    if dim % 2:
        raise ConfigError(f"A sinusoidal positional encoding needs an even width, got {dim}.")
    position = torch.arange(length, dtype=torch.float64)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(base) / dim))
    encoding = torch.zeros(length, dim, dtype=torch.float64)
    encoding[:, 0::2] = torch.sin(position * frequency)
    encoding[:, 1::2] = torch.cos(position * frequency)
    return encoding.float()


def init_trunc_normal_(module: nn.Module, std: float = 0.02) -> None:
    """T-JEPA's ``trunc_normal`` init: Linear/Embedding weights ~ N(0, std²) truncated to
    [−2, 2], Linear biases 0, LayerNorm weight 1 and bias 0 (``init_weights``)."""
    for sub in module.modules():
        if isinstance(sub, nn.Linear):
            nn.init.trunc_normal_(sub.weight, std=std, a=-2.0, b=2.0)
            if sub.bias is not None:
                nn.init.zeros_(sub.bias)
        elif isinstance(sub, nn.Embedding):
            nn.init.trunc_normal_(sub.weight, std=std, a=-2.0, b=2.0)
        elif isinstance(sub, nn.LayerNorm):
            if sub.weight is not None:
                nn.init.ones_(sub.weight)
            if sub.bias is not None:
                nn.init.zeros_(sub.bias)


class FeatureTokenizer(nn.Module):
    """Row → ``[B, n_reg + d, h]`` tokens (no positional encoding)."""

    def __init__(self, layout: TabularLayout, d_token: int, n_reg_tokens: int) -> None:
        super().__init__()
        self.layout = layout
        self.n_reg_tokens = n_reg_tokens
        self.reg_weight = nn.Parameter(torch.empty(n_reg_tokens, d_token))
        self.numerical_weight = nn.Parameter(torch.empty(layout.num_numerical, d_token))
        self.feature_bias = nn.Parameter(torch.empty(layout.num_features, d_token))
        self.category_embeddings: nn.Embedding | None = None
        if layout.num_categorical:
            self.category_embeddings = nn.Embedding(sum(layout.cardinalities), d_token)
        self.register_buffer("category_offsets", category_offsets(layout.cardinalities), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Same distribution as T-JEPA's kaiming_uniform_(a=√5) on [n, h] tensors: U(±1/√h).
        for weight in (self.reg_weight, self.numerical_weight, self.feature_bias):
            if weight.numel():
                nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
        if self.category_embeddings is not None:
            self.category_embeddings.reset_parameters()

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        rows = rows_in(batch)
        num_numerical = self.layout.num_numerical
        parts: list[torch.Tensor] = []
        if self.n_reg_tokens:
            parts.append(self.reg_weight.unsqueeze(0).expand(rows, -1, -1))
        if num_numerical:
            numerical = batch["numerical"]
            parts.append(numerical.unsqueeze(-1) * self.numerical_weight + self.feature_bias[:num_numerical])
        if self.category_embeddings is not None:
            categorical = batch["categorical"].long()
            embedded = self.category_embeddings(categorical + self.category_offsets)
            parts.append(embedded + self.feature_bias[num_numerical:])
        return torch.cat(parts, dim=1)


#: Below this head width, attention is computed as two batched matrix products and a softmax;
#: from it on, with :func:`torch.nn.functional.scaled_dot_product_attention`, except without
#: autograd (the EMA target encoder, feature extraction), where the products are used too.
#: The same math: on a CPU, the SDPA kernels are slower for the predictor's 4-wide heads
#: (2048 × 4 tiny attentions per step), and for the encoder's 32-wide heads over 15 tokens
#: they are faster with a backward pass (7.7 vs 10.9 ms) but slower without (2.6 vs 1.9 ms).
SMALL_HEAD_DIM = 16


class _ReLUFeedForward(torch.autograd.Function):
    """``linear2(relu(linear1(x)))`` with the bias and ReLU fused into the first product
    (``torch._addmm_activation``) and the ReLU's backward done in place: the same values and
    gradients as the three modules, with two fewer passes over the ``[tokens, d_ffn]`` tensor."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: torch.Tensor,
        weight1: torch.Tensor,
        bias1: torch.Tensor,
        weight2: torch.Tensor,
        bias2: torch.Tensor,
    ) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        hidden = torch._addmm_activation(bias1, flat, weight1.t())
        out = torch.addmm(bias2, hidden, weight2.t())
        ctx.save_for_backward(flat, hidden, weight1, weight2)
        return out.view(*x.shape[:-1], out.shape[-1])

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        flat, hidden, weight1, weight2 = ctx.saved_tensors
        grad_out = grad.reshape(-1, grad.shape[-1])
        grad_hidden = grad_out.mm(weight2)
        grad_hidden = torch.ops.aten.threshold_backward.grad_input(grad_hidden, hidden, 0, grad_input=grad_hidden)
        grad_x = grad_hidden.mm(weight1).view(*grad.shape[:-1], flat.shape[-1])
        return grad_x, grad_hidden.t().mm(flat), grad_hidden.sum(0), grad_out.t().mm(hidden), grad_out.sum(0)


def _feed_forward(layer: nn.TransformerEncoderLayer, x: torch.Tensor) -> torch.Tensor:
    dropout = layer.dropout.p if layer.training else 0.0
    fusable = layer.activation is F.relu and dropout == 0.0 and x.dtype == layer.linear1.weight.dtype
    # Traced (torch.jit.trace, ONNX export): the plain modules, as a Python autograd.Function
    # cannot be recorded in a graph (it fails the trace check and exports as an opaque PythonOp).
    if fusable and not torch.is_autocast_enabled(x.device.type) and not torch.jit.is_tracing():
        linear1, linear2 = layer.linear1, layer.linear2
        return _ReLUFeedForward.apply(x, linear1.weight, linear1.bias, linear2.weight, linear2.bias)
    return layer.linear2(layer.dropout(layer.activation(layer.linear1(x))))


def encoder_layer_forward(
    layer: nn.TransformerEncoderLayer, x: torch.Tensor, *, keep_last: int | None = None
) -> torch.Tensor:
    """The post-norm ``nn.TransformerEncoderLayer`` (batch first, no masks) on ``x`` ``[B, L, d]``,
    computed with fewer passes over memory; ``keep_last=n`` returns only the last ``n`` tokens.

    Same math as ``layer(x)``: ``y = norm1(x + dropout1(MHA(x))); out = norm2(y + dropout2(FF(y)))``
    (``tests/test_tabular_fast_layers.py`` checks outputs and gradients against the module).
    """
    if layer.norm_first or not layer.self_attn.batch_first or not layer.self_attn._qkv_same_embed_dim:
        raise ValueError("encoder_layer_forward supports post-norm, batch-first layers with one in-projection")
    attention = layer.self_attn
    rows, length, width = x.shape
    heads = attention.num_heads
    head_dim = width // heads
    queries = length if keep_last is None else keep_last
    weight, bias = attention.in_proj_weight, attention.in_proj_bias
    if queries == length:
        qkv = F.linear(x, weight, bias).view(rows, length, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # [B, H, L, Dh] each
        residual = x
    else:
        residual = x[:, length - queries :]
        q = F.linear(residual, weight[:width], bias[:width]).view(rows, queries, heads, head_dim).transpose(1, 2)
        kv = F.linear(x, weight[width:], bias[width:]).view(rows, length, 2, heads, head_dim).permute(2, 0, 3, 1, 4)
        k, v = kv.unbind(0)
    dropout = attention.dropout if layer.training else 0.0
    # traced: always this path, so that a trace (taken with gradients) and the tracer's own check
    # (re-run without) record the same graph
    if head_dim < SMALL_HEAD_DIM or not torch.is_grad_enabled() or torch.jit.is_tracing():
        # Scores stored transposed, [B, H, keys, queries], so that the softmax over the keys is
        # not along the innermost axis: PyTorch's CPU softmax is several times slower along a
        # short innermost axis (length L ≈ 10 here) than across it.
        scores_t = torch.matmul(k, q.transpose(-2, -1) * head_dim**-0.5)
        probabilities_t = F.dropout(scores_t.softmax(dim=-2), dropout, training=dropout > 0.0)
        attended = torch.matmul(probabilities_t.transpose(-2, -1), v)
    else:
        attended = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout)
    attended = attended.transpose(1, 2).reshape(rows, queries, width)
    attended = F.linear(attended, attention.out_proj.weight, attention.out_proj.bias)
    hidden = layer.norm1(residual + layer.dropout1(attended))
    return layer.norm2(hidden + layer.dropout2(_feed_forward(layer, hidden)))


class PostNormTransformer(nn.Module):
    """Post-norm transformer layers, then Dropout → LayerNorm → Linear → Dropout → LayerNorm.

    T-JEPA's ``TabularEncoder`` (``src/encoder.py``); its predictor reuses it at
    the predictor width.
    """

    def __init__(
        self,
        d_model: int,
        n_layers: int,
        n_heads: int,
        d_ffn: int,
        dropout: float,
        activation: str = "relu",
        layer_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if n_layers < 1:
            raise ConfigError(f"A transformer needs at least one layer, got n_layers={n_layers}.")
        if d_model % n_heads:
            raise ConfigError(
                f"The token width {d_model} is not divisible by n_heads={n_heads}; pick heads that divide it."
            )
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model,
                n_heads,
                dim_feedforward=d_ffn,
                dropout=dropout,
                activation=activation,
                layer_norm_eps=layer_norm_eps,
                batch_first=True,
                norm_first=False,
            )
            for _ in range(n_layers)
        )
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.LayerNorm(d_model, eps=layer_norm_eps),
            nn.Linear(d_model, d_model),
            nn.Dropout(dropout),
            nn.LayerNorm(d_model, eps=layer_norm_eps),
        )

    def forward(self, tokens: torch.Tensor, *, keep_last: int | None = None) -> torch.Tensor:
        """``[B, L, d] -> [B, L, d]``; with ``keep_last=n``, only the last ``n`` output tokens ``[B, n, d]``.

        ``keep_last`` gives exactly those tokens of the full output, cheaper: the last layer
        attends from the last ``n`` tokens only (keys and values still cover all ``L``), and its
        feed-forward block and the head run on those ``n`` tokens.
        """
        if keep_last is not None and not 1 <= keep_last <= tokens.shape[1]:
            raise ValueError(f"keep_last must be in [1, {tokens.shape[1]}], got {keep_last}")
        hidden = tokens
        last = len(self.layers) - 1
        for index, layer in enumerate(self.layers):
            hidden = encoder_layer_forward(layer, hidden, keep_last=keep_last if index == last else None)
        return self.head(hidden)


class FTTransformer(nn.Module):
    """FT-Transformer encoder: ``forward(batch) -> [B, embed_dim]``.

    The JEPA objectives use the two halves separately:

    * :meth:`tokens` ``(batch) -> [B, n_reg + d, h]``: tokenizer + positional encoding;
    * :meth:`encode` ``(tokens) -> [B, L', h]``: transformer + output head on any
      subset of those tokens (a context) or on all of them.

    Feature ``j`` (numerical first, then categorical, in ``data_info`` order) sits
    at token position ``n_reg_tokens + j``.
    """

    def __init__(self, config: FTTransformerConfig, data_info: Mapping[str, Any]) -> None:
        super().__init__()
        require_choice("ft-transformer", "positional", config.positional, POSITIONAL_CHOICES)
        require_choice("ft-transformer", "pooling", config.pooling, POOLING_CHOICES)
        require_choice("ft-transformer", "activation", config.activation, ACTIVATION_CHOICES)
        require_choice("ft-transformer", "init", config.init, INIT_CHOICES)
        if config.d_token < 1 or config.n_reg_tokens < 0:
            raise ConfigError(
                f"ft-transformer: d_token={config.d_token} must be >= 1 and n_reg_tokens="
                f"{config.n_reg_tokens} >= 0."
            )
        if config.pooling == "reg" and config.n_reg_tokens == 0:
            raise ConfigError("ft-transformer: pooling='reg' needs n_reg_tokens >= 1; set n_reg_tokens=1.")
        self.config = config
        self.layout = TabularLayout.from_data_info(data_info, component="Encoder 'ft-transformer'")
        self.d_token = config.d_token
        self.n_reg_tokens = config.n_reg_tokens
        self.num_features = self.layout.num_features
        self.sequence_length = self.n_reg_tokens + self.num_features

        self.tokenizer = FeatureTokenizer(self.layout, config.d_token, config.n_reg_tokens)
        if config.positional == "sinusoidal":
            positions = sinusoidal_positions(self.sequence_length, config.d_token, config.positional_base)
        else:
            positions = torch.zeros(self.sequence_length, config.d_token)
        self.register_buffer("positional_encoding", positions, persistent=False)
        # T-JEPA's feature-type embedding (src/encoder.py): numerical 0, categorical 1, zero on reg tokens;
        # only when the table has both kinds of feature, as there.
        self.feature_type_embedding: nn.Embedding | None = None
        if config.feature_type_embedding and self.layout.num_numerical and self.layout.num_categorical:
            self.feature_type_embedding = nn.Embedding(2, config.d_token)
            types = torch.tensor([0] * self.layout.num_numerical + [1] * self.layout.num_categorical)
            self.register_buffer("feature_types", types, persistent=False)
        self.backbone = PostNormTransformer(
            config.d_token,
            config.n_layers,
            config.n_heads,
            config.d_ffn,
            config.dropout,
            config.activation,
            config.layer_norm_eps,
        )
        if config.init == "trunc_normal":
            init_trunc_normal_(self.backbone)
            if self.tokenizer.category_embeddings is not None:
                init_trunc_normal_(self.tokenizer.category_embeddings)
            if self.feature_type_embedding is not None:
                init_trunc_normal_(self.feature_type_embedding)

        if config.pooling == "flatten":
            self.embed_dim = self.sequence_length * config.d_token
        elif config.pooling == "mean":
            self.embed_dim = config.d_token
        else:
            self.embed_dim = self.n_reg_tokens * config.d_token

    def tokens(self, batch: Mapping[str, Any]) -> torch.Tensor:
        """``[B, n_reg + d, h]``: feature tokens with the positional encoding added."""
        tokens = self.tokenizer(batch)
        if self.config.positional != "none":
            tokens = tokens + self.positional_encoding.to(tokens.dtype)
        if self.feature_type_embedding is not None:
            types = self.feature_type_embedding(self.feature_types).to(tokens.dtype)  # [d, h]
            tokens = torch.cat([tokens[:, : self.n_reg_tokens], tokens[:, self.n_reg_tokens :] + types], dim=1)
        return tokens

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[B, L', h] -> [B, L', h]``: the transformer and its output head."""
        return self.backbone(tokens)

    def pool(self, encoded: torch.Tensor) -> torch.Tensor:
        """``[B, L, h] -> [B, embed_dim]`` per ``config.pooling``."""
        if self.config.pooling == "flatten":
            return encoded.flatten(1)
        if self.config.pooling == "mean":
            return encoded.mean(dim=1)
        return encoded[:, : self.n_reg_tokens].flatten(1)

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        return self.pool(self.encode(self.tokens(batch)))


def build_ft_transformer(config: FTTransformerConfig, data_info: Mapping[str, Any]) -> FTTransformer:
    """Encoder factory: ``build_ft_transformer(config, data_info) -> FTTransformer``."""
    return FTTransformer(config, data_info)

"""AMBA: SSAMBA's bidirectional Mamba encoder over log-mel patches.

Follows SiavashShams/ssamba @ 019b276 ``src/models/both_models.py`` (``AMBAModel``: the
pretraining forward of ``mpc``/``mpg``/``finetuningavgtok``), built on hustvl/Vim
``vim/models_mamba.py`` (``VisionMamba``, ``Block``) and Vim's mamba-1p1p1
``mamba_ssm/modules/mamba_simple.py`` (``Mamba`` with ``bimamba_type="v2"``), with the
released pretraining settings (``src/pretrain/run_mask_patch_amba.sh``):

* tokenisation exactly as SSAST's AST (:class:`selfsup_audio.encoders.ast.ASTEncoder`'s
  ``embed``/``unfold`` are reused): ``Conv2d(1, D, kernel=stride=(fshape, tshape))`` over the
  [B, 1, F, T] fbank, frequency-major tokens, raw patches by ``unfold``;
* one CLS token *first* (``use_middle_cls_token=false``), learnable absolute positional
  embeddings (trunc-normal std 0.02);
* ``depth`` Vim blocks consumed in pairs: block 2k runs on the sequence, block 2k+1 on the
  reversed sequence (and reversed residual), and both outputs and residuals are flipped back
  and summed (``if_bidirectional=true``);
* a block (``fused_add_norm=false``): ``residual = residual + drop_path(hidden)`` (or
  ``hidden`` in the first pair), ``hidden = mixer(norm(residual))``; LayerNorm
  (``rms_norm=false`` in the released script) or RMSNorm (Vim's default), eps 1e-5;
* the mixer, Mamba "v2" (bidirectional inside the block): ``x, z = in_proj(h)``; a forward
  branch (causal depthwise conv (width 4) → SiLU → ``x_proj`` → Δ, B, C → selective scan with
  ``D`` and the SiLU(z) gate) and a backward branch with its own conv, projections, A and D on
  the reversed sequence; ``out_proj((y_fwd + flip(y_bwd)) / 2)`` (``if_devide_out=true``);
* after the last pair: ``residual + drop_path(hidden)`` → ``norm_f``, and ``norm_f`` once more,
  as the released forward does;
* the representation is the mean over patch-token outputs (``ft_avgtok``) or the CLS output.

Sizes (SSAMBA paper §3, ``AMBA_SIZES``): tiny 192, small 384, base 768, all 24 blocks; ``cpu``
(128, 4 blocks) for CPU runs. Mamba internals: d_state 16, d_conv 4, expand 2,
dt_rank ⌈D/16⌉, S4D-real A init (A_dn = −n), Δ bias = softplus⁻¹ of log-uniform [1e-3, 0.1]
(floor 1e-4), D = 1; Vim's init (zero linear biases except the forward branch's Δ bias,
``out_proj`` kaiming-uniform / √depth). In Vim's v2 mixer only ``dt_proj.bias`` is marked
``_no_reinit``: ``dt_proj_b`` keeps ``nn.Linear``'s default weight init (kaiming-uniform(√5), i.e.
U(±dt_rank^-0.5), the same law as Mamba's Δ weights) and its bias is zeroed by ``_init_weights``, so
the backward branch starts at Δ = softplus(0) ≈ 0.69. That is the default here
(``backward_delta_bias="zero"``); ``"mamba"`` gives the backward branch the forward branch's
log-uniform Δ bias instead (a deliberate option, not the released behaviour). The selective scan is :func:`selfsup_audio.encoders.selective_scan.selective_scan`
(mamba-ssm's CUDA kernel when installed, else the chunked PyTorch scan).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.errors import ConfigError

from ..configs import AMBA_SIZES, AMBAConfig
from .ast import ASTEncoder, set_patch_grid
from .cpu_scan import causal_conv1d_silu
from .selective_scan import IMPLEMENTATIONS, choose_implementation, selective_scan_time_major

__all__ = ["AMBAConfig", "AMBAEncoder", "BiMambaMixer", "VimBlock", "build_amba"]


class DropPath(nn.Module):
    """Stochastic depth per sample (timm ``DropPath``): zero a row's branch with probability p."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1.0 - self.p)
        return x * keep / (1.0 - self.p)


class _SSMBranch(nn.Module):
    """One direction of the v2 mixer: conv → SiLU → x_proj → (Δ, B, C) → selective scan."""

    def __init__(self, d_inner: int, d_state: int, d_conv: int, dt_rank: int, scan: str, chunk: int) -> None:
        super().__init__()
        self.d_state, self.dt_rank, self.scan, self.chunk = d_state, dt_rank, scan, chunk
        self.conv1d = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1, bias=True)
        self.x_proj = nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, d_inner, bias=True)
        # S4D-real initialisation A_dn = -n, stored as log(-A)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.reset_dt()

    def reset_dt(self, dt_min: float = 1e-3, dt_max: float = 0.1, floor: float = 1e-4) -> None:
        """Mamba's Δ init: weights U(±dt_rank^-0.5), bias = softplus⁻¹(log-uniform dt in [dt_min, dt_max])."""
        std = self.dt_rank ** -0.5
        nn.init.uniform_(self.dt_proj.weight, -std, std)
        d_inner = self.dt_proj.bias.shape[0]
        dt = torch.exp(torch.rand(d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)).clamp(min=floor)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))

    def forward(self, x: torch.Tensor, z: torch.Tensor, reverse: bool = False) -> torch.Tensor:
        """``x``, ``z`` [B, L, d_inner] → gated scan output [B, L, d_inner].

        ``reverse=True`` runs the branch on the time-reversed sequence and reverses its output back
        (``flip(branch(flip(x), flip(z)))``) without flipping anything: the causal convolution
        becomes the anti-causal one with the kernel mirrored, and the scan runs from the last step.
        """
        length = x.shape[1]
        weight, width = self.conv1d.weight, self.conv1d.kernel_size[0]
        if choose_implementation(self.scan, x.device) == "cpu-kernel":  # the fused C kernel, no copies
            x = causal_conv1d_silu(x, weight, self.conv1d.bias, reverse=reverse)
        else:
            if reverse:  # out_t = Σ_j w[width-1-j] x_{t+j}
                conv = F.conv1d(F.pad(x.transpose(1, 2), (0, width - 1)), weight.flip(-1), self.conv1d.bias,
                                groups=self.conv1d.groups)
            else:  # out_t = Σ_j w[j] x_{t-(width-1)+j}
                conv = self.conv1d(x.transpose(1, 2))[..., :length]
            x = F.silu(conv).transpose(1, 2).contiguous()  # [B, L, d_inner]
        dt, B, C = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = dt @ self.dt_proj.weight.t()  # bias added inside the scan (delta_bias)
        A = -torch.exp(self.A_log.float())
        return selective_scan_time_major(
            x, delta, A, B, C, self.D.float(), z, delta_bias=self.dt_proj.bias.float(), delta_softplus=True,
            reverse=reverse, impl=self.scan, chunk_size=self.chunk,
        )


class BiMambaMixer(nn.Module):
    """Vim's Mamba with ``bimamba_type="v2"`` and ``if_devide_out=True`` on [B, L, D] tokens.

    ``mirrored=True`` gives ``flip(mixer(flip(hidden)))`` for the same weights (the backward block
    of a Vim pair) by swapping the branches' time directions instead of flipping tensors.
    """

    def __init__(self, dim: int, d_state: int = 16, d_conv: int = 4, expand: int = 2, *,
                 scan: str = "auto", chunk: int = 64) -> None:
        super().__init__()
        d_inner = expand * dim
        dt_rank = math.ceil(dim / 16)
        self.in_proj = nn.Linear(dim, 2 * d_inner, bias=False)
        self.forward_branch = _SSMBranch(d_inner, d_state, d_conv, dt_rank, scan, chunk)
        self.backward_branch = _SSMBranch(d_inner, d_state, d_conv, dt_rank, scan, chunk)
        self.out_proj = nn.Linear(d_inner, dim, bias=False)

    def forward(self, hidden: torch.Tensor, mirrored: bool = False) -> torch.Tensor:
        x, z = self.in_proj(hidden).chunk(2, dim=-1)  # [B, L, d_inner] views
        y = self.forward_branch(x, z, reverse=mirrored)
        y_back = self.backward_branch(x, z, reverse=not mirrored)
        return self.out_proj((y + y_back) / 2)


class VimBlock(nn.Module):
    """Vim ``Block`` without fused add-norm: returns ``(mixer(norm(residual)), residual)``."""

    def __init__(self, dim: int, config: AMBAConfig, drop_path: float) -> None:
        super().__init__()
        self.norm = _norm(config.norm, dim, config.norm_eps)
        self.mixer = BiMambaMixer(dim, config.d_state, config.d_conv, config.expand,
                                  scan=config.scan, chunk=config.scan_chunk)
        self.drop_path = DropPath(drop_path)

    def forward(self, hidden: torch.Tensor, residual: Optional[torch.Tensor],
                mirrored: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """``mirrored``: the block as applied to the time-reversed sequence, outputs reversed back."""
        residual = hidden if residual is None else residual + self.drop_path(hidden)
        return self.mixer(self.norm(residual), mirrored=mirrored), residual


def _norm(kind: str, dim: int, eps: float) -> nn.Module:
    return nn.LayerNorm(dim, eps=eps) if kind == "layernorm" else nn.RMSNorm(dim, eps=eps)


class AMBAEncoder(nn.Module):
    """The bidirectional Mamba encoder of SSAMBA; see the module docstring.

    Offers the interface the ``ssast``/``ssamba`` objectives use: ``embed``, ``unfold``,
    ``encode``, ``grid``, ``num_patches``, ``patch_dim``, ``num_cls_tokens``, ``embed_dim``.
    """

    # tokenisation shared with the AST (same attributes: patch_embed, fshape, tshape)
    _image = ASTEncoder._image
    embed = ASTEncoder.embed
    unfold = ASTEncoder.unfold

    #: ``selfsup export`` to ONNX/TorchScript traces inside :meth:`traceable`: the fused C kernel
    #: (an op the tracer cannot record) and the chunked scan (its chunk length is read from the
    #: data) give way to the step-by-step reference scan, unrolled over the run's fixed number of
    #: patches; the export is then compared with this encoder's usual scan on real clips.

    def __init__(self, config: AMBAConfig, data_info: Mapping[str, Any]) -> None:
        super().__init__()
        _validate(config)
        dim, depth = AMBA_SIZES[config.size]
        dim, depth = config.embed_dim or dim, config.depth or depth
        if depth % 2:
            raise ConfigError(f"encoder_config.depth={depth} must be even (blocks run in forward/backward pairs).")
        set_patch_grid(self, config, data_info)
        self.embed_dim = dim
        self.pool = config.pool
        self.num_cls_tokens = 1
        self.patch_embed = nn.Conv2d(1, dim, kernel_size=(self.fshape, self.tshape), stride=(self.fshape, self.tshape))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_patches + 1, dim))
        rates = [0.0] + torch.linspace(0, config.drop_path_rate, depth).tolist()  # Vim's inter_dpr
        self.layers = nn.ModuleList(VimBlock(dim, config, rates[i]) for i in range(depth))
        self.drop_path = DropPath(config.drop_path_rate)
        self.norm_f = _norm(config.norm, dim, config.norm_eps)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        _vim_init(self, depth, zero_backward_delta_bias=config.backward_delta_bias == "zero")

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Outputs ``[B, 1 + N, D]`` (the CLS token first) of patch embeddings ``[B, N, D]``."""
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        hidden = torch.cat([cls, tokens], dim=1) + self.pos_embed
        residual: Optional[torch.Tensor] = None
        for forward_block, backward_block in zip(self.layers[0::2], self.layers[1::2]):
            h_f, r_f = forward_block(hidden, residual)
            # Vim runs this block on the flipped sequence and flips its outputs back; the mirrored
            # block computes exactly that (only its mixers depend on the order of the tokens)
            h_b, r_b = backward_block(hidden, residual, mirrored=True)
            hidden, residual = h_f + h_b, r_f + r_b
        residual = hidden if residual is None else residual + self.drop_path(hidden)
        return self.norm_f(self.norm_f(residual))  # norm_f twice, as the released forward

    @contextlib.contextmanager
    def traceable(self) -> Iterator[None]:
        """Every selective scan uses the plain-torch reference recurrence (and the convolution
        ``F.conv1d``) inside the block, so ``torch.jit.trace``/``torch.onnx.export`` can record it;
        the same numbers as the fused kernel up to float rounding (``selfsup export`` checks 1e-4)."""
        branches = [module for module in self.modules() if isinstance(module, _SSMBranch)]
        saved = [branch.scan for branch in branches]
        for branch in branches:
            branch.scan = "reference"
        try:
            yield
        finally:
            for branch, scan in zip(branches, saved):
                branch.scan = scan

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        out = self.encode(self.embed(batch["x"]))
        return out[:, 0] if self.pool == "cls" else out[:, 1:].mean(1)


def _validate(config: AMBAConfig) -> None:
    checks = [
        (config.size in AMBA_SIZES, f"size={config.size!r} is not one of {sorted(AMBA_SIZES)}"),
        (config.tokens in ("patch", "frame"), f"tokens={config.tokens!r} is not 'patch' or 'frame'"),
        (config.pool in ("mean", "cls"), f"pool={config.pool!r} is not 'mean' or 'cls'"),
        (config.norm in ("layernorm", "rmsnorm"), f"norm={config.norm!r} is not 'layernorm' or 'rmsnorm'"),
        (config.backward_delta_bias in ("zero", "mamba"),
         f"backward_delta_bias={config.backward_delta_bias!r} is not 'zero' or 'mamba'"),
        (config.scan in IMPLEMENTATIONS, f"scan={config.scan!r} is not one of {IMPLEMENTATIONS}"),
        (config.scan_chunk >= 1, f"scan_chunk={config.scan_chunk} must be at least 1"),
        (min(config.d_state, config.d_conv, config.expand) >= 1, "d_state, d_conv and expand must be at least 1"),
        (0.0 <= config.drop_path_rate < 1.0, f"drop_path_rate={config.drop_path_rate} must be in [0, 1)"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"encoder_config.{message}; fix the value in encoder_config.")


def _vim_init(model: AMBAEncoder, depth: int, *, zero_backward_delta_bias: bool = True) -> None:
    """Vim/mamba_ssm ``_init_weights``: zero every linear bias not marked ``_no_reinit`` — in Vim's v2
    mixer only the forward branch's Δ bias (``dt_proj``; ``dt_proj_b``'s bias is zeroed) — and
    ``out_proj`` kaiming-uniform(√5) / √depth."""
    keep = ("forward_branch.dt_proj",) if zero_backward_delta_bias else ("forward_branch.dt_proj", "backward_branch.dt_proj")
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and module.bias is not None and not name.endswith(keep):
            nn.init.zeros_(module.bias)
    for name, param in model.named_parameters():
        if name.endswith("out_proj.weight"):
            nn.init.kaiming_uniform_(param, a=math.sqrt(5))
            with torch.no_grad():
                param.div_(math.sqrt(depth))


def build_amba(config: AMBAConfig, data_info: Mapping[str, Any]) -> AMBAEncoder:
    return AMBAEncoder(config, data_info)

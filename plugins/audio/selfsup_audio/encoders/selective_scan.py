"""The Mamba (S6) selective scan in plain PyTorch, and mamba-ssm's CUDA kernel when present.

The recurrence (Gu & Dao 2023, Algorithm 2; the semantics of mamba-ssm's
``selective_scan_fn``, ``mamba_ssm/ops/selective_scan_interface.py`` ``selective_scan_ref``),
per batch row b, channel d and state n::

    Δ_t   = softplus(delta_t + delta_bias)            (or delta_t + delta_bias)
    h_t   = exp(Δ_t A_dn) · h_{t-1} + Δ_t B_nt u_t     (h_0 = 0)
    y_t   = Σ_n C_nt h_t + D_d u_t
    out_t = y_t · silu(z_t)                           (when z is given)

Shapes as in mamba-ssm: ``u, delta, z`` [b, d, l]; ``A`` [d, n]; ``B, C`` [b, n, l];
``D, delta_bias`` [d].

Four implementations:

* :func:`selective_scan_reference`: a Python loop over time steps, the plain definition.
* :func:`selective_scan_chunked`: a chunked parallel scan. The sequence is cut into chunks
  of ``T`` steps; inside every chunk (all chunks at once) the log-decays after the chunk's
  first step are summed, ``R_t = Σ_{1<k≤t} Δ_k A`` (``R_1 = 0``), and the states are
  ``h_t = exp(R_t) · (exp(Δ_1 A) h_in + Σ_{s≤t} exp(-R_s) Δ_s B_s u_s)`` (cumulative sums in
  the chunk's own log-space, so ``exp(R_t - R_s)`` is the product of the decays from s+1 to
  t); a short recurrence over the chunk ends carries ``h_in`` from chunk to chunk (the only
  sequential part: one step per chunk). ``exp(-R_s)`` is bounded by ``exp(MAX_LOG_RANGE)``
  by shrinking ``T`` whenever ``T - 1`` steps of the steepest decay could exceed
  ``MAX_LOG_RANGE`` (one scalar read per call, a host-device sync on a GPU; a 1-step chunk
  is exact for any decay), so the float32 result never overflows whatever Δ and A the model
  learns. On accelerators the blocks are larger (:data:`BLOCK_ELEMENTS_ACCELERATOR`; untested:
  no GPU was available when this was written). Long
  sequences are processed in blocks of whole chunks (about :data:`BLOCK_LENGTH` steps) with the
  state carried between blocks, and channels in groups (independent), so that each block's
  temporaries hold about :data:`BLOCK_ELEMENTS` values: they stay in cache (the PyTorch scan is
  memory-bound on CPU) and the transient memory of one call stays bounded.
* mamba-ssm's fused CUDA kernel ``selective_scan_fn``, used by :func:`selective_scan`
  automatically when ``mamba_ssm`` imports and the tensors are on a CUDA device.
* the fused CPU kernel of :mod:`selfsup_audio.encoders.cpu_scan` (C, compiled on first use),
  used automatically for CPU tensors when a C compiler is available: the same recurrence with
  the state kept in registers instead of ``[b, d, l, n]`` tensors in memory.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from selfsup.errors import ConfigError

from .cpu_scan import kernel_build_error, load_kernel, selective_scan_cpu_kernel

__all__ = [
    "BLOCK_ELEMENTS",
    "BLOCK_ELEMENTS_ACCELERATOR",
    "BLOCK_LENGTH",
    "IMPLEMENTATIONS",
    "MAX_LOG_RANGE",
    "choose_implementation",
    "mamba_ssm_kernel",
    "selective_scan",
    "selective_scan_chunked",
    "selective_scan_reference",
    "selective_scan_time_major",
]

IMPLEMENTATIONS = ("auto", "cpu-kernel", "chunked", "reference", "mamba-ssm")
#: The largest total log-decay ``-Σ Δ A`` allowed inside one chunk (exp(60) ≈ 1e26 ≪ float32 max 3e38).
MAX_LOG_RANGE = 60.0
#: Sequences are scanned in blocks of about this many steps ...
BLOCK_LENGTH = 256
#: ... and groups of channels, so that one block holds about this many state values (cache-sized
#: temporaries: the scan is memory-bound on CPU; this also bounds the transient memory).
BLOCK_ELEMENTS = 2**18
#: The same budget on accelerators, where fewer, larger kernels matter more than cache size.
BLOCK_ELEMENTS_ACCELERATOR = 2**26


@functools.lru_cache(maxsize=1)
def mamba_ssm_kernel() -> Optional[Callable[..., Tensor]]:
    """mamba-ssm's ``selective_scan_fn`` if the package imports, else ``None`` (cached)."""
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    except Exception:  # not installed, or installed without its CUDA extension
        return None
    return selective_scan_fn


def choose_implementation(impl: str, device: torch.device) -> str:
    """Resolve ``impl`` (one of :data:`IMPLEMENTATIONS`) for tensors on ``device``.

    ``"auto"`` is ``"mamba-ssm"`` when that kernel imports and ``device`` is CUDA, ``"cpu-kernel"``
    when ``device`` is the CPU and the fused CPU kernel builds, else ``"chunked"``.
    """
    if impl not in IMPLEMENTATIONS:
        raise ConfigError(f"scan={impl!r} is not one of {IMPLEMENTATIONS}; 'auto' picks the fastest available.")
    available = mamba_ssm_kernel() is not None
    if impl == "auto":
        if device.type == "cpu":
            return "cpu-kernel" if load_kernel() is not None else "chunked"
        return "mamba-ssm" if available and device.type == "cuda" else "chunked"
    if impl == "cpu-kernel" and not (device.type == "cpu" and load_kernel() is not None):
        reason = "the tensors are not on the CPU" if device.type != "cpu" else kernel_build_error()
        raise ConfigError(
            f"scan='cpu-kernel' is not available: {reason}. Use scan='auto' (it falls back to the chunked "
            "PyTorch scan), or install a C compiler with OpenMP (apt-get install gcc)."
        )
    if impl == "mamba-ssm" and not (available and device.type == "cuda"):
        raise ConfigError(
            "scan='mamba-ssm' needs the mamba_ssm package and CUDA tensors; install mamba-ssm on a GPU "
            "machine, or use scan='auto' (falls back to the chunked PyTorch scan)."
        )
    return impl


def selective_scan(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Optional[Tensor] = None,
    z: Optional[Tensor] = None,
    delta_bias: Optional[Tensor] = None,
    delta_softplus: bool = False,
    *,
    impl: str = "auto",
    chunk_size: int = 64,
) -> Tensor:
    """The selective scan by ``impl`` (see :func:`choose_implementation`); returns [b, d, l]."""
    chosen = choose_implementation(impl, u.device)
    if chosen == "mamba-ssm":
        kernel = mamba_ssm_kernel()
        assert kernel is not None
        return kernel(u, delta, A, B, C, D, z, delta_bias, delta_softplus)
    if chosen == "reference":
        return selective_scan_reference(u, delta, A, B, C, D, z, delta_bias, delta_softplus)
    if chosen == "cpu-kernel":
        return selective_scan_time_major(
            u.transpose(1, 2), delta.transpose(1, 2), A, B.transpose(1, 2), C.transpose(1, 2), D,
            None if z is None else z.transpose(1, 2), delta_bias, delta_softplus, impl=chosen,
        ).transpose(1, 2)
    return selective_scan_chunked(u, delta, A, B, C, D, z, delta_bias, delta_softplus, chunk_size=chunk_size)


def selective_scan_time_major(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Optional[Tensor] = None,
    z: Optional[Tensor] = None,
    delta_bias: Optional[Tensor] = None,
    delta_softplus: bool = False,
    *,
    reverse: bool = False,
    impl: str = "auto",
    chunk_size: int = 64,
) -> Tensor:
    """:func:`selective_scan` in the layout of the Linear layers around it, optionally backwards in time.

    ``u, delta, z`` ``[b, l, d]``, ``B, C`` ``[b, l, n]``; returns ``[b, l, d]``. ``reverse=True``
    equals ``flip(scan(flip(inputs)))`` along time. The CPU kernel reads this layout (and runs
    backwards) in place; the other implementations get transposed (and flipped) copies.
    """
    chosen = choose_implementation(impl, u.device)
    if chosen == "cpu-kernel":
        return selective_scan_cpu_kernel(u, delta, A, B, C, D, z, delta_bias, delta_softplus, reverse=reverse)

    def channel_first(t: Optional[Tensor]) -> Optional[Tensor]:
        return None if t is None else (t.flip(1) if reverse else t).transpose(1, 2)

    y = selective_scan(*(channel_first(t) for t in (u, delta)), A, *(channel_first(t) for t in (B, C)), D,
                       channel_first(z), delta_bias, delta_softplus, impl=chosen, chunk_size=chunk_size)
    y = y.transpose(1, 2)
    return y.flip(1) if reverse else y


def _discretise(delta: Tensor, delta_bias: Optional[Tensor], delta_softplus: bool) -> Tensor:
    if delta_bias is not None:
        delta = delta + delta_bias[..., None].to(delta.dtype)
    return F.softplus(delta) if delta_softplus else delta


def _finish(y: Tensor, u: Tensor, D: Optional[Tensor], z: Optional[Tensor]) -> Tensor:
    if D is not None:
        y = y + u * D[..., None].to(u.dtype)
    if z is not None:
        y = y * F.silu(z)
    return y


def selective_scan_reference(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Optional[Tensor] = None,
    z: Optional[Tensor] = None,
    delta_bias: Optional[Tensor] = None,
    delta_softplus: bool = False,
) -> Tensor:
    """The recurrence of the module docstring, one time step at a time (slow; for tests)."""
    delta = _discretise(delta, delta_bias, delta_softplus)
    batch, dim, length = u.shape
    h = u.new_zeros(batch, dim, A.shape[1])
    ys = []
    for t in range(length):
        decay = torch.exp(delta[:, :, t, None] * A)  # [b, d, n]
        h = decay * h + (delta[:, :, t] * u[:, :, t])[..., None] * B[:, None, :, t]
        ys.append((h * C[:, None, :, t]).sum(-1))
    return _finish(torch.stack(ys, dim=-1), u, D, z)


def _scan_block(
    u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, h0: Optional[Tensor], chunk: int
) -> tuple[Tensor, Tensor]:
    """``y`` [b, d, l] (without D and z) and the final state [b, d, n] of one block.

    Layout ``[b, d, c, n, T]``: the chunk's time axis is innermost, so both cumulative sums run
    over contiguous memory. Without autograd the big temporaries are updated in place.
    """
    batch, dim, length = u.shape
    pad = (-length) % chunk
    if pad:  # Δ = 0 and u = 0 on padded steps: decay 1 and no input, after every real step
        u, delta, B, C = (F.pad(t, (0, pad)) for t in (u, delta, B, C))
    chunks = (length + pad) // chunk
    n = A.shape[1]
    inplace = not (torch.is_grad_enabled() and any(t.requires_grad for t in (u, delta, A, B, C)))
    delta_c = delta.reshape(batch, dim, chunks, 1, chunk)  # [b, d, c, 1, T]
    B_c = B.reshape(batch, 1, n, chunks, chunk).transpose(2, 3)  # [b, 1, c, n, T]
    C_c = C.reshape(batch, 1, n, chunks, chunk).transpose(2, 3)
    A_c = A[:, None, :, None]  # [d, 1, n, 1]
    # R_t = Σ_{1<k≤t} Δ_k A: the log-decay from the chunk's first step to t (R_1 = 0), so a chunk
    # of T steps spans T-1 decays and a 1-step chunk is exact whatever Δ·A is
    later = F.pad(delta_c[..., 1:], (1, 0))  # Δ with the chunk's first step zeroed
    log_decay = torch.cumsum(later * A_c, dim=-1)  # [b, d, c, n, T], ≤ 0
    entry = torch.exp(delta_c[..., 0] * A[:, None, :])  # exp(Δ_1 A) at each chunk's start [b, d, c, n]
    # Σ_{s≤t} exp(-R_s) Δ_s B_s u_s, exp(-R) ≤ exp(MAX_LOG_RANGE) (a product with exp(-R), not a
    # division by exp(R): the gradient stays bounded too, and exp is faster than reciprocal on CPU)
    if inplace:
        summed = torch.neg(log_decay).exp_().mul_(B_c).mul_((delta * u).reshape(batch, dim, chunks, 1, chunk))
        summed = summed.cumsum_(dim=-1)
        decay = log_decay.exp_()
    else:
        decay = torch.exp(log_decay)
        summed = torch.cumsum(torch.exp(-log_decay) * B_c * (delta * u).reshape(batch, dim, chunks, 1, chunk), dim=-1)
    # h_t = exp(R_t) (exp(Δ_1 A) h_in + summed_t); the only sequential part: one step per chunk
    decay_end, summed_end = decay[..., -1], summed[..., -1]  # [b, d, c, n]
    state = h0 if h0 is not None else u.new_zeros(batch, dim, n)
    carried = []
    for c in range(chunks):
        carried.append(entry[:, :, c] * state)
        state = decay_end[:, :, c] * (carried[-1] + summed_end[:, :, c])
    h_in = torch.stack(carried, dim=2)[..., None]  # [b, d, c, n, 1]
    if inplace:
        y = summed.add_(h_in).mul_(decay).mul_(C_c).sum(dim=3)
    else:
        y = ((summed + h_in) * decay * C_c).sum(dim=3)
    return y.reshape(batch, dim, chunks * chunk)[..., :length], state


def selective_scan_chunked(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Optional[Tensor] = None,
    z: Optional[Tensor] = None,
    delta_bias: Optional[Tensor] = None,
    delta_softplus: bool = False,
    *,
    chunk_size: int = 64,
) -> Tensor:
    """The chunked parallel scan of the module docstring; equal to :func:`selective_scan_reference`."""
    if chunk_size < 1:
        raise ConfigError(f"chunk_size={chunk_size} must be at least 1.")
    delta = _discretise(delta, delta_bias, delta_softplus)
    length = u.shape[-1]
    # the largest one-step log-decay sets the chunk length that keeps exp(-S) ≤ exp(MAX_LOG_RANGE)
    with torch.no_grad():
        step = float((delta.detach().abs().amax() * A.detach().abs().amax()).item()) if length else 0.0
    chunk = min(chunk_size, max(length, 1))
    if step > 0 and not math.isinf(step):  # a chunk of T steps spans T-1 one-step decays
        chunk = max(1, min(chunk, 1 + int(MAX_LOG_RANGE // step)))
    # cache blocking: groups of channels × blocks of whole chunks, about BLOCK_ELEMENTS state
    # values each; the state is carried from one time block to the next
    n = A.shape[1]
    block = max(chunk, (min(BLOCK_LENGTH, length) // chunk) * chunk) if length else 1
    budget = BLOCK_ELEMENTS if u.device.type == "cpu" else BLOCK_ELEMENTS_ACCELERATOR
    if u.device.type != "cpu":
        block = max(chunk, (min(max(BLOCK_LENGTH, budget // max(1, u.shape[0] * u.shape[1] * n)), length) // chunk) * chunk)
    group = max(1, budget // max(1, u.shape[0] * n * block))
    # ``split`` rather than indexing: the backward of a split is one concatenation, whereas each
    # indexed slice's backward fills a zero tensor of the whole input (quadratic in the blocks)
    B_blocks, C_blocks = B.split(block, dim=-1), C.split(block, dim=-1)
    outputs = []
    for u_group, delta_group, A_group in zip(u.split(group, dim=1), delta.split(group, dim=1), A.split(group, dim=0)):
        pieces, state = [], None
        for u_block, delta_block, B_block, C_block in zip(
            u_group.split(block, dim=-1), delta_group.split(block, dim=-1), B_blocks, C_blocks
        ):
            piece, state = _scan_block(u_block, delta_block, A_group, B_block, C_block, state, chunk)
            pieces.append(piece)
        outputs.append(torch.cat(pieces, dim=-1) if len(pieces) > 1 else pieces[0])
    y = torch.cat(outputs, dim=1) if len(outputs) > 1 else outputs[0]
    return _finish(y, u, D, z)

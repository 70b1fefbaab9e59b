"""Fused CPU kernels for the Mamba mixer (the selective scan, and the causal convolution with SiLU):
a small C library compiled on first use, with autograd.

The chunked PyTorch scan (:func:`selfsup_audio.encoders.selective_scan.selective_scan_chunked`)
has to write the ``[b, d, l, n]`` states to memory, about fifteen element-wise passes of them,
and keep them for the backward; on a CPU that memory traffic is most of SSAMBA's cost. The
kernel in ``cpu_scan_kernel.c`` (its header gives the forward and backward recurrences) does
what mamba-ssm's CUDA kernel does on a GPU (with its whole interface: Δ bias and softplus, the D
skip and the SiLU(z) gate are fused too): the state stays in registers, the forward stores it
once every ``CHECKPOINT_EVERY`` steps, and the backward recomputes each chunk from its checkpoint.

Building: the first call compiles the kernel with the system C compiler (``$CC`` or ``cc``, with
OpenMP) into ``$SELFSUP_CACHE_DIR/kernels`` (default ``~/.cache/selfsup/kernels``) under a name
that hashes the source, the flags, the compiler and the CPU's feature flags, written atomically
(temporary file, then rename). Later calls and processes load the cached library (the first build
takes about a second). :func:`load_kernel` returns ``None`` when no compiler works; ``scan="auto"``
then falls back to the chunked PyTorch scan, and :func:`kernel_build_error` says why.

The object is compiled with ``-ffast-math`` (vectorised ``log1pf`` from glibc's libmvec; the
exponentials are inlined) but linked without it, so loading the library never switches the
process to flush-to-zero arithmetic.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Optional

import torch
from torch import Tensor

__all__ = [
    "CHECKPOINT_EVERY",
    "MAX_STATE",
    "WIDTH",
    "cache_dir",
    "causal_conv1d_silu",
    "kernel_build_error",
    "load_kernel",
    "selective_scan_cpu_kernel",
]

#: The forward saves the state every this many steps; the backward recomputes in between.
CHECKPOINT_EVERY = 64
#: The largest state size N (each thread of the backward keeps 2 × CHECKPOINT_EVERY × N × WIDTH floats).
MAX_STATE = 256
#: Channels per vector block in the kernel (its ``WIDTH``).
WIDTH = 16
SOURCE = Path(__file__).with_name("cpu_scan_kernel.c")
#: ``-mprefer-vector-width=512``: 16-lane vectors where the CPU has AVX-512 (the kernel's WIDTH);
#: x86-64 only, so it is left out elsewhere.
COMPILE_FLAGS = ("-O3", "-march=native", "-ffast-math", "-fopenmp", "-fPIC", "-std=c11") + (
    ("-mprefer-vector-width=512",) if platform.machine().lower() in ("x86_64", "amd64") else ()
)
LINK_FLAGS = ("-shared", "-fopenmp", "-lmvec", "-lm")
_build_error: Optional[str] = None


def cache_dir() -> Path:
    """Where compiled kernels are kept: ``$SELFSUP_CACHE_DIR/kernels`` or ``~/.cache/selfsup/kernels``."""
    root = os.environ.get("SELFSUP_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "selfsup"
    )
    return Path(root) / "kernels"


def kernel_build_error() -> Optional[str]:
    """Why the last :func:`load_kernel` returned ``None`` (the compiler's message), else ``None``."""
    return _build_error


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return next((line for line in info if line.startswith(("flags", "Features"))), "")
    except OSError:
        return ""


def _compiler() -> Optional[str]:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


class _ScanInputs(ctypes.Structure):
    """The kernel's ``scan_inputs``: u, delta, z, B, C and their (batch, time) strides."""

    _fields_ = [(name, ctypes.c_void_p) for name in ("u", "delta", "z", "B", "C")] + [
        (f"{name}_{kind}", ctypes.c_long) for name in ("u", "delta", "z", "B", "C") for kind in ("sb", "st")
    ]


@functools.lru_cache(maxsize=1)
def load_kernel() -> Optional[ctypes.CDLL]:
    """The compiled kernel library (built and cached on first use), or ``None`` without a compiler."""
    global _build_error
    compiler = _compiler()
    if compiler is None:
        _build_error = "no C compiler found (set $CC, or install gcc: apt-get install gcc)"
        return None
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=True).stdout
        key = hashlib.sha256(
            "\0".join([SOURCE.read_text(), *COMPILE_FLAGS, *LINK_FLAGS, version, _cpu_flags()]).encode()
        ).hexdigest()[:16]
        target = cache_dir() / f"selective_scan_{key}.so"
        if not target.exists():
            _build(compiler, target)
        library = ctypes.CDLL(str(target))
    except (OSError, subprocess.CalledProcessError) as error:
        stderr = getattr(error, "stderr", None)
        _build_error = f"{error}" + (f": {stderr.strip()}" if stderr else "")
        return None
    long_, float_p, int_ = ctypes.c_long, ctypes.c_void_p, ctypes.c_int
    library.selective_scan_forward.argtypes = [_ScanInputs] + [float_p] * 3 + [int_] * 2 + [float_p] * 2 + [long_] * 6 + [int_]
    library.selective_scan_forward.restype = None
    library.selective_scan_backward.argtypes = (
        [_ScanInputs] + [float_p] * 3 + [int_] * 2 + [float_p] * 10 + [long_] * 6 + [int_]
    )
    library.selective_scan_backward.restype = None
    library.causal_conv_silu_forward.argtypes = [float_p, long_, long_, float_p, float_p, int_, float_p] + [long_] * 4 + [int_]
    library.causal_conv_silu_forward.restype = None
    library.causal_conv_silu_backward.argtypes = (
        [float_p, long_, long_, float_p, float_p, int_] + [float_p] * 4 + [long_] * 4 + [int_]
    )
    library.causal_conv_silu_backward.restype = None
    _build_error = None
    return library


def _build(compiler: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        obj, lib = Path(scratch) / "kernel.o", Path(scratch) / "kernel.so"
        subprocess.run([compiler, *COMPILE_FLAGS, "-c", str(SOURCE), "-o", str(obj)],
                       capture_output=True, text=True, check=True)
        subprocess.run([compiler, str(obj), "-o", str(lib), *LINK_FLAGS], capture_output=True, text=True, check=True)
        os.replace(lib, target)  # atomic: a concurrent process sees the old name or the whole library


def _ptr(tensor: Optional[Tensor]) -> Optional[int]:
    return None if tensor is None else tensor.data_ptr()


def _inner_contiguous(tensor: Optional[Tensor]) -> Optional[Tensor]:
    """float32 with a unit stride on the last axis (views into wider projections are kept as views)."""
    if tensor is None:
        return None
    tensor = tensor.float()
    return tensor if tensor.stride(-1) == 1 else tensor.contiguous()


def _scan_inputs(u: Tensor, delta: Tensor, z: Optional[Tensor], B: Tensor, C: Tensor) -> _ScanInputs:
    fields: dict[str, Any] = {}
    for name, tensor in (("u", u), ("delta", delta), ("z", z), ("B", B), ("C", C)):
        fields[name] = _ptr(tensor)
        fields[f"{name}_sb"], fields[f"{name}_st"] = (0, 0) if tensor is None else tensor.stride()[:2]
    return _ScanInputs(**fields)


def _channel_groups(dim: int, batch: int, threads: int) -> int:
    """Groups of channel blocks, so that (group, batch row) work items keep every thread busy."""
    return max(1, min(-(-dim // WIDTH), -(-threads // batch)))


class _FusedScan(torch.autograd.Function):
    """The time-major scan of :func:`selective_scan_cpu_kernel` on float32 CPU tensors."""

    @staticmethod
    def forward(ctx: Any, u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor, D: Optional[Tensor],
                z: Optional[Tensor], delta_bias: Optional[Tensor], delta_softplus: bool, reverse: bool) -> Tensor:
        library = load_kernel()
        assert library is not None
        batch, length, dim = u.shape
        n_state = A.shape[1]
        A_t = A.t().contiguous()  # [n, d]: a block of channels is contiguous
        y = u.new_empty(batch, length, dim)
        chunk = min(CHECKPOINT_EVERY, max(length, 1))
        checkpoints = u.new_empty(batch, -(-length // chunk), n_state, dim)
        threads = torch.get_num_threads()
        library.selective_scan_forward(
            _scan_inputs(u, delta, z, B, C), _ptr(A_t), _ptr(D), _ptr(delta_bias), int(delta_softplus),
            int(reverse), _ptr(y), _ptr(checkpoints), batch, dim, length, n_state, chunk,
            _channel_groups(dim, batch, threads), threads,
        )
        ctx.save_for_backward(u, delta, A_t, B, C, D, z, delta_bias, checkpoints)
        ctx.chunk, ctx.delta_softplus, ctx.reverse = chunk, delta_softplus, reverse
        return y

    @staticmethod
    def backward(ctx: Any, grad_y: Tensor) -> tuple[Optional[Tensor], ...]:
        library = load_kernel()
        assert library is not None
        u, delta, A_t, B, C, D, z, delta_bias, checkpoints = ctx.saved_tensors
        batch, length, dim = u.shape
        n_state = A_t.shape[0]
        threads = torch.get_num_threads()
        groups = _channel_groups(dim, batch, threads)
        grad_y = grad_y.float().contiguous()
        grad_u, grad_delta = u.new_empty(batch, length, dim), u.new_empty(batch, length, dim)
        grad_z = None if z is None else u.new_empty(batch, length, dim)
        grad_A = u.new_empty(batch, n_state, dim)
        grad_B, grad_C = u.new_zeros(2, groups, batch, length, n_state).unbind(0)
        grad_D, grad_bias = u.new_empty(2, batch, dim).unbind(0)
        library.selective_scan_backward(
            _scan_inputs(u, delta, z, B, C), _ptr(A_t), _ptr(D), _ptr(delta_bias), int(ctx.delta_softplus),
            int(ctx.reverse), _ptr(checkpoints), _ptr(grad_y), _ptr(grad_u), _ptr(grad_delta), _ptr(grad_z),
            _ptr(grad_A), _ptr(grad_B), _ptr(grad_C), _ptr(grad_D), _ptr(grad_bias),
            batch, dim, length, n_state, ctx.chunk, groups, threads,
        )
        return (
            grad_u, grad_delta, grad_A.sum(0).t(), grad_B.sum(0), grad_C.sum(0),
            None if D is None else grad_D.sum(0), grad_z, None if delta_bias is None else grad_bias.sum(0),
            None, None,
        )


def selective_scan_cpu_kernel(
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
) -> Tensor:
    """The whole selective scan (Δ bias and softplus, D skip, SiLU(z) gate) by the fused C kernel, time-major.

    ``u, delta, z`` are ``[b, l, d]`` and ``B, C`` ``[b, l, n]`` (the layout of the Linear layers
    around the scan; views with a unit last stride are read in place), ``A`` ``[d, n]``, ``D`` and
    ``delta_bias`` ``[d]``; returns ``y`` ``[b, l, d]``. ``reverse`` scans from the last step to the
    first (``flip(scan(flip(·)))`` without the flips). Inputs of any floating dtype are computed in
    float32; ``y`` comes back in ``u``'s dtype. Needs :func:`load_kernel` to have succeeded, CPU
    tensors and a state size of at most :data:`MAX_STATE`.
    """
    if A.shape[1] > MAX_STATE:
        raise ValueError(f"the CPU scan kernel keeps at most {MAX_STATE} state values per channel, got {A.shape[1]}")
    args = [_inner_contiguous(t) for t in (u, delta)] + [A.float()] + [_inner_contiguous(t) for t in (B, C)]
    args += [None if t is None else t.float().contiguous() for t in (D,)] + [_inner_contiguous(z)]
    args += [None if delta_bias is None else delta_bias.float().contiguous()]
    return _FusedScan.apply(*args, bool(delta_softplus), bool(reverse)).to(u.dtype)


class _FusedConvSiLU(torch.autograd.Function):
    """``silu(causal depthwise conv(x))`` time-major on float32 CPU tensors; see :func:`causal_conv1d_silu`."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight_t: Tensor, bias: Tensor, reverse: bool) -> Tensor:
        library = load_kernel()
        assert library is not None
        batch, length, dim = x.shape
        u = x.new_empty(batch, length, dim)
        library.causal_conv_silu_forward(
            _ptr(x), x.stride(0), x.stride(1), _ptr(weight_t), _ptr(bias), int(reverse), _ptr(u),
            batch, length, dim, weight_t.shape[0], torch.get_num_threads(),
        )
        ctx.save_for_backward(x, weight_t, bias)
        ctx.reverse = reverse
        return u

    @staticmethod
    def backward(ctx: Any, grad_u: Tensor) -> tuple[Optional[Tensor], ...]:
        library = load_kernel()
        assert library is not None
        x, weight_t, bias = ctx.saved_tensors
        batch, length, dim = x.shape
        width = weight_t.shape[0]
        grad_u = grad_u.float().contiguous()
        grad_x = x.new_empty(batch, length, dim)
        grad_w, grad_bias = x.new_empty(batch, width, dim), x.new_empty(batch, dim)
        library.causal_conv_silu_backward(
            _ptr(x), x.stride(0), x.stride(1), _ptr(weight_t), _ptr(bias), int(ctx.reverse), _ptr(grad_u),
            _ptr(grad_x), _ptr(grad_w), _ptr(grad_bias), batch, length, dim, width, torch.get_num_threads(),
        )
        return grad_x, grad_w.sum(0), grad_bias.sum(0), None


def causal_conv1d_silu(x: Tensor, weight: Tensor, bias: Tensor, *, reverse: bool = False) -> Tensor:
    """``silu`` of the causal depthwise convolution of a Mamba branch, time-major, by the C kernel.

    ``x`` ``[b, l, d]`` (a view with a unit channel stride is read in place), ``weight``
    ``[d, 1, K]`` and ``bias`` ``[d]`` as ``nn.Conv1d(d, d, K, groups=d)``; returns ``[b, l, d]``
    equal to ``silu(conv1d(x.transpose(1, 2), padding=K-1)[..., :l]).transpose(1, 2)``. With
    ``reverse`` the convolution looks ahead instead (the branch on the time-reversed sequence,
    reversed back). Computed in float32, returned in ``x``'s dtype.
    """
    weight_t = weight.float()[:, 0, :].t().contiguous()  # [K, d]
    return _FusedConvSiLU.apply(_inner_contiguous(x), weight_t, bias.float().contiguous(), bool(reverse)).to(x.dtype)

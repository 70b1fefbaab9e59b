"""``selfsup export``: a run's encoder as ONNX, TorchScript or safetensors, verified on real inputs.

The exported folder holds the encoder file, the run's preprocessing state
(``preprocessing.json``, and ``preprocessing.safetensors`` when it has tensors) and
``export.json``: the format, the encoder's tensor inputs (batch keys, dtypes, shapes with
their dynamic dimensions named), the embedding width, what the check compared and the
largest difference found. Every export is checked against the eager encoder on two real
batches of different sizes (the given inputs, or the run's own test split) before
``export.json`` is written; a difference above ``atol`` raises :class:`ExportError`.

An encoder may declare what it cannot do with two class attributes:
``export_formats: tuple[str, ...]`` (the formats that work) and ``export_note: str`` (why
the others do not); :class:`ExportError` then names the working formats before trying.

An encoder whose batches hold more than tensors (a torch-geometric ``Batch``) can still be
traced when it offers ``export_batch(batch) -> dict[str, Tensor]`` (:class:`TensorBatchEncoder`):
the same batch as plain tensors, which its ``forward`` also accepts. The export's inputs are
those tensors (``export.json`` names them), and the check compares the traced graph on them
with the eager encoder on the original batch.

An encoder whose fast path cannot be traced (a compiled kernel, a data-dependent chunking) but
that has an equivalent plain-torch path can offer ``traceable()``, a context manager inside
which its ``forward`` takes that path (:class:`TraceableEncoder`); the export traces inside it
and still compares with the eager encoder's fast path outside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from .embed import open_run
from .errors import ConfigError, DatasetError, ExportError, MissingDependencyError
from .preprocessing import PREPROCESSING_FILE, PREPROCESSING_TENSORS_FILE

__all__ = ["FORMATS", "export", "TensorInputs", "TensorBatchEncoder", "TraceableEncoder", "encoder_inputs", "load_safetensors_export"]

#: Export formats and the file each writes.
FORMATS = {"onnx": "encoder.onnx", "torchscript": "encoder.pt", "safetensors": "encoder.safetensors"}
#: Batch keys an encoder never reads as an input.
_NOT_INPUTS = ("label", "eval_mask")


@runtime_checkable
class TensorBatchEncoder(Protocol):
    """An encoder that can take its batch as plain tensors (for ONNX and TorchScript)."""

    def export_batch(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """The same inputs as tensors only; ``forward`` on them equals ``forward(batch)``."""


@runtime_checkable
class TraceableEncoder(Protocol):
    """An encoder with a plain-torch path for tracing (see the module docstring)."""

    def traceable(self) -> contextlib.AbstractContextManager[Any]:
        """A context inside which ``forward`` uses only traceable torch operations."""


class _Recorder(dict):  # type: ignore[type-arg]
    """A batch that remembers which keys the encoder read."""

    def __init__(self, batch: Mapping[str, Any]) -> None:
        super().__init__(batch)
        self.read: list[str] = []

    def __getitem__(self, key: str) -> Any:
        if key not in self.read:
            self.read.append(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        if key in self and key not in self.read:
            self.read.append(key)
        return super().get(key, default)


def encoder_inputs(encoder: nn.Module, batch: Mapping[str, Any]) -> list[str]:
    """The batch keys ``encoder`` reads, in the order it reads them (labels excluded)."""
    recorder = _Recorder({k: v for k, v in batch.items() if k not in _NOT_INPUTS})
    with torch.no_grad():
        encoder(recorder)
    return list(recorder.read)


class TensorInputs(nn.Module):
    """``forward(*tensors)``: the encoder on ``dict(zip(keys, tensors))``, so it can be traced."""

    def __init__(self, encoder: nn.Module, keys: Sequence[str]) -> None:
        super().__init__()
        self.encoder = encoder
        self.keys = list(keys)

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.encoder(dict(zip(self.keys, tensors)))


def _example_batches(resolved: Any, transform: Any, inputs: Any) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Two real batches of different sizes, and where they came from."""
    if inputs is not None:
        items = [item for _, item in transform.read(inputs)]
        where = f"{len(items)} input(s) from {str(inputs)!r}"
        if not items:
            raise DatasetError(f"No inputs found in {inputs!r}. Point data.root at a file or folder of new inputs.")
        first = items[: min(4, len(items))]
        second = items[1 : 1 + min(len(items) - 1, 2)] or first
        return transform.batch(first)[0], transform.batch(second)[0], where
    data = resolved.dataset.resolve_factory()(resolved.component_config("data"))
    split = "test" if "test" in data.splits else "train"
    dataset = data.split(split)
    n = len(dataset)
    if data.full_batch or n < 2:
        batch = data.collate([dataset[0]])
        return batch, batch, f"the run's {split} split ({resolved.dataset.name})"
    first = data.collate([dataset[i] for i in range(min(4, n))])
    second = data.collate([dataset[i] for i in range(1, 1 + min(n - 1, 2))])
    return first, second, f"the run's {split} split ({resolved.dataset.name})"


def _tensors(batch: Mapping[str, Any], keys: Sequence[str], culprit: str) -> tuple[torch.Tensor, ...]:
    for key in keys:
        if not isinstance(batch[key], torch.Tensor):
            raise ExportError(
                f"{culprit} reads batch[{key!r}], a {type(batch[key]).__name__} rather than a tensor, so it "
                "cannot be traced to ONNX or TorchScript. Export it with format=safetensors."
            )
    return tuple(batch[key] for key in keys)


def _compare(expected: torch.Tensor, got: Any, atol: float, what: str, fmt: str) -> float:
    got = torch.as_tensor(np.asarray(got)) if not isinstance(got, torch.Tensor) else got
    if tuple(got.shape) != tuple(expected.shape):
        raise ExportError(
            f"The {fmt} export returns shape {tuple(got.shape)} on {what} but the encoder {tuple(expected.shape)}: "
            "the traced graph is specialised to the example's sizes. Export with format=safetensors."
        )
    diff = float((got.float() - expected.float()).abs().max()) if expected.numel() else 0.0
    if not diff <= atol:
        raise ExportError(
            f"The {fmt} export differs from the encoder by {diff:.3g} (> {atol:g}) on {what}. "
            "Export with format=safetensors, which reloads the exact weights."
        )
    return diff


def export(
    run_dir: str | Path,
    format: str = "onnx",
    *,
    out: str | Path | None = None,
    inputs: Any = None,
    atol: float = 1e-4,
    plugins: Sequence[Any] = (),
) -> Path:
    """Export the encoder of ``run_dir`` to ``out`` (default ``run_dir/export-<format>``).

    ``inputs`` (a file or folder the run's dataset reads) gives the real batches the
    export is traced and checked on; without it, the run's own dataset (its test split)
    is rebuilt from the saved config. Returns the folder.
    """
    fmt = str(format).lower()
    if fmt not in FORMATS:
        raise ConfigError(f"format={format!r} is not one of {', '.join(FORMATS)}.")
    run_dir = Path(run_dir)
    resolved, encoder, transform = open_run(run_dir, plugins=plugins)
    culprit = f"Encoder '{resolved.encoder.name}' ({resolved.encoder.provider})"
    allowed = tuple(getattr(encoder, "export_formats", FORMATS))
    if fmt not in allowed:
        note = getattr(encoder, "export_note", "")
        raise ExportError(f"{culprit} cannot be exported to {fmt}{': ' + note if note else ''}. Use format={allowed[0]}.")
    target = Path(out) if out is not None else run_dir / f"export-{fmt}"
    first, second, where = _example_batches(resolved, transform, inputs)
    with torch.no_grad():
        expected = (encoder(first).float(), encoder(second).float())
    if fmt != "safetensors" and isinstance(encoder, TensorBatchEncoder):
        first, second = encoder.export_batch(first), encoder.export_batch(second)
    keys = encoder_inputs(encoder, first)
    target.mkdir(parents=True, exist_ok=True)
    path = target / FORMATS[fmt]
    partial = target / f".{path.name}.{os.getpid()}.tmp"
    try:
        if fmt == "safetensors":
            diffs, inputs_spec = _export_safetensors(run_dir, resolved, encoder, partial, (first, second))
        else:
            args = (_tensors(first, keys, culprit), _tensors(second, keys, culprit))
            wrapper = TensorInputs(encoder, keys).eval()
            inputs_spec = _input_spec(keys, args)
            with encoder.traceable() if isinstance(encoder, TraceableEncoder) else contextlib.nullcontext():
                if fmt == "torchscript":
                    diffs = _export_torchscript(wrapper, args, expected, partial, atol, culprit)
                else:
                    diffs = _export_onnx(wrapper, keys, args, expected, partial, atol, culprit, inputs_spec)
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()
    for name in (PREPROCESSING_FILE, PREPROCESSING_TENSORS_FILE):
        if (run_dir / name).exists():
            shutil.copyfile(run_dir / name, target / f".{name}.tmp")
            os.replace(target / f".{name}.tmp", target / name)
    manifest = {
        "format": fmt,
        "file": path.name,
        "modality": resolved.config.modality,
        "encoder": resolved.encoder.name,
        "dataset": resolved.dataset.name,
        "provider": resolved.encoder.provider,
        "embed_dim": int(encoder.embed_dim),
        "inputs": inputs_spec,
        "output": "embedding",
        "verified_on": where,
        "max_abs_diff": max(diffs),
        "atol": atol,
        "run_dir": str(run_dir),
    }
    tmp = target / ".export.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, target / "export.json")
    return target


def _input_spec(keys: Sequence[str], args: tuple[tuple[torch.Tensor, ...], ...]) -> list[dict[str, Any]]:
    """Per input: name, dtype, and shape with dimensions that differ between the two batches named."""
    spec = []
    for key, a, b in zip(keys, args[0], args[1]):
        shape: list[Any] = [
            int(n) if a.dim() == b.dim() and a.shape[d] == b.shape[d] else f"{key}_dim{d}"
            for d, n in enumerate(a.shape)
        ]
        spec.append({"name": key, "dtype": str(a.dtype).removeprefix("torch."), "shape": shape})
    return spec


def _export_torchscript(
    wrapper: nn.Module, args: Any, expected: Any, partial: Path, atol: float, culprit: str
) -> list[float]:
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.11 deprecates torch.jit; it still works
            traced = torch.jit.trace(wrapper, args[0], check_trace=False)
            torch.jit.save(traced, str(partial))
            loaded = torch.jit.load(str(partial))
        with torch.no_grad():
            outputs = [loaded(*a) for a in args]
    except ExportError:
        raise
    except Exception as exc:  # noqa: BLE001 - tracing fails in many ways; the message says which
        raise ExportError(
            f"{culprit} could not be traced to TorchScript ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}). "
            "Export it with format=safetensors."
        ) from exc
    return [_compare(e, o, atol, f"real batch {i + 1}", "torchscript") for i, (e, o) in enumerate(zip(expected, outputs))]


def _export_onnx(
    wrapper: nn.Module, keys: Sequence[str], args: Any, expected: Any, partial: Path, atol: float, culprit: str,
    spec: list[dict[str, Any]],
) -> list[float]:
    try:
        import onnx  # noqa: F401 - the exporter needs it
        import onnxruntime
    except ImportError as exc:
        raise MissingDependencyError(
            "format=onnx needs onnx and onnxruntime. Install them: pip install 'selfsup[export]'."
        ) from exc
    dynamic = {s["name"]: {d: n for d, n in enumerate(s["shape"]) if isinstance(n, str)} for s in spec}
    fastpath = torch.backends.mha.get_fastpath_enabled()
    try:
        # nn.MultiheadAttention's inference fast path is one fused op that ONNX lacks: trace the plain ops
        torch.backends.mha.set_fastpath_enabled(False)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper, args[0], str(partial), dynamo=False, input_names=list(keys), output_names=["embedding"],
                dynamic_axes={**{k: v for k, v in dynamic.items() if v}, "embedding": {0: "rows"}},
                opset_version=17,
            )
        session = onnxruntime.InferenceSession(str(partial), providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        outputs = [
            session.run(None, {k: t.numpy() for k, t in zip(keys, a) if k in names})[0] for a in args
        ]
    except ExportError:
        raise
    except Exception as exc:  # noqa: BLE001 - the exporter and onnxruntime raise many types
        raise ExportError(
            f"{culprit} could not be exported to ONNX ({type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}). "
            "Export it with format=torchscript or format=safetensors."
        ) from exc
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return [_compare(e, o, atol, f"real batch {i + 1}", "onnx") for i, (e, o) in enumerate(zip(expected, outputs))]


def _export_safetensors(
    run_dir: Path, resolved: Any, encoder: nn.Module, partial: Path, batches: Sequence[Mapping[str, Any]]
) -> tuple[list[float], list[dict[str, Any]]]:
    from safetensors.torch import save_file

    from .saved_run import DATA_INFO_FILE

    save_file({k: v.detach().contiguous().cpu() for k, v in encoder.state_dict().items()}, str(partial))
    meta = {
        "modality": resolved.config.modality,
        "encoder": f"{resolved.encoder.plugin}:{resolved.encoder.name}" if resolved.encoder.plugin else resolved.encoder.name,
        "encoder_config": _container(resolved.component_config("encoder_config")),
        "data_info": json.loads((run_dir / DATA_INFO_FILE).read_text()),
        "seed": int(resolved.config.seed),
    }
    tmp = partial.with_name(".encoder.json.tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp, partial.parent / "encoder.json")
    rebuilt = load_safetensors_export(partial.parent, weights=partial)
    diffs = []
    with torch.no_grad():
        for i, batch in enumerate(batches):
            diffs.append(_compare(encoder(batch).float(), rebuilt(batch).float(), 0.0, f"real batch {i + 1}", "safetensors"))
    return diffs, [{"name": "batch", "dtype": "dict", "shape": "as the run's dataset collates it"}]


def _container(config: Any) -> Any:
    import dataclasses

    from omegaconf import OmegaConf

    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if OmegaConf.is_config(config):
        return OmegaConf.to_container(config, resolve=True)
    return config


def load_safetensors_export(folder: str | Path, *, weights: Path | None = None, plugins: Sequence[Any] = ()) -> nn.Module:
    """Rebuild the encoder of a ``format=safetensors`` export (``encoder.json`` + weights)."""
    from omegaconf import OmegaConf
    from safetensors.torch import load_file

    from .registry import get_registry
    from .saved_run import build_encoder

    folder = Path(folder)
    meta = json.loads((folder / "encoder.json").read_text())
    spec = get_registry(plugins).get("encoder", meta["encoder"], modality=meta["modality"])
    merged = OmegaConf.merge(OmegaConf.structured(spec.config_cls), meta["encoder_config"])
    config = OmegaConf.to_object(merged)
    encoder = build_encoder(spec, config, meta["data_info"], int(meta["seed"]))
    encoder.load_state_dict(load_file(str(weights or folder / FORMATS["safetensors"])))
    return encoder.eval()

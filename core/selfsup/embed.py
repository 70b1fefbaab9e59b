"""``selfsup.embed``: a trained encoder on new raw inputs, with the run's saved preprocessing.

The run's dataset spec rebuilds its "raw inputs -> batch" transform
(:class:`~selfsup.preprocessing.InputTransform`) from the run's dataset config and the
``preprocessing.json`` state saved at pretraining time; the encoder comes from
:func:`selfsup.load_encoder`. Embeddings are written with their ids, atomically.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .engine.device import move_to_device
from .errors import ConfigError, DatasetError, MissingDependencyError
from .preprocessing import InputTransform, load_state

__all__ = ["Embeddings", "embed", "open_run", "iter_batches", "OUT_SUFFIXES"]

#: The output formats ``embed(out=...)`` writes, by file suffix.
OUT_SUFFIXES = (".npy", ".parquet")


@dataclass
class Embeddings:
    """What :func:`embed` returns: one row per input, or per point / node of each input."""

    #: The input each row belongs to (a file name, or a row number of a table).
    ids: list[str]
    #: ``float32 [rows, embed_dim]``.
    vectors: np.ndarray
    #: ``"input"`` (one row per input) or ``"unit"`` (one row per point / node).
    layout: str = "input"
    #: With ``layout="unit"``: the point / node index of each row within its input.
    index: list[int] | None = None

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``.npy`` (the matrix, plus ``<stem>.ids.csv``: ``id[,index]`` per row) or
        ``.parquet`` (columns ``id``, [``index``,] ``embedding``); atomically."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in OUT_SUFFIXES:
            raise ConfigError(f"out={str(path)!r}: write embeddings to a {' or '.join(OUT_SUFFIXES)} file.")
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".npy":
            ids_path = path.with_name(f"{path.stem}.ids.csv")
            _atomic(ids_path, lambda tmp: tmp.write_text(self._ids_csv()))
            _atomic(path, lambda tmp: np.save(tmp, self.vectors, allow_pickle=False), suffix=".npy")
            return path
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise MissingDependencyError(
                "Writing embeddings to Parquet needs pyarrow. Install it (pip install pyarrow), or write out=<file>.npy."
            ) from exc
        dim = int(self.vectors.shape[1])
        flat = pa.array(np.ascontiguousarray(self.vectors, dtype=np.float32).reshape(-1))
        columns: dict[str, Any] = {"id": pa.array(self.ids, type=pa.string())}
        if self.index is not None:
            columns["index"] = pa.array(self.index, type=pa.int64())
        columns["embedding"] = pa.FixedSizeListArray.from_arrays(flat, dim)
        table = pa.table(columns)
        _atomic(path, lambda tmp: pq.write_table(table, tmp))
        return path

    def _ids_csv(self) -> str:
        def quote(value: str) -> str:
            return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n\r') else value

        if self.index is None:
            return "id\n" + "".join(f"{quote(i)}\n" for i in self.ids)
        return "id,index\n" + "".join(f"{quote(i)},{j}\n" for i, j in zip(self.ids, self.index))


def _atomic(path: Path, write: Any, suffix: str = "") -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def open_run(run_dir: str | Path, *, plugins: Sequence[Any] = ()) -> tuple[Any, nn.Module, InputTransform]:
    """``(resolved config, encoder in eval mode, input transform)`` of a finished run."""
    from .saved_run import load_encoder, resolve_saved_run

    run_dir = Path(run_dir)
    resolved = resolve_saved_run(run_dir, {}, plugins)
    spec = resolved.dataset
    factory = spec.resolve_input_transform()
    if factory is None:
        raise ConfigError(
            f"Dataset '{spec.name}' ({spec.provider}) provides no input_transform, so its runs cannot embed "
            "new raw inputs. Ask its author to add one (docs/plugins.md, 'DatasetSpec.input_transform')."
        )
    encoder = load_encoder(run_dir, plugins=plugins)
    transform = factory(resolved.component_config("data"), load_state(run_dir))
    return resolved, encoder, transform


def iter_batches(
    transform: InputTransform, items: Sequence[Any], batch_size: int
) -> Iterator[tuple[int, int, dict[str, Any], list[int]]]:
    """``(start, stop, batch, units)`` over consecutive chunks of ``items``."""
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        batch, units = transform.batch(chunk)
        if len(units) != len(chunk):
            raise DatasetError(
                f"{type(transform).__name__}.batch returned {len(units)} unit counts for {len(chunk)} inputs. "
                "Please report this to the plugin author."
            )
        yield start, start + len(chunk), batch, list(units)


def embed(
    run_dir: str | Path,
    inputs: Any,
    *,
    out: str | os.PathLike[str] | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    plugins: Sequence[Any] = (),
) -> Embeddings:
    """Embed new raw ``inputs`` with the encoder of the run in ``run_dir``.

    ``inputs`` is what the run's dataset reads: a file or folder path (CSV/Parquet tables,
    WAV/FLAC clips, images, PLY/PCD/OBJ clouds and meshes, SMILES CSVs, TU folders; see
    each modality's page), or an object its transform accepts (a ``pandas.DataFrame`` for
    tables). The run's fitted preprocessing is applied as during pretraining. With
    ``out`` (``.npy`` or ``.parquet``) the embeddings are also written, atomically.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size={batch_size} must be at least 1.")
    if out is not None and Path(out).suffix.lower() not in OUT_SUFFIXES:
        raise ConfigError(f"out={str(out)!r}: write embeddings to a {' or '.join(OUT_SUFFIXES)} file.")
    _, encoder, transform = open_run(run_dir, plugins=plugins)
    pairs = transform.read(inputs)
    if not pairs:
        raise DatasetError(f"No inputs found in {inputs!r}. Point data.root at a file or folder of new inputs.")
    ids = [str(i) for i, _ in pairs]
    items = [item for _, item in pairs]
    target = torch.device(device)
    encoder.to(target)
    rows: list[np.ndarray] = []
    row_ids: list[str] = []
    row_index: list[int] = []
    per_unit = False
    with torch.inference_mode():
        for start, stop, batch, units in iter_batches(transform, items, batch_size):
            output = encoder(move_to_device(batch, target)).float().cpu()
            count = stop - start
            # one row per input, or (a different count) one row per point / node
            unit_rows = output.shape[0] != count
            if unit_rows and output.shape[0] != sum(units):
                raise DatasetError(
                    f"The encoder returned {output.shape[0]} rows for {count} inputs holding {sum(units)} "
                    "points/nodes; expected one of the two. Please report this to the plugin author."
                )
            per_unit = per_unit or unit_rows
            rows.append(output.numpy())
            for offset, n in enumerate(units if unit_rows else [1] * count):
                row_ids.extend([ids[start + offset]] * n)
                row_index.extend(range(n))
    result = Embeddings(
        ids=row_ids,
        vectors=np.concatenate(rows).astype(np.float32, copy=False),
        layout="unit" if per_unit else "input",
        index=row_index if per_unit else None,
    )
    if out is not None:
        result.save(out)
    return result


class _CallableModule(types.ModuleType):
    """Importing ``selfsup.embed`` (this module) rebinds the package attribute ``selfsup.embed``
    to the module; calling the module calls :func:`embed`, so ``selfsup.embed(run_dir, inputs)``
    works either way."""

    def __call__(self, *args: Any, **kwargs: Any) -> Embeddings:
        return embed(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

"""Writing a distilled set in its modality's own format, with a manifest (every file atomic).

Into ``out/``:

* ``distilled.safetensors``: every input key, ``targets`` (Y_s) and ``label`` (the initial rows'
  labels) exactly, with the project's checksum (:func:`selfsup.safe_files.save_weights`);
* images (a float key ``[N, C, H, W]``, C ∈ {1, 3}, values in [−1, 1] as the vision batches):
  ``images/NNNNN.png`` (8-bit, via Pillow);
* tables (2-D keys): ``rows.csv``, one column per feature, named from ``data_info``'s
  ``numerical_names``/``categorical_names`` when they fit, else ``<key>_<j>``;
* other shapes (audio features ``[N, T, F]``): the safetensors file only;
* ``manifest.json``: the run, the settings, the files with their SHA-256, the loss record and
  the transfer scores.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..errors import MissingDependencyError
from ..safe_files import save_weights
from .distill import DistilledSet

__all__ = ["write_distilled", "MANIFEST"]

MANIFEST = "manifest.json"


def _atomic_bytes(path: Path, payload: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _png_bytes(image: torch.Tensor) -> bytes:
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - Pillow comes with the vision plugin
        raise MissingDependencyError("Writing distilled images needs Pillow. Install it with: pip install pillow") from exc
    pixels = ((image.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    array = pixels[0].numpy() if pixels.shape[0] == 1 else pixels.permute(1, 2, 0).contiguous().numpy()
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _columns(key: str, width: int, info: Mapping[str, Any]) -> list[str]:
    names = info.get(f"{key}_names") or info.get({"numerical": "numerical_names", "categorical": "categorical_names"}.get(key, ""))
    if isinstance(names, list) and len(names) == width:
        return [str(n) for n in names]
    return [f"{key}_{j}" for j in range(width)]


def write_distilled(out: Path, distilled: DistilledSet, info: Mapping[str, Any], record: Mapping[str, Any]) -> Path:
    """Write ``distilled`` into ``out`` (created); return the manifest's path."""
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    tensors = {**{f"input.{k}": v for k, v in distilled.inputs.items()}, "targets": distilled.targets}
    save_weights(tensors, out / "distilled.safetensors")
    files["distilled.safetensors"] = "all inputs, targets (Y_s) and the initial rows' labels"
    formats = []
    image_keys = [k for k, v in distilled.inputs.items() if v.ndim == 4 and v.shape[1] in (1, 3) and v.is_floating_point()]
    for key in image_keys:
        folder = out / ("images" if len(image_keys) == 1 else f"images-{key}")
        folder.mkdir(exist_ok=True)
        for i, image in enumerate(distilled.inputs[key]):
            _atomic_bytes(folder / f"{i:05d}.png", _png_bytes(image))
        files[folder.name + "/"] = f"{len(distilled.inputs[key])} PNG images of key {key!r}"
        formats.append("png")
    table_keys = [k for k, v in distilled.inputs.items() if v.ndim == 2 and k != "label"]
    if table_keys and not image_keys:
        header: list[str] = []
        for key in table_keys:
            header += _columns(key, distilled.inputs[key].shape[1], info)
        if "label" in distilled.inputs:
            header.append("label")
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        for i in range(distilled.targets.shape[0]):
            row: list[Any] = []
            for key in table_keys:
                row += distilled.inputs[key][i].tolist()
            if "label" in distilled.inputs:
                row.append(int(distilled.inputs["label"][i]))
            writer.writerow(row)
        _atomic_bytes(out / "rows.csv", text.getvalue().encode())
        files["rows.csv"] = f"{distilled.targets.shape[0]} rows, columns {header[:6]}{'...' if len(header) > 6 else ''}"
        formats.append("csv")
    digests = {}
    for name in sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")):
        if name != MANIFEST:
            digests[name] = hashlib.sha256((out / name).read_bytes()).hexdigest()
    manifest = {
        **dict(record),
        "size": int(distilled.targets.shape[0]),
        "target_dim": int(distilled.targets.shape[1]),
        "learned_keys": distilled.keys,
        "formats": formats or ["safetensors"],
        "files": files,
        "sha256": digests,
        "loss_first": distilled.losses[0] if distilled.losses else None,
        "loss_last": distilled.losses[-1] if distilled.losses else None,
        "fresh_draws": distilled.fresh_draws,
        "transfer": distilled.transfer,
    }
    _atomic_bytes(out / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
    return out / MANIFEST

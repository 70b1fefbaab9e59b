"""Frozen-feature extraction and the train/validation plumbing shared by the probes.

Protocol of :func:`extract_features`:

1. ``ds = data.split(split)`` is read in order (no shuffling) through
   ``DataLoader(ds, batch_size=batch_size, collate_fn=data.collate)``; a
   ``full_batch`` source yields the single batch ``data.collate([ds[0]])``.
2. Every tensor in the batch (and any value with a ``.to`` method, such as a
   graph batch) is moved to ``device``.
3. ``encoder(batch)`` runs under ``torch.inference_mode()`` with the encoder in
   ``eval()`` mode; its previous training flag is restored afterwards.
4. The rows of the embeddings and of ``batch["label"]`` are kept where
   ``batch["eval_mask"]`` is true (when the batch has that key).
5. With ``max_rows``, only the split's first ``max_rows`` items are read (a
   ``full_batch`` source is embedded whole), and at most ``max_rows`` rows come back.

Features come back as float32 CPU tensors ``[N, D]``, labels as CPU tensors
``[N]`` (or ``[N, T]``) in the dtype the data source produced.

Inside ``with shared_features():`` a repeated call with the same encoder object
(unchanged: no parameter or buffer modified in place since), data source, split,
device, batch size, label requirement and ``max_rows`` returns copies of the first
call's result instead of running the encoder again; ``run_evaluators`` evaluates each
encoder inside one such block, so its evaluators embed each split once. An evaluator
with its own kind of features shares them the same way through :func:`computed_once`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

import torch

from ..engine.device import move_to_device
from ..errors import ComponentError, ConfigError, DatasetError, did_you_mean
from ..interfaces import Batch, DataSource

__all__ = [
    "extract_features",
    "shared_features",
    "computed_once",
    "split_train_val",
    "ProbeFeatures",
    "probe_features",
    "dataset_name",
]


def dataset_name(data: DataSource) -> str:
    """A name for ``data`` in messages: ``data.name``, ``data.info["name"]`` or the class name."""
    name = getattr(data, "name", None)
    if not name:
        info = getattr(data, "info", None)
        if isinstance(info, Mapping):
            name = info.get("name")
    return str(name) if name else type(data).__name__


def _open_split(data: DataSource, split: str, evaluator: str) -> torch.utils.data.Dataset[Any]:
    """``data.split(split)``, turning an unknown split into a :class:`DatasetError`."""
    splits = tuple(getattr(data, "splits", ()))
    try:
        return data.split(split)
    except (KeyError, ValueError, IndexError, LookupError, NotImplementedError) as exc:
        if split in splits:
            raise
        raise DatasetError(
            f"{evaluator} needs split {split!r}, but dataset {dataset_name(data)} provides "
            f"{list(splits)}.{did_you_mean(split, splits)} Set the evaluator's split to one of them."
        ) from exc


def _batches(data: DataSource, ds: torch.utils.data.Dataset[Any], batch_size: int, max_rows: int | None) -> Iterator[Any]:
    if getattr(data, "full_batch", False):
        yield data.collate([ds[0]])
        return
    if max_rows is not None and hasattr(ds, "__len__") and max_rows < len(ds):  # an iterable split is cut afterwards
        ds = torch.utils.data.Subset(ds, range(max_rows))
    # A private generator: DataLoader iterators otherwise draw a base seed from
    # the global RNG, which would change the caller's training randomness.
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=batch_size,
        shuffle=False,
        collate_fn=data.collate,
        num_workers=0,
        generator=torch.Generator().manual_seed(0),
    )
    yield from loader


T = TypeVar("T")

#: The block's stored values: key -> (encoder, data, value); the objects are kept so that their
#: ids in the key cannot be reused by new objects while the block is open.
_SHARED: ContextVar[dict[tuple[Any, ...], tuple[Any, Any, Any]] | None] = ContextVar(
    "selfsup_shared_features", default=None
)


@contextmanager
def shared_features() -> Iterator[None]:
    """Within the block, :func:`extract_features` embeds each (encoder, data, split, ...) once
    (and :func:`computed_once` computes each value once).

    Meant for several evaluators scoring the same frozen encoder. An encoder whose
    parameters or buffers are modified in place inside the block is embedded again
    (the key holds their version counters). Blocks nest; the outermost one's store is used.
    """
    if _SHARED.get() is not None:
        yield
        return
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def computed_once(encoder: Any, data: DataSource, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or inside a :func:`shared_features` block the value an earlier call with the
    same ``encoder`` object (unchanged since), ``data`` object and ``key`` computed.

    For an evaluator's own expensive view of a frozen encoder (e.g. per-point features of a
    scene, several feature sets at once) that another evaluator of the same run asks for too.
    ``key`` must hold everything else the value depends on (split, batch size, options) and
    start with a name of its own. The value is shared, not copied: treat it as read-only."""
    shared = _SHARED.get()
    if shared is None:
        return compute()
    full_key = (id(encoder), _state_version(encoder), id(data), *key)
    if full_key not in shared:
        for stale in [k for k in shared if k[0] == full_key[0] and k[1] != full_key[1]]:  # the encoder changed since
            del shared[stale]
        shared[full_key] = (encoder, data, compute())
    return shared[full_key][2]


def _state_version(encoder: Any) -> int:
    """Sum of the in-place version counters of ``encoder``'s tensors (changes when it is trained)."""
    if not isinstance(encoder, torch.nn.Module):
        return 0
    return sum(t._version for t in encoder.parameters()) + sum(t._version for t in encoder.buffers())


@overload
def extract_features(
    encoder: Any,
    data: DataSource,
    split: str,
    *,
    device: torch.device | str,
    batch_size: int = ...,
    require_labels: Literal[True] = ...,
    evaluator: str = ...,
    max_rows: int | None = ...,
) -> tuple[torch.Tensor, torch.Tensor]: ...


@overload
def extract_features(
    encoder: Any,
    data: DataSource,
    split: str,
    *,
    device: torch.device | str,
    batch_size: int = ...,
    require_labels: bool,
    evaluator: str = ...,
    max_rows: int | None = ...,
) -> tuple[torch.Tensor, torch.Tensor | None]: ...


def extract_features(
    encoder: Any,
    data: DataSource,
    split: str,
    *,
    device: torch.device | str,
    batch_size: int = 1024,
    require_labels: bool = True,
    evaluator: str = "this evaluator",
    max_rows: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Embed every row of ``data.split(split)`` (or its first ``max_rows``) with a frozen ``encoder``.

    See the module docstring for the protocol. Returns ``(features, labels)``:
    float32 CPU features ``[N, D]`` and CPU labels ``[N]``; ``labels`` is
    ``None`` when the split has no ``"label"`` key and ``require_labels`` is
    false. ``evaluator`` names the caller in error messages.

    Raises :class:`DatasetError` when the split is unknown, empty, or (with
    ``require_labels``) unlabelled, and :class:`ComponentError` when the encoder
    does not return ``[rows, embed_dim]``.
    """
    if batch_size < 1:
        raise ConfigError(f"{evaluator}: batch_size must be >= 1, got {batch_size}. Use e.g. batch_size=1024.")
    if max_rows is not None and max_rows < 1:
        raise ConfigError(f"{evaluator}: max_rows must be >= 1 or None, got {max_rows}. Use None for every row.")

    def extract() -> tuple[torch.Tensor, torch.Tensor | None]:
        features, labels = _extract(
            encoder, data, split, device=device, batch_size=batch_size, require_labels=require_labels,
            evaluator=evaluator, max_rows=max_rows,
        )
        if max_rows is not None:
            features, labels = features[:max_rows], (labels[:max_rows] if labels is not None else None)
        return features, labels

    key = ("extract_features", split, str(torch.device(device)), batch_size, require_labels, max_rows)
    features, labels = computed_once(encoder, data, key, extract)
    if _SHARED.get() is None:
        return features, labels
    # copies: a caller may modify its tensors in place
    return features.clone(), (labels.clone() if labels is not None else None)


def _extract(
    encoder: Any,
    data: DataSource,
    split: str,
    *,
    device: torch.device | str,
    batch_size: int,
    require_labels: bool,
    evaluator: str,
    max_rows: int | None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    name = dataset_name(data)
    ds = _open_split(data, split, evaluator)
    feature_chunks: list[torch.Tensor] = []
    label_chunks: list[torch.Tensor] = []
    has_labels: bool | None = None
    was_training = getattr(encoder, "training", None)
    if hasattr(encoder, "eval"):
        encoder.eval()
    try:
        with torch.inference_mode():
            for batch in _batches(data, ds, batch_size, max_rows):
                if not isinstance(batch, Mapping):
                    raise DatasetError(
                        f"{evaluator}: dataset {name} split {split!r} produced a {type(batch).__name__}, "
                        "not a dict batch. Make its collate return a dict of tensors."
                    )
                batch_has_labels = "label" in batch
                if has_labels is None:
                    has_labels = batch_has_labels
                    if require_labels and not has_labels:
                        raise DatasetError(
                            f"{evaluator} needs labels, but split {split!r} of dataset {name} has no "
                            "'label' key. Choose a labelled dataset, or drop this evaluator "
                            "(e.g. evaluators=[] or evaluators=['embedding-stats'])."
                        )
                elif batch_has_labels != has_labels:
                    raise DatasetError(
                        f"{evaluator}: only some batches of split {split!r} of dataset {name} carry "
                        "'label'. Give every item a label (or none)."
                    )
                moved: Batch = {key: move_to_device(value, device) for key, value in batch.items()}
                embeddings = encoder(moved)
                if not isinstance(embeddings, torch.Tensor) or embeddings.ndim != 2:
                    shape = tuple(embeddings.shape) if isinstance(embeddings, torch.Tensor) else type(embeddings)
                    raise ComponentError(
                        f"{evaluator}: the encoder returned {shape}, expected a tensor [rows, embed_dim]. "
                        "Make the encoder's forward(batch) return one embedding per row."
                    )
                labels = None
                if has_labels:
                    labels = torch.as_tensor(moved["label"])
                    if labels.shape[0] != embeddings.shape[0]:
                        raise ComponentError(
                            f"{evaluator}: the encoder returned {embeddings.shape[0]} rows but the batch has "
                            f"{labels.shape[0]} labels (dataset {name}, split {split!r}). "
                            "Return one embedding per labelled row."
                        )
                if "eval_mask" in moved:
                    mask = torch.as_tensor(moved["eval_mask"]).to(device=embeddings.device, dtype=torch.bool)
                    if mask.shape != embeddings.shape[:1]:
                        raise DatasetError(
                            f"{evaluator}: eval_mask of dataset {name} has shape {tuple(mask.shape)} but the "
                            f"encoder returned {embeddings.shape[0]} rows. Give one mask entry per row."
                        )
                    embeddings = embeddings[mask]
                    if labels is not None:
                        labels = labels[mask.to(labels.device)]
                feature_chunks.append(embeddings.detach().to("cpu", torch.float32))
                if labels is not None:
                    label_chunks.append(labels.detach().cpu())
    finally:
        if was_training is not None and hasattr(encoder, "train"):
            encoder.train(was_training)
    # Concatenate outside inference mode: the results are ordinary tensors that
    # probes may use in autograd.
    features = torch.cat(feature_chunks) if feature_chunks else torch.zeros(0, 0)
    if features.shape[0] == 0:
        raise DatasetError(
            f"{evaluator}: split {split!r} of dataset {name} has no rows"
            f"{' (after eval_mask)' if feature_chunks else ''}. Use a non-empty split."
        )
    targets = torch.cat(label_chunks) if has_labels else None
    return features, targets


def split_train_val(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random split of ``range(n)`` into sorted train and validation indices.

    ``round(n * val_fraction)`` indices (at least 1, at most ``n - 1``) go to
    validation. Uses a private ``torch.Generator``; the global RNG is untouched.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in (0, 1), got {val_fraction}. Use e.g. val_fraction=0.1.")
    if n < 2:
        raise DatasetError(
            f"Cannot hold out a validation set from {n} training sample(s). Provide a 'val' split or more data."
        )
    n_val = min(max(1, round(n * val_fraction)), n - 1)
    generator = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(n, generator=generator)
    val_idx, _ = torch.sort(perm[:n_val])
    train_idx, _ = torch.sort(perm[n_val:])
    return train_idx, val_idx


@dataclass(frozen=True)
class ProbeFeatures:
    """Features for a probe that selects a hyper-parameter on validation data.

    ``x_fit``/``y_fit`` are the rows the candidates are fit on and
    ``x_val``/``y_val`` the rows they are compared on. When the data source has
    a ``"val"`` split, ``x_fit`` is the whole train split and ``held_out`` is
    false; otherwise a seeded fraction of train is held out (``held_out`` true),
    and ``x_train``/``y_train`` still hold the whole train split for a refit.
    ``x_eval``/``y_eval`` are the scored split's features.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_fit: torch.Tensor
    y_fit: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_eval: torch.Tensor
    y_eval: torch.Tensor
    held_out: bool


def probe_features(
    encoder: Any,
    data: DataSource,
    split: str,
    *,
    device: torch.device | str,
    batch_size: int,
    val_fraction: float,
    seed: int,
    evaluator: str,
) -> ProbeFeatures:
    """Extract train, validation and ``split`` features once each (see :class:`ProbeFeatures`)."""
    cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def get(name: str) -> tuple[torch.Tensor, torch.Tensor]:
        if name not in cache:
            cache[name] = extract_features(
                encoder, data, name, device=device, batch_size=batch_size, evaluator=evaluator
            )
        return cache[name]

    x_train, y_train = get("train")
    if "val" in tuple(getattr(data, "splits", ())):
        x_val, y_val = get("val")
        x_fit, y_fit, held_out = x_train, y_train, False
    else:
        fit_idx, val_idx = split_train_val(x_train.shape[0], val_fraction, seed)
        x_fit, y_fit = x_train[fit_idx], y_train[fit_idx]
        x_val, y_val = x_train[val_idx], y_train[val_idx]
        held_out = True
    x_eval, y_eval = get(split)
    return ProbeFeatures(x_train, y_train, x_fit, y_fit, x_val, y_val, x_eval, y_eval, held_out)

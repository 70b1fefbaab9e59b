"""The labelled/unlabelled view of a split: which rows keep their labels.

:func:`split_labels` draws, with its own seeded generator, either a ``fraction`` of the rows
or ``per_class`` rows of each class, stratified by class (every class present keeps at
least one labelled row), or takes an explicit list of row indices. The rest are the
unlabelled rows. The draw is recorded with every number (``labelled`` count, the seed).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..errors import ConfigError

__all__ = ["split_labels"]


def split_labels(
    y: torch.Tensor,
    *,
    fraction: float | None = None,
    per_class: int | None = None,
    indices: Sequence[int] | None = None,
    seed: int = 0,
    owner: str = "split_labels",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(labelled, unlabelled)`` row indices (sorted int64) of the labels ``y`` ``[N]``.

    Exactly one of ``fraction`` (0 < f < 1; ``round(f * n_c)`` rows of each class ``c``, at
    least 1), ``per_class`` (``min(k, n_c)`` rows of each class) or ``indices`` (explicit rows)
    must be given.
    """
    given = [name for name, value in (("fraction", fraction), ("per_class", per_class), ("indices", indices)) if value is not None]
    if len(given) != 1:
        raise ConfigError(
            f"{owner}: give exactly one of labels.fraction, labels.per_class or labels.indices, got "
            f"{given or 'none'}. Use e.g. labels.fraction=0.05."
        )
    n = int(y.shape[0])
    if indices is not None:
        chosen = torch.as_tensor(list(indices), dtype=torch.int64)
        if chosen.numel() == 0 or int(chosen.min()) < 0 or int(chosen.max()) >= n or chosen.unique().numel() != chosen.numel():
            raise ConfigError(
                f"{owner}: labels.indices must be distinct row numbers in [0, {n}), got {list(indices)[:8]}... "
                "List each labelled training row once."
            )
        labelled = chosen.sort().values
    else:
        if fraction is not None and not 0.0 < float(fraction) < 1.0:
            raise ConfigError(f"{owner}: labels.fraction must be in (0, 1), got {fraction!r}. Use e.g. labels.fraction=0.05.")
        if per_class is not None and (isinstance(per_class, bool) or int(per_class) < 1):
            raise ConfigError(f"{owner}: labels.per_class must be an integer >= 1, got {per_class!r}. Use e.g. labels.per_class=10.")
        generator = torch.Generator().manual_seed(int(seed))
        y = y.to(torch.int64).cpu()
        parts = []
        for cls in torch.unique(y).tolist():
            rows = torch.nonzero(y == cls).flatten()
            take = max(1, round(float(fraction) * rows.numel())) if fraction is not None else min(int(per_class), rows.numel())  # type: ignore[arg-type]
            parts.append(rows[torch.randperm(rows.numel(), generator=generator)[:take]])
        labelled = torch.cat(parts).sort().values
    mask = torch.ones(n, dtype=torch.bool)
    mask[labelled] = False
    if not bool(mask.any()):
        raise ConfigError(f"{owner}: every row is labelled, none is left to pseudo-label. Lower labels.fraction.")
    return labelled, torch.nonzero(mask).flatten()

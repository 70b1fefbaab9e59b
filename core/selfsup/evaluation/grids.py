"""Choosing a probe's penalty on a grid that widens until the choice is interior.

Protocol of :func:`widen_grid`: every value of ``grid`` is scored (largest first, so that a
warm-started fit walks from strong to weak penalties); the best score wins, ties going to
the larger value. While the winner is the grid's smallest (non-zero) or largest value, one
more value ``factor`` times beyond that edge is scored, at most ``widen`` times; widening
stops as soon as the new value does not win. The result says whether the winner still sits
on an edge of the values tried (``at_edge``), which the probes report as ``<name>_at_edge``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["widen_grid"]


def widen_grid(
    grid: Sequence[float],
    score: Callable[[float], float],
    *,
    widen: int,
    factor: float = 10.0,
) -> tuple[float, bool, dict[float, float]]:
    """``(best value, at_edge, {value: score})`` for ``score`` maximised over a widening ``grid``.

    A single-value grid is scored once and never widened (nothing was chosen; ``at_edge`` false).
    """
    values = sorted({float(v) for v in grid}, reverse=True)
    scores: dict[float, float] = {}
    best = values[0]
    for value in values:
        scores[value] = float(score(value))
        if scores[value] > scores[best]:  # strict: ties keep the larger value
            best = value
    if len(values) == 1:
        return best, False, scores
    low, high = values[-1], values[0]
    for _ in range(int(widen)):
        if best == low and low > 0.0:
            candidate = low / factor
            scores[candidate] = float(score(candidate))
            low = candidate
            if scores[candidate] > scores[best]:
                best = candidate
                continue
            break
        if best == high:
            candidate = high * factor
            scores[candidate] = float(score(candidate))
            high = candidate
            if scores[candidate] >= scores[best]:
                best = candidate
                continue
            break
        break
    at_edge = (best == low and low > 0.0) or best == high
    return best, at_edge, scores

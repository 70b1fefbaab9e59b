"""Evaluations during training (``trainer.eval_every``), protected like the final evaluation.

:class:`DuringTraining` is the callback the trainer calls after every ``eval_every``-th step:
the run's evaluators (or ``trainer.eval_during_training``'s) on the objective's
:meth:`~selfsup.interfaces.Objective.evaluation_encoder` as it trains. An evaluator that
raises does not stop training: its error is recorded (:attr:`DuringTraining.errors`, written
to ``metrics.json`` under ``during_training.errors``), a warning is printed the first time
it fails, and the other evaluators still report. Only a wrong ``trainer.eval_select`` (a
config mistake, not a failing evaluator) stops the run, at the first evaluation.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import torch

from ..interfaces import DataSource, Evaluator, Objective
from .features import shared_features

__all__ = ["DuringTraining", "error_text"]


def error_text(exc: BaseException) -> str:
    """``"ErrorType: first line of the message"`` (as ``metrics.json`` records a failing evaluator)."""
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0] if message else ''}".rstrip(": ")


class DuringTraining:
    """``evaluate(step) -> {"<evaluator>/<metric>": value}`` for the trainer; failures are recorded."""

    def __init__(
        self,
        evaluators: Sequence[tuple[str, Evaluator]],
        objective: Objective,
        data: DataSource,
        device: torch.device,
        seed: int,
        trainer: Any,
    ) -> None:
        self.evaluators = list(evaluators)
        self.objective = objective
        self.data = data
        self.device = device
        self.seed = seed
        self.trainer = trainer
        #: ``{evaluator: {"error": "ErrorType: message", "steps": [steps at which it failed]}}``
        #: (``error`` is the first failure's).
        self.errors: dict[str, dict[str, Any]] = {}

    def __call__(self, step: int) -> dict[str, float]:
        line: dict[str, float] = {}
        failed: set[str] = set()
        with shared_features():
            for name, evaluator in self.evaluators:
                try:
                    scores = evaluator.evaluate(self.objective.evaluation_encoder(), self.data, device=self.device, seed=self.seed)
                    line.update({f"{name}/{key}": float(value) for key, value in scores.items()})
                except Exception as exc:  # noqa: BLE001 - recorded; training and the other evaluators go on
                    failed.add(name)
                    self._record(name, step, exc)
        self._check_select(line, failed)
        return line

    def _record(self, name: str, step: int, exc: BaseException) -> None:
        entry = self.errors.setdefault(name, {"error": error_text(exc), "steps": []})
        entry["steps"].append(int(step))
        if len(entry["steps"]) == 1:
            print(
                f"selfsup: warning: evaluator '{name}' failed during training at step {step}: {error_text(exc)}. "
                "Training goes on; the error is recorded in metrics.json (during_training.errors).",
                file=sys.stderr,
            )

    def _check_select(self, line: dict[str, float], failed: set[str]) -> None:
        """A wrong ``trainer.eval_select`` fails at the first evaluation that could hold it."""
        from ..outputs import selected_metric

        select = self.trainer.eval_select
        if not line or (select and str(select).partition("/")[0] in failed):
            return  # the metric's evaluator failed this time: nothing to check it against
        selected_metric(self.trainer, line)

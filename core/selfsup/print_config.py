"""What ``selfsup pretrain --print-config`` prints: the config the run would actually use.

The evaluators of a run follow the task its data declares (:func:`selfsup.config.follow_task`),
and a dataset/component mismatch with one obvious fix changes ``data.*``
(:mod:`selfsup.fixes`); both are known only once the data source is built. So
:func:`config_to_print` builds the run's components as ``pretrain`` would (no training, no run
folder) and returns the config after both steps. When the data cannot be built (it is not
downloaded yet, the root is wrong), the resolved config is printed as it is and a note on
stderr says that its evaluators are the modality's defaults, before the task is known.
"""

from __future__ import annotations

import sys
from typing import TextIO

from omegaconf import OmegaConf

from .config import ResolvedRun, follow_task
from .errors import SelfsupError

__all__ = ["config_to_print", "print_config"]


def config_to_print(resolved: ResolvedRun) -> tuple[str, str]:
    """``(yaml, note)``: the config after the data's task and data fixes, and a note ("" when
    the data could be built) on why it may differ from the run's.

    An evaluator that cannot score the data's task is the same
    :class:`~selfsup.errors.EvaluatorTaskError` that ``pretrain`` raises before training.
    """
    from .progress import stage
    from .run import build_run

    try:
        with stage("data", f"building dataset '{resolved.dataset.name}' to learn its task"):
            data, *_ = build_run(resolved)  # applies data fixes to resolved.config.data
    except SelfsupError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        note = (
            f"selfsup: note: the data could not be built ({type(exc).__name__}: {first}); the evaluators shown are "
            "the modality's defaults, before the data's task is known."
        )
        return OmegaConf.to_yaml(resolved.config), note
    followed = follow_task(resolved, data.info)  # raises EvaluatorTaskError as pretrain would
    followed.config.run_dir = resolved.config.run_dir
    return OmegaConf.to_yaml(followed.config), ""


def print_config(resolved: ResolvedRun, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print :func:`config_to_print`'s YAML on ``out`` (stdout) and its note on ``err`` (stderr)."""
    text, note = config_to_print(resolved)
    print(text, end="", file=out or sys.stdout)
    if note:
        print(note, file=err or sys.stderr)
    return 0

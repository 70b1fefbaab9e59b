"""One error family for selfsup.

Every message names the culprit (plugin, distribution and version where one is
involved) and gives one concrete fix. The CLI prints ``SelfsupError`` messages
without a traceback; any other exception is a bug.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "SelfsupError",
    "PluginError",
    "PluginLoadError",
    "PluginValidationError",
    "RegistrationError",
    "PluginConflictError",
    "UnknownComponentError",
    "IncompatibleComponentsError",
    "MissingDependencyError",
    "ConfigError",
    "EvaluatorTaskError",
    "ComponentError",
    "DatasetError",
    "EncoderOutputError",
    "UnsafeFactoryError",
    "CheckpointError",
    "NonFiniteLossError",
    "ExportError",
    "RunLockedError",
    "TrainingInterrupted",
    "DataMismatchError",
    "SelfsupWarning",
    "did_you_mean",
]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest candidate, or ``""``."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" Did you mean '{matches[0]}'?" if matches else ""


class SelfsupError(Exception):
    """Base of every error selfsup raises on purpose."""


class PluginError(SelfsupError):
    """A plugin could not be used as it is."""


class PluginLoadError(PluginError):
    """An entry point failed to import."""


class PluginValidationError(PluginError):
    """A plugin's hook implementations do not match the hookspecs."""


class RegistrationError(PluginError):
    """A ``register_*`` hook raised or returned something other than specs."""


class PluginConflictError(PluginError):
    """Two providers registered the same component key."""


class UnknownComponentError(PluginError, KeyError):
    """A name given by the user matches no registered component."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class IncompatibleComponentsError(PluginError):
    """The chosen components cannot be combined (e.g. objective vs modality)."""


class MissingDependencyError(PluginError, ImportError):
    """A component needs an optional package that is not installed."""


class ConfigError(SelfsupError):
    """A configuration key or value is invalid."""


class EvaluatorTaskError(ConfigError):
    """An evaluator cannot score the task the dataset declares (checked before training)."""


class ComponentError(SelfsupError):
    """An expected runtime problem inside a component (plugins subclass this)."""


class DatasetError(ComponentError):
    """A dataset is missing, empty or malformed."""


class EncoderOutputError(ComponentError):
    """An encoder's output is not ``[rows, embed_dim]`` (checked before training)."""


class UnsafeFactoryError(ConfigError):
    """A config value names a ``module:attribute`` factory that is not on the allow-list."""


class DataMismatchError(ConfigError):
    """A component cannot use the data as configured, and one change of the dataset's config
    fixes it (e.g. a GAN whose generator makes 32 px images, given 28 px MNIST).

    ``data_overrides`` is that change, e.g. ``{"image_size": 32}``. ``selfsup.pretrain``
    applies it, rebuilds the run's components once, warns and records it in ``config.yaml``;
    anywhere else it is an ordinary ``ConfigError`` whose message names the same fix.
    """

    def __init__(self, reason: str, *, data_overrides: dict[str, object]) -> None:
        self.reason = reason
        self.data_overrides = dict(data_overrides)
        fix = " ".join(f"data.{key}={value}" for key, value in self.data_overrides.items())
        super().__init__(f"{reason} Set {fix}.")


class CheckpointError(SelfsupError):
    """A checkpoint or another file of a run (encoder, metrics, data info) cannot be written, found or read."""


class ExportError(SelfsupError):
    """An encoder cannot be exported to the chosen format, or its export does not match it."""


class NonFiniteLossError(SelfsupError):
    """The training loss became NaN or infinite."""

    def __init__(self, message: str, *, step: int, checkpoint: str | None) -> None:
        super().__init__(message)
        self.step = step
        self.checkpoint = checkpoint


class RunLockedError(SelfsupError):
    """Another live process trains or evaluates in the same ``run_dir``; has ``.pid``."""

    def __init__(self, message: str, *, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


class TrainingInterrupted(SelfsupError):
    """SIGTERM or SIGINT stopped training after a step; a checkpoint of that step was written.

    ``exit_code`` is what the CLI exits with (128 + the signal number, as a shell reports it).
    """

    def __init__(self, message: str, *, step: int, checkpoint: str | None, signal_number: int) -> None:
        super().__init__(message)
        self.step = step
        self.checkpoint = checkpoint
        self.signal_number = signal_number
        self.exit_code = 128 + signal_number


class SelfsupWarning(UserWarning):
    """Something legal but probably not what the user meant (e.g. a warm-up phase that takes
    the whole step budget), or a mismatch selfsup fixed itself. The CLI prints it as one line,
    ``selfsup: warning: ...``."""

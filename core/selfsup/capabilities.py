"""Encoder capabilities that objectives require, as :class:`typing.Protocol` classes.

An objective that needs more of its encoder than ``forward(batch)`` and ``embed_dim`` (T-JEPA's
feature tokens, SSAST's patch tokens) states it as a ``Protocol`` of attributes and methods,
checks the encoder with :func:`require_capability` (a named error listing what is missing), and
the encoder's conformance kit lists the protocols it satisfies
(``EncoderContract.capabilities``), so both sides are tested against one definition::

    @runtime_checkable
    class PatchTokenEncoder(Protocol):
        num_patches: int
        def embed(self, x: torch.Tensor) -> torch.Tensor: ...

    require_capability(encoder, PatchTokenEncoder, objective="ssast", fix="Use encoder='ast'.")

Attributes are checked for presence, methods for presence and callability (``isinstance`` with a
``runtime_checkable`` protocol checks presence only).
"""

from __future__ import annotations

import inspect
from typing import Any

from .errors import IncompatibleComponentsError

__all__ = ["protocol_members", "missing_members", "require_capability"]

_IGNORED = {"__init__", "__subclasshook__", "__class_getitem__", "__init_subclass__", "__abstractmethods__"}


def protocol_members(protocol: type) -> dict[str, bool]:
    """``{name: is_method}`` for the public members a protocol declares (its bases' included)."""
    members: dict[str, bool] = {}
    for cls in reversed(protocol.__mro__):
        if cls is object or cls.__module__ == "typing":
            continue
        for name in getattr(cls, "__annotations__", {}):
            if not name.startswith("_"):
                members.setdefault(name, False)
        for name, value in vars(cls).items():
            if name.startswith("_") and name not in ("__call__",) or name in _IGNORED:
                continue
            if inspect.isfunction(value) or isinstance(value, (property, staticmethod, classmethod)):
                members[name] = inspect.isfunction(value)
    return members


def missing_members(obj: Any, protocol: type) -> list[str]:
    """The members of ``protocol`` that ``obj`` lacks (a method must also be callable), in order."""
    missing = []
    for name, is_method in protocol_members(protocol).items():
        value = getattr(obj, name, _ABSENT)
        if value is _ABSENT or (is_method and not callable(value)):
            missing.append(name)
    return missing


def require_capability(encoder: Any, protocol: type, *, objective: str, fix: str) -> None:
    """Raise :class:`~selfsup.errors.IncompatibleComponentsError` unless ``encoder`` has every
    member of ``protocol``; the message names the objective, the protocol, what is missing and ``fix``."""
    missing = missing_members(encoder, protocol)
    if missing:
        kind = f"{type(encoder).__module__}.{type(encoder).__qualname__}"
        raise IncompatibleComponentsError(
            f"Objective '{objective}' needs an encoder with the capability {protocol.__module__}."
            f"{protocol.__qualname__} ({', '.join(protocol_members(protocol))}); {kind} lacks {missing}. {fix}"
        )


class _Absent:
    pass


_ABSENT = _Absent()

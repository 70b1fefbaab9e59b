"""What ``selfsup info`` and ``selfsup --version`` print.

Config keys are documented the way Sphinx autodoc reads attribute docs: a ``#:`` comment
on the line(s) right above a dataclass field (or after it on the same line)::

    @dataclass
    class MyObjectiveConfig:
        #: Share of the features hidden from the encoder.
        mask_ratio: float = 0.5

:func:`field_docs` reads those comments from the class's source, so ``selfsup info``
shows each key with its type, default and description. Fields without a comment are shown
as ``(no description)``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import textwrap
from collections.abc import Iterator
from typing import Any

__all__ = ["FieldInfo", "field_docs", "config_fields", "config_lines", "version_text", "SECTIONS"]

#: Where each kind's settings go on the command line.
SECTIONS = {
    "dataset": "data",
    "encoder": "encoder_config",
    "objective": "objective_config",
    "evaluator": "evaluator_config.{name}",
    "strategy": "evaluator_config.fine-tune.strategy_config",
}

_FIELD = re.compile(r"^(\w+)\s*:")


@dataclasses.dataclass(frozen=True)
class FieldInfo:
    """One config key of a component."""

    name: str
    #: The annotation as written (``"float"``, ``"Optional[int]"``).
    type: str
    #: The default value (``None`` also for fields without one).
    default: Any
    #: The ``#:`` comment above the field, joined into one paragraph ("" when absent).
    doc: str


def _class_docs(cls: type) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # defined in a REPL or generated: no source to read
        return {}
    docs: dict[str, str] = {}
    pending: list[str] = []
    body_indent: int | None = None
    lines = source.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("class ")), len(lines))
    for raw in lines[start + 1 :]:
        stripped = raw.strip()
        if not stripped:
            pending = []
            continue
        indent = len(raw) - len(raw.lstrip())
        if body_indent is None:
            body_indent = indent
        if indent != body_indent:  # inside a method, a decorator's arguments, a nested class
            if indent < body_indent:
                break
            continue
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        match = _FIELD.match(stripped)
        if match:
            inline = stripped.split("#:", 1)[1].strip() if "#:" in stripped else ""
            text = " ".join(part for part in [*pending, inline] if part)
            if text:
                docs[match.group(1)] = text
        pending = []
    return docs


def field_docs(config_cls: type) -> dict[str, str]:
    """``{field: description}`` from the ``#:`` comments of ``config_cls`` and its dataclass bases."""
    docs: dict[str, str] = {}
    for cls in reversed(config_cls.__mro__):
        if dataclasses.is_dataclass(cls):
            docs.update(_class_docs(cls))
    return docs


def _type_text(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


def config_fields(config_cls: type) -> list[FieldInfo]:
    """Every field of a config dataclass with its type, default and description."""
    if not dataclasses.is_dataclass(config_cls):
        return []
    docs = field_docs(config_cls)
    fields = []
    for item in dataclasses.fields(config_cls):
        if item.default is not dataclasses.MISSING:
            default = item.default
        elif item.default_factory is not dataclasses.MISSING:
            default = item.default_factory()
        else:
            default = None
        fields.append(FieldInfo(item.name, _type_text(item.type), default, docs.get(item.name, "")))
    return fields


def _value_text(value: Any) -> str:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, tuple):
        value = list(value)
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


def config_lines(kind: str, name: str, config_cls: type, *, width: int = 88) -> Iterator[str]:
    """The ``config`` block of ``selfsup info``: each key as the command line sets it, with
    its type, default and description."""
    fields = config_fields(config_cls)
    if not fields:
        yield "  config: none"
        return
    section = SECTIONS.get(kind, "config").format(name=name)
    yield f"  config (set as {section}.<key>=<value>):"
    for item in fields:
        yield f"    {item.name}: {_value_text(item.default)}  ({item.type})"
        doc = item.doc or "(no description)"
        yield from textwrap.wrap(doc, width=width, initial_indent="        ", subsequent_indent="        ")


def version_text() -> str:
    """``selfsup X`` and one line per plugin: name, distribution, version, status."""
    import selfsup

    from .registry import list_plugins

    lines = [f"selfsup {selfsup.__version__}"]
    for status in list_plugins():
        where = f"{status.distribution} {status.version}" if status.distribution else "(no distribution)"
        state = "" if status.status == "ok" else f"  [{status.status}]"
        lines.append(f"  {where}  (plugin '{status.name}'){state}")
    return "\n".join(lines)

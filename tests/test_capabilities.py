"""Encoder capabilities as typing.Protocols: members, what is missing, the named error."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pytest

from selfsup.capabilities import missing_members, protocol_members, require_capability
from selfsup.errors import IncompatibleComponentsError


@runtime_checkable
class Tokens(Protocol):
    width: int

    def tokens(self, batch: dict) -> list: ...


class Grid(Tokens, Protocol):
    grid: tuple[int, int]

    def encode(self, tokens: list) -> list: ...


class Complete:
    width = 4
    grid = (2, 2)

    def tokens(self, batch):
        return []

    def encode(self, tokens):
        return tokens


class NotCallable(Complete):
    encode = 3  # present, but not a method


def test_members_include_the_bases_and_tell_methods_apart():
    assert protocol_members(Grid) == {"width": False, "tokens": True, "grid": False, "encode": True}


def test_missing_members_checks_presence_and_callability():
    assert missing_members(Complete(), Grid) == []
    assert missing_members(NotCallable(), Grid) == ["encode"]
    assert missing_members(object(), Tokens) == ["width", "tokens"]


def test_require_capability_names_the_objective_protocol_missing_members_and_fix():
    require_capability(Complete(), Grid, objective="toy", fix="Use encoder='x'.")
    with pytest.raises(IncompatibleComponentsError, match=r"'toy'.*Grid.*lacks \['grid', 'encode'\]\. Use encoder='x'\."):
        require_capability(type("Partial", (), {"width": 1, "tokens": lambda self, b: []})(), Grid,
                           objective="toy", fix="Use encoder='x'.")

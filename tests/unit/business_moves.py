"""Helpers for transition tests whose allowed moves are written out from the contract.

The expectation is always a literal table in the test module, never the code's `TRANSITIONS`:
a dropped or added edge in the code then fails a test instead of moving between two lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)


def every_pair(statuses: Iterable[E], allowed: Mapping[E, frozenset[E]]) -> list[tuple[E, E, bool]]:
    """(from, to, allowed?) for every ordered pair of statuses, self-moves included."""
    members = list(statuses)
    missing = set(members) - set(allowed)
    if missing:
        raise AssertionError(f"the business table names no moves for {sorted(missing)}")
    return [(a, b, b in allowed[a]) for a in members for b in members]


def pair_id(value: object) -> str:
    return str(value)

"""Fixtures of the reliability suite: its scale and the figures it reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def full(request: pytest.FixtureRequest) -> bool:
    """True in `make reliability`, False in the short form inside `make test`."""
    return bool(request.config.getoption("--reliability") == "full")


@pytest.fixture
def figure(record_property: Callable[[str, Any], None]) -> Callable[[str, Any], None]:
    """Report one figure of this test in the suite's table."""

    def record(name: str, value: Any) -> None:
        record_property(f"figure:{name}", value)
        print(f"{name}: {value}")

    return record

"""Prints the specification coverage table (operations used / validated / mismatches).

Loaded from ``tests/conftest.py`` so the table shows in the terminal summary also under
pytest-xdist, where the test runs in a worker and only its report reaches the controller.
"""

from __future__ import annotations

import pytest

PROPERTY = "spec_coverage"
_tables: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep the table a test recorded with ``record_property(PROPERTY, table)``."""
    if report.when == "call":
        _tables.extend(str(v) for k, v in report.user_properties if k == PROPERTY)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print each recorded table once, after the results."""
    for table in dict.fromkeys(_tables):
        terminalreporter.write_sep(
            "-", "Dashboard API specification coverage (tests/contract/spec)"
        )
        terminalreporter.write_line(table)

"""Token names: 1-64 printable characters, no '/', no space at either end (issue 19 item 6)."""

from __future__ import annotations

import pytest

from core.auth import token_name_problem


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "noc-desk",
        "x" * 64,
        "customers:desk",
        "my customer:x",
        "現場 端末 1",
        "ops.team_2",
        "name with inner spaces",
    ],
)
def test_names_accepted(name: str) -> None:
    assert token_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "1 to 64"),
        ("x" * 65, "1 to 64"),
        ("a/b", "'/'"),
        ("/", "'/'"),
        (" desk", "space"),
        ("desk ", "space"),
        ("   ", "space"),
        ("nul\x00x", "printable"),
        ("tab\tx", "printable"),
        ("new\nline", "printable"),
        ("rlo\u202ex", "printable"),
        ("zero\u200bwidth", "printable"),
        ("lone\ud800", "printable"),
        ("nbsp\u00a0x", "printable"),
        # a staff token named like a customer's act would pass for the customer (four-eyes)
        ("customer:acme", "'customer:'"),
        ("Customer:acme", "'customer:'"),
    ],
)
def test_names_refused(name: str, why: str) -> None:
    problem = token_name_problem(name)
    assert problem is not None and why in problem

"""Four-eyes: the customer's approval of work is never recorded by anyone who did that work."""

from __future__ import annotations

import pytest

from core.errors import PermissionDenied
from core.policy import four_eyes


@pytest.mark.parametrize(
    ("recorder", "authors", "refused"),
    [
        ("noc-a", ["field-b"], False),
        ("noc-a", ["field-b", "noc-a"], True),
        ("noc-a", [None, "noc-a"], True),
        ("noc-a", [None], False),
        ("noc-a", [], False),
        ("noc-a", ["NOC-A"], False),  # names are compared exactly, as the audit stores them
    ],
)
def test_four_eyes(recorder: str, authors: list[str | None], refused: bool) -> None:
    if refused:
        with pytest.raises(PermissionDenied, match="four-eyes"):
            four_eyes(recorder=recorder, authors=authors, what="survey SV-1")
    else:
        four_eyes(recorder=recorder, authors=authors, what="survey SV-1")

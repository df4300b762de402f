"""Pure change-request rules: transitions, e-mail form, the defect window, literal secrets."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from changes.domain import (
    TRANSITIONS,
    ChangeStatus,
    acceptance_due,
    advance,
    defect_window_last_day,
    is_email,
    literal_secret_places,
    schedule_time,
)
from changes.notices import SECRET_CHANGED, change_lines
from core.calendar import BusinessCalendar
from core.errors import InvalidTransition
from tests.unit.changes.builders import jst

S = ChangeStatus


@pytest.mark.parametrize(("current", "target"), [(s, t) for s in S for t in sorted(TRANSITIONS[s])])
def test_allowed_moves(current: S, target: S) -> None:
    assert advance(current, target) is target


def test_illegal_move_names_allowed_states() -> None:
    with pytest.raises(InvalidTransition) as info:
        advance("submitted", S.APPLIED)
    assert info.value.allowed == ["cancelled", "rejected", "validated"]
    for terminal in (S.ACCEPTED, S.REJECTED, S.CANCELLED):
        assert TRANSITIONS[terminal] == frozenset()


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("soumu@sakura.example.jp", True),
        ("a.b+c@x.co", True),
        ("no-at.example.jp", False),
        ("a@b", False),
        ("田中 <a@b.jp>", False),
        ("a @b.jp", False),
        ("", False),
    ],
)
def test_email_form(text: str, ok: bool) -> None:
    assert is_email(text) is ok


@pytest.mark.parametrize(
    ("notified", "last", "due"),
    [
        (jst(2027, 1, 12, 10, 0), date(2027, 1, 19), jst(2027, 1, 20, 0, 0)),
        # 23:30 UTC on the 11th is already the 12th in Tokyo
        (
            datetime.fromisoformat("2027-01-11T23:30:00+00:00"),
            date(2027, 1, 19),
            jst(2027, 1, 20, 0, 0),
        ),
        (jst(2026, 12, 28, 16, 0), date(2027, 1, 4), jst(2027, 1, 5, 0, 0)),
    ],
)
def test_defect_window(notified: datetime, last: date, due: datetime) -> None:
    assert defect_window_last_day(notified, 7) == last
    assert acceptance_due(notified, 7) == due


def test_schedule_time_defaults_to_next_window() -> None:
    cal = BusinessCalendar()
    assert schedule_time(
        cal, now=jst(2026, 12, 28, 17, 30), requested=None, emergency=False
    ).at == jst(2027, 1, 4, 9, 0)  # year-end days skipped
    inside = schedule_time(cal, now=jst(2027, 1, 12, 10, 0), requested=None, emergency=False)
    assert (inside.at, inside.inside_window) == (jst(2027, 1, 12, 10, 0), True)


def test_literal_secrets_are_found_env_references_are_not() -> None:
    raw = {
        "ssids": [
            {"psk": "plain"},
            {"psk": "env:X"},
            {"psk": {"env": "Y"}},
            {"radiusServers": [{"host": "h", "secret": "s"}]},
        ]
    }
    assert literal_secret_places(raw) == ["ssids[0].psk", "ssids[3].radiusServers[0].secret"]


def test_named_secret_references_are_not_literal_but_lookalikes_are() -> None:
    raw = {
        "ssids": [
            {"psk": "secret:STAFF"},
            {"psk": {"secret": "GUEST"}},
            {"psk": "secretSTAFF"},
            {"psk": {"secret": "A", "env": "B"}},
        ]
    }
    assert literal_secret_places(raw) == ["ssids[2].psk", "ssids[3].psk"]


def test_notice_lines_never_show_a_secret() -> None:
    rows = [
        {
            "resource": "ssid/1",
            "action": "update",
            "fields": [
                {"field": "psk", "changed": True, "secret": True},
                {"field": "name", "before": "old", "after": "new"},
            ],
        }
    ]
    assert change_lines(rows) == [
        f"・SSID 1 (変更) psk: {SECRET_CHANGED}",
        "・SSID 1 (変更) name: old → new",
    ]

"""Change-request rules stated from the contract, independently of the code's tables.

Sources: docs/domain.md — seed 002 App.1 II(3)1 (changes made remotely following the
customer's change-request sheet) and II(3)3 (operations Mon–Sat 9:00–17:00 JST, not on public
holidays or the provider's year-end days); seed 001 (a completion mail, then one week for the
customer to report a defect, else the work counts as complete). README "NOC change requests":
submission → approval → scheduled in the window → applied → completion mail → accepted, or a
defect reopens it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from changes.domain import (
    REVALIDATABLE,
    ChangeStatus,
    acceptance_due,
    advance,
    defect_window_last_day,
    is_email,
    literal_secret_places,
    schedule_time,
    why_closed,
    window_text,
)
from core.calendar import BusinessCalendar
from core.errors import InvalidTransition
from tests.unit.business_moves import every_pair
from tests.unit.changes.builders import jst

S = ChangeStatus
CAL = BusinessCalendar()

BUSINESS: dict[ChangeStatus, frozenset[ChangeStatus]] = {
    # entered for the customer: the sheet is checked, or refused, or withdrawn
    S.SUBMITTED: frozenset({S.VALIDATED, S.REJECTED, S.CANCELLED}),
    # a valid sheet waits for the NOC's approval
    S.VALIDATED: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.SCHEDULED, S.CANCELLED}),
    # scheduled work may be moved (scheduled again), done, fail, or be withdrawn
    S.SCHEDULED: frozenset({S.SCHEDULED, S.APPLIED, S.FAILED, S.CANCELLED}),
    # failed work is fixed and scheduled again, or withdrawn
    S.FAILED: frozenset({S.SCHEDULED, S.CANCELLED}),
    # done work gets its completion mail: only then does the defect week run
    S.APPLIED: frozenset({S.NOTIFIED}),
    S.NOTIFIED: frozenset({S.ACCEPTED, S.DEFECT_REPORTED}),
    S.DEFECT_REPORTED: frozenset({S.REOPENED}),
    # a reopened request is checked again (a new round) or withdrawn
    S.REOPENED: frozenset({S.VALIDATED, S.CANCELLED}),
    S.ACCEPTED: frozenset(),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
}


@pytest.mark.parametrize(("current", "target", "allowed"), every_pair(S, BUSINESS))
def test_every_move_is_allowed_exactly_when_the_business_has_it(current, target, allowed):
    if allowed:
        assert advance(current, target) is target
        assert advance(current.value, target) is target  # stored statuses are plain text
        return
    with pytest.raises(InvalidTransition) as refused:
        advance(current, target)
    assert refused.value.allowed == sorted(s.value for s in BUSINESS[current])
    assert refused.value.message.startswith(
        f"change_request: cannot move from '{current}' to '{target}'"
    )


def test_only_a_submitted_or_reopened_sheet_is_checked_again():
    assert frozenset({S.SUBMITTED, S.REOPENED}) == REVALIDATABLE


def _walk(*path: ChangeStatus) -> ChangeStatus:
    status = path[0]
    for target in path[1:]:
        status = advance(status, target)
    return status


@pytest.mark.parametrize(
    "path",
    [
        # the README's order, accepted by the customer or by a silent week
        (S.SUBMITTED, S.VALIDATED, S.APPROVED, S.SCHEDULED, S.APPLIED, S.NOTIFIED, S.ACCEPTED),
        # re-validation after a defect: a second round to acceptance
        (S.NOTIFIED, S.DEFECT_REPORTED, S.REOPENED, S.VALIDATED, S.APPROVED, S.SCHEDULED,
         S.APPLIED, S.NOTIFIED, S.ACCEPTED),
        # moved twice, failed once, scheduled again and done
        (S.APPROVED, S.SCHEDULED, S.SCHEDULED, S.FAILED, S.SCHEDULED, S.APPLIED, S.NOTIFIED),
        (S.REOPENED, S.CANCELLED),
        (S.SUBMITTED, S.REJECTED),
    ],
)  # fmt: skip
def test_the_orders_the_business_has(path):
    assert _walk(*path) is path[-1]


@pytest.mark.parametrize(
    "path",
    [
        (S.SUBMITTED, S.APPROVED),  # never approved unchecked
        (S.VALIDATED, S.SCHEDULED),  # never scheduled unapproved
        (S.APPROVED, S.APPLIED),  # never applied unscheduled
        (S.APPLIED, S.ACCEPTED),  # the defect week runs from the completion mail
        (S.APPLIED, S.CANCELLED),  # done work cannot be withdrawn
        (S.DEFECT_REPORTED, S.VALIDATED),  # a defect reopens the request first
        (S.ACCEPTED, S.DEFECT_REPORTED),  # accepted work is complete
    ],
)
def test_orders_the_business_never_has(path):
    with pytest.raises(InvalidTransition):
        _walk(*path)


# --- e-mail address for the completion notice ------------------------------------------------


def _address(length: int) -> str:
    domain = "@" + ".".join(["a" * 60] * 3) + ".jp"  # 187 characters, labels under 64
    return "x" * (length - len(domain)) + domain


@pytest.mark.parametrize(("length", "ok"), [(253, True), (254, True), (255, False)])
def test_an_address_may_have_254_characters_and_no_more(length, ok):
    text = _address(length)
    assert len(text) == length
    assert is_email(text) is ok


@pytest.mark.parametrize(
    ("text", "ok"), [("a@b.jp", True), ("a@b.c.jp", True), ("a@-b.jp", False), ("a@b.", False)]
)
def test_address_domains(text, ok):
    assert is_email(text) is ok


# --- the defect window (seed 001: one week after the completion mail) --------------------------


@pytest.mark.parametrize("days", [0, -1, -7])
def test_a_window_of_no_days_is_refused(days):
    with pytest.raises(ValueError, match=f"at least one day, got {days}"):
        defect_window_last_day(jst(2027, 1, 12, 10, 0), days)
    with pytest.raises(ValueError):
        acceptance_due(jst(2027, 1, 12, 10, 0), days)


@pytest.mark.parametrize(
    ("notified", "days", "last", "due"),
    [
        # one day: the mail's day is not counted, so the next day is the whole window
        (jst(2027, 1, 12, 10, 0), 1, date(2027, 1, 13), jst(2027, 1, 14, 0, 0)),
        (jst(2027, 1, 12, 23, 59), 1, date(2027, 1, 13), jst(2027, 1, 14, 0, 0)),
        (jst(2027, 1, 12, 0, 0), 1, date(2027, 1, 13), jst(2027, 1, 14, 0, 0)),
        (jst(2027, 1, 12, 10, 0), 2, date(2027, 1, 14), jst(2027, 1, 15, 0, 0)),
        # a week, over a month end, no Art. 142 shift (Jan 3 is a year-end Sunday)
        (jst(2026, 12, 27, 9, 0), 7, date(2027, 1, 3), jst(2027, 1, 4, 0, 0)),
        # the Tokyo date counts: 15:00 UTC is already the next day in Tokyo
        (datetime(2027, 1, 12, 15, 0, tzinfo=UTC), 1, date(2027, 1, 14), jst(2027, 1, 15, 0, 0)),
        (datetime(2027, 1, 12, 14, 59, tzinfo=UTC), 1, date(2027, 1, 13), jst(2027, 1, 14, 0, 0)),
    ],
)
def test_defect_window_edges(notified, days, last, due):
    assert defect_window_last_day(notified, days) == last
    assert acceptance_due(notified, days) == due


# --- the operations window: when work is scheduled, and why a time is refused ------------------


def test_the_window_in_words():
    assert window_text() == (
        "operations hours are Mon–Sat 9:00–17:00 JST, except public holidays and year-end days"
    )


@pytest.mark.parametrize(
    ("when", "text"),
    [
        (jst(2027, 1, 11, 10, 0), "2027-01-11 is a public holiday (成人の日)"),
        # a holiday that is also a Sunday / a year-end day is named as the holiday
        (jst(2027, 5, 3, 10, 0), "2027-05-03 is a public holiday (憲法記念日)"),
        (jst(2027, 1, 1, 10, 0), "2027-01-01 is a public holiday (元日)"),
        (jst(2026, 12, 30, 10, 0), "2026-12-30 is one of the provider's year-end days"),
        (jst(2027, 1, 3, 10, 0), "2027-01-03 is one of the provider's year-end days"),  # Sunday
        (jst(2027, 1, 17, 10, 0), "2027-01-17 is a Sunday"),
        (jst(2027, 1, 16, 17, 0), "17:00 JST is outside 9:00–17:00"),  # Saturday
        (jst(2027, 1, 12, 8, 59), "08:59 JST is outside 9:00–17:00"),
        # judged in Tokyo: 2027-01-16 23:30 UTC is Sunday morning in Tokyo
        (datetime(2027, 1, 16, 23, 30, tzinfo=UTC), "2027-01-17 is a Sunday"),
    ],
)
def test_why_a_time_is_closed(when, text):
    assert why_closed(CAL, when) == text


def test_why_a_provider_designated_day_is_closed():
    cal = BusinessCalendar(extra_closed_days=frozenset({date(2027, 1, 15)}))
    assert why_closed(cal, jst(2027, 1, 15, 10, 0)) == (
        "2027-01-15 is a provider-designated closed day"
    )
    # a Sunday the provider also closes is named as the designated day
    cal = BusinessCalendar(extra_closed_days=frozenset({date(2027, 1, 17)}))
    assert why_closed(cal, jst(2027, 1, 17, 10, 0)) == (
        "2027-01-17 is a provider-designated closed day"
    )


@pytest.mark.parametrize(
    ("now", "requested", "emergency", "at", "inside"),
    [
        # no time asked: the next window start, or now itself when inside it
        (jst(2027, 1, 16, 17, 0), None, False, jst(2027, 1, 18, 9, 0), True),
        (jst(2027, 1, 12, 8, 59), None, False, jst(2027, 1, 12, 9, 0), True),
        (jst(2027, 1, 12, 9, 0), None, False, jst(2027, 1, 12, 9, 0), True),
        # an emergency with no time asked runs now, even outside the window
        (jst(2027, 1, 17, 3, 0), None, True, jst(2027, 1, 17, 3, 0), False),
        (jst(2027, 1, 12, 10, 0), None, True, jst(2027, 1, 12, 10, 0), True),
        # a time asked is kept as asked, inside the window or not
        (jst(2027, 1, 12, 10, 0), jst(2027, 1, 13, 16, 59), False, jst(2027, 1, 13, 16, 59), True),
        (jst(2027, 1, 12, 10, 0), jst(2027, 1, 13, 17, 0), False, jst(2027, 1, 13, 17, 0), False),
        (jst(2027, 1, 12, 10, 0), jst(2027, 1, 17, 10, 0), True, jst(2027, 1, 17, 10, 0), False),
    ],
)
def test_schedule_time(now, requested, emergency, at, inside):
    decision = schedule_time(CAL, now=now, requested=requested, emergency=emergency)
    assert (decision.at, decision.inside_window) == (at, inside)


# --- secrets written out in a change sheet --------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "places"),
    [
        ({"psk": 12345678}, ["psk"]),  # a number is a literal secret too
        ({"psk": ["env"]}, ["psk"]),  # only a mapping {env: NAME} is a reference
        ({"psk": {"env": "X", "value": "y"}}, ["psk"]),
        ({"psk": {"psk": "inner"}}, ["psk"]),  # reported once, at the outer key
        ({"psk": "  env:X"}, []),
        ({"psk": ""}, []),
        ({"psk": None}, []),
        ({"wireless": {"ssids": [{"name": "a"}, {"psk": "p"}]}}, ["wireless.ssids[1].psk"]),
    ],
)
def test_literal_secret_places(raw, places):
    assert literal_secret_places(raw) == places

"""Monitoring's pure rules: debounce, outage open/close, notice windows, retry backoff.

The expectations are written out from the contract (UTM/router Mon–Sat 9–17, wireless Mon–Fri
9–17, no public holidays or year-end days 12-29..01-03), never derived from the code.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.calendar import TOKYO, BusinessCalendar, Service
from monitoring.domain import (
    Debounce,
    Track,
    Verdict,
    is_down,
    monitoring_service,
    notice_due,
    observe,
    retry_delay,
)

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=TOKYO)
MIN = timedelta(minutes=1)


def run(statuses: list[str], debounce: Debounce, every: timedelta = 5 * MIN) -> list[Verdict]:
    track: Track | None = None
    verdicts = []
    for i, status in enumerate(statuses):
        step = observe(track, status=status, changed_at=None, now=T0 + i * every, debounce=debounce)
        track = step.track
        verdicts.append(step.verdict)
    return verdicts


U, S, OP, C, X = Verdict.UNCHANGED, Verdict.SUSPECT, Verdict.OPEN, Verdict.CLOSE, Verdict.CLEARED


@pytest.mark.parametrize(
    ("statuses", "debounce", "expected"),
    [
        (["online", "offline", "online"], Debounce(polls=2), [U, S, X]),
        (["online", "offline", "offline", "offline"], Debounce(polls=2), [U, S, OP, U]),
        (["offline", "offline", "online"], Debounce(polls=2), [S, OP, C]),
        (["offline"], Debounce(polls=1), [OP]),
        (["online", "alerting", "alerting"], Debounce(polls=2), [U, S, OP]),
        (["dormant", "dormant"], Debounce(polls=2), [S, OP]),
        # 3 polls 5 min apart: down 10 min at the 3rd; 15 minutes asked: not yet
        (["offline", "offline", "offline"], Debounce(polls=1, minutes=15), [S, S, S]),
        (["offline"] * 4, Debounce(polls=1, minutes=15), [S, S, S, OP]),
        (["offline"] * 4, Debounce(polls=3, minutes=10), [S, S, OP, U]),
        (["online", "weird-new-status"], Debounce(polls=1), [U, U]),
    ],
)
def test_debounce(statuses: list[str], debounce: Debounce, expected: list[Verdict]) -> None:
    assert run(statuses, debounce) == expected


def test_outage_starts_when_first_seen_down_and_ends_when_back() -> None:
    d = Debounce(polls=3)
    a = observe(None, status="offline", changed_at=None, now=T0, debounce=d)
    b = observe(a.track, status="offline", changed_at=None, now=T0 + 5 * MIN, debounce=d)
    c = observe(b.track, status="offline", changed_at=None, now=T0 + 10 * MIN, debounce=d)
    assert (c.verdict, c.at) == (Verdict.OPEN, T0)
    back = observe(c.track, status="online", changed_at=None, now=T0 + 15 * MIN, debounce=d)
    assert (back.verdict, back.at) == (Verdict.CLOSE, T0 + 15 * MIN)


def test_change_history_times_are_used() -> None:
    went = T0 - 7 * MIN
    d = Debounce(polls=1, minutes=5)
    step = observe(None, status="offline", changed_at=went, now=T0, debounce=d)
    assert (step.verdict, step.at) == (Verdict.OPEN, went)
    came = T0 + 2 * MIN
    back = observe(step.track, status="online", changed_at=came, now=T0 + 5 * MIN, debounce=d)
    assert (back.verdict, back.at) == (Verdict.CLOSE, came)


@pytest.mark.parametrize("again", [T0, T0 - MIN])
def test_a_poll_already_taken_counts_nothing(again: datetime) -> None:
    d = Debounce(polls=2)
    first = observe(None, status="offline", changed_at=None, now=T0, debounce=d)
    repeat = observe(first.track, status="offline", changed_at=None, now=again, debounce=d)
    assert repeat.verdict == Verdict.REPEATED
    assert repeat.track == first.track


@pytest.mark.parametrize(("polls", "minutes"), [(0, 0), (1, -1)])
def test_debounce_refuses_nonsense(polls: int, minutes: int) -> None:
    with pytest.raises(ValueError):
        Debounce(polls=polls, minutes=minutes)


@pytest.mark.parametrize(
    ("status", "down"),
    [("online", False), ("offline", True), ("alerting", True), ("dormant", True), ("", False)],
)
def test_what_counts_as_down(status: str, down: bool) -> None:
    assert is_down(status) is down


@pytest.mark.parametrize(
    ("product", "service"),
    [
        ("wireless", Service.WIRELESS_MONITORING),
        ("appliance", Service.UTM_MONITORING),
        ("switch", Service.UTM_MONITORING),
        (None, Service.UTM_MONITORING),
    ],
)
def test_which_window(product: str | None, service: Service) -> None:
    assert monitoring_service(product) == service


def tokyo(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TOKYO)


UTM, WLAN = Service.UTM_MONITORING, Service.WIRELESS_MONITORING


@pytest.mark.parametrize(
    ("service", "detected", "due"),
    [
        # inside the window: at once
        (UTM, tokyo(2026, 12, 7, 10), tokyo(2026, 12, 7, 10)),  # Monday
        (UTM, tokyo(2026, 12, 7, 9), tokyo(2026, 12, 7, 9)),  # the opening minute
        (UTM, tokyo(2026, 12, 7, 16, 59), tokyo(2026, 12, 7, 16, 59)),
        # 17:00 is closed: next morning
        (UTM, tokyo(2026, 12, 7, 17), tokyo(2026, 12, 8, 9)),
        (UTM, tokyo(2026, 12, 8, 3), tokyo(2026, 12, 8, 9)),
        # Saturday: UTM works, wireless waits for Monday
        (UTM, tokyo(2026, 12, 12, 11), tokyo(2026, 12, 12, 11)),
        (WLAN, tokyo(2026, 12, 12, 11), tokyo(2026, 12, 14, 9)),
        # Sunday: both wait for Monday
        (UTM, tokyo(2026, 12, 13, 11), tokyo(2026, 12, 14, 9)),
        # after Saturday's window, Sunday, then Coming of Age Day (Mon 2027-01-11): Tuesday
        (UTM, tokyo(2027, 1, 9, 18), tokyo(2027, 1, 12, 9)),
        (WLAN, tokyo(2027, 1, 8, 17, 30), tokyo(2027, 1, 12, 9)),
        # year-end days 12-29..01-03 closed: Monday 2027-01-04
        (UTM, tokyo(2026, 12, 28, 17, 30), tokyo(2027, 1, 4, 9)),
        (WLAN, tokyo(2026, 12, 30, 10), tokyo(2027, 1, 4, 9)),
    ],
)
def test_notice_window(service: Service, detected: datetime, due: datetime) -> None:
    assert notice_due(service, detected, BusinessCalendar()) == due


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (30, 3600)]
)
def test_retry_backoff(attempts: int, seconds: int) -> None:
    assert retry_delay(attempts) == timedelta(seconds=seconds)


def test_retry_needs_a_failure() -> None:
    with pytest.raises(ValueError):
        retry_delay(0)

"""The NOC queue's pure rules: every status waits at one stage; the acceptance countdown."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from changes.domain import (
    ChangeStatus,
    QueueStage,
    acceptance_countdown,
    acceptance_due,
    stage_of,
)

JST = ZoneInfo("Asia/Tokyo")

# What the NOC does next decides the stage (issue 12: submitted / approved / scheduled /
# applied / awaiting acceptance), written out here rather than read from the table.
EXPECTED = {
    "submitted": "submitted",
    "validated": "submitted",  # waits for the approval
    "reopened": "submitted",  # a defect: a corrected sheet to validate
    "approved": "approved",
    "failed": "approved",  # to schedule again
    "scheduled": "scheduled",
    "applied": "applied",
    "notified": "awaiting_acceptance",
    "defect_reported": "awaiting_acceptance",
    "accepted": "closed",
    "rejected": "closed",
    "cancelled": "closed",
}


@pytest.mark.parametrize(("status", "stage"), sorted(EXPECTED.items()))
def test_each_status_waits_at_its_stage(status: str, stage: str) -> None:
    assert stage_of(status) == QueueStage(stage)


def test_every_status_has_a_stage() -> None:
    assert set(EXPECTED) == {s.value for s in ChangeStatus}


def test_countdown_of_a_notice_mailed_monday_morning() -> None:
    # Mailed Mon 18 Jan 09:05 JST; the week counts from the next day: the last day is Mon 25th,
    # so the work counts as accepted at 26 Jan 00:00 JST.
    mailed = datetime(2027, 1, 18, 9, 5, tzinfo=JST)
    due = acceptance_due(mailed, 7)
    assert due == datetime(2027, 1, 26, 0, 0, tzinfo=JST)
    left = acceptance_countdown(due, datetime(2027, 1, 19, 9, 30, tzinfo=JST))
    assert (left.days, left.hours, left.minutes, left.ended) == (6, 14, 30, False)
    assert not left.last_day


def test_countdown_on_the_last_day_and_after() -> None:
    due = datetime(2027, 1, 26, 0, 0, tzinfo=JST)
    last = acceptance_countdown(due, due - timedelta(hours=1, minutes=59, seconds=30))
    assert (last.days, last.hours, last.minutes, last.last_day) == (0, 1, 59, True)
    assert acceptance_countdown(due, due).ended
    assert acceptance_countdown(due, due + timedelta(days=3)).ended


@pytest.mark.parametrize(
    ("left", "shown"),
    [
        # a day is 24 hours of 60 minutes: the boundaries of each unit, written out
        (timedelta(days=1), (1, 0, 0)),
        (timedelta(hours=23, minutes=59), (0, 23, 59)),
        (timedelta(hours=2), (0, 2, 0)),
        (timedelta(minutes=59), (0, 0, 59)),
        (timedelta(days=7), (7, 0, 0)),
        (timedelta(days=6, hours=23, minutes=59, seconds=59), (6, 23, 59)),
    ],
)
def test_countdown_units_at_their_boundaries(left: timedelta, shown: tuple[int, int, int]) -> None:
    due = datetime(2027, 1, 26, 0, 0, tzinfo=JST)
    countdown = acceptance_countdown(due, due - left)
    assert (countdown.days, countdown.hours, countdown.minutes) == shown
    assert not countdown.ended


def test_an_ended_countdown_shows_nothing_left() -> None:
    due = datetime(2027, 1, 26, 0, 0, tzinfo=JST)
    for after in (timedelta(0), timedelta(minutes=1), timedelta(days=2, hours=5)):
        ended = acceptance_countdown(due, due + after)
        assert (ended.days, ended.hours, ended.minutes, ended.ended) == (0, 0, 0, True)
        assert not ended.last_day

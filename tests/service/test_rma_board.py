"""The logistics board on both databases: states, due views, search, paging and the count cap."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from rma import board
from rma.board import BoardQuery, DueFilter, StateFilter
from rma.domain import DueFlag, RmaStatus
from rma.sweep import sweep
from tests.conftest import ADMIN
from tests.service.rma_builders import (
    AP,
    FAILED,
    OLD,
    SPARE,
    build_world,
    open_and_decide,
    shipped_rma,
)

# The shipped RMA is due Fri 2026-06-12 (shipped 2026-05-12 JST).
IN_DUE_WEEK = datetime(2026, 6, 9, 3, 0, tzinfo=UTC)  # Tue 12:00 JST
AFTER_DUE = datetime(2026, 6, 12, 15, 0, tzinfo=UTC)  # Sat 00:00 JST


def numbers(page: board.BoardPage) -> list[str]:
    return [row.rma.number for row in page.rows]


def test_states_due_views_and_marks(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    out = shipped_rma(session)
    waiting = open_and_decide(session, AP)
    q = BoardQuery()
    page = board.board(session=session, query=q, now=IN_DUE_WEEK)
    # soonest due first; one with no due date yet after it
    assert numbers(page) == [out.number, waiting.number]
    assert [r.flag for r in page.rows] == [DueFlag.DUE_THIS_WEEK, None]
    assert page.rows[0].site == "本社" and page.total == 2 and not page.more
    assert page.by_state == {"swapped": 1, "replacement_needed": 1}
    week = BoardQuery(due=DueFilter.THIS_WEEK)
    assert numbers(board.board(session=session, query=week, now=IN_DUE_WEEK)) == [out.number]
    overdue = BoardQuery(due=DueFilter.OVERDUE)
    assert numbers(board.board(session=session, query=overdue, now=IN_DUE_WEEK)) == []
    # past the deadline and not swept yet: overdue (red) already
    late = board.board(session=session, query=overdue, now=AFTER_DUE)
    assert numbers(late) == [out.number] and late.rows[0].flag is DueFlag.OVERDUE
    charged = BoardQuery(due=DueFilter.CHARGED)
    assert numbers(board.board(session=session, query=charged, now=AFTER_DUE)) == []
    sweep(session=session, actor=ADMIN, now=AFTER_DUE)
    session.flush()
    page = board.board(session=session, query=charged, now=AFTER_DUE)
    assert numbers(page) == [out.number]
    assert page.rows[0].charge is not None and page.rows[0].charge.total_yen == 140_800
    one_state = BoardQuery(state=RmaStatus.REPLACEMENT_NEEDED)
    assert numbers(board.board(session=session, query=one_state, now=AFTER_DUE)) == [waiting.number]


def test_search_by_serial_customer_site_and_number(session: Session, tmp_path: Path) -> None:
    world = build_world(session, tmp_path)
    out = shipped_rma(session)  # failed FAILED at 本社, replacement SPARE
    other = open_and_decide(session, OLD)  # at 支店
    everything = StateFilter.ALL

    def found(q: str) -> list[str]:
        page = board.board(session=session, query=BoardQuery(state=everything, q=q), now=AFTER_DUE)
        return sorted(numbers(page))

    assert found(FAILED) == [out.number]
    assert found(SPARE.lower()) == [out.number]  # the replacement's serial, as typed
    assert found("支店") == [other.number]
    assert found("本") == [out.number]  # a prefix of the site
    assert found(world.customer[:4]) == sorted([out.number, other.number])
    assert found(other.number) == [other.number]
    assert found(str(other.id)) == []  # a bare number is no RMA number (nor serial, site)
    assert found("東京") == []


def test_paging_counts_and_the_cap(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(session, tmp_path)
    made = [shipped_rma(session, s, swap=False).number for s in (FAILED,)]
    made += [open_and_decide(session, s).number for s in (OLD, AP)]
    q = BoardQuery(state=StateFilter.ALL, limit=2)
    first = board.board(session=session, query=q, now=AFTER_DUE)
    assert first.more and first.total == 3 and len(first.rows) == 2
    second = board.board(
        session=session, query=BoardQuery(state=StateFilter.ALL, limit=2, offset=2), now=AFTER_DUE
    )
    assert not second.more and second.total == 3
    assert sorted(numbers(first) + numbers(second)) == sorted(made)
    # a page of the active ones: counted from the state tabs, the same number
    active = board.board(session=session, query=BoardQuery(limit=1, offset=1), now=AFTER_DUE)
    assert (active.total, len(active.rows), active.more) == (3, 1, True)
    one = BoardQuery(state=RmaStatus.REPLACEMENT_NEEDED, limit=1)
    assert board.board(session=session, query=one, now=AFTER_DUE).total == 2
    # newest first when listing every state
    assert numbers(first) == sorted(made, reverse=True)[:2]
    monkeypatch.setattr(board, "COUNT_CAP", 1)
    capped = board.board(session=session, query=q, now=AFTER_DUE)
    # counted up to the cap and one more: "1+" on the page, whatever the real number
    assert capped.total == 2 and capped.total_capped and capped.more


def test_history_lists_every_move(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    out = shipped_rma(session)
    actions = [e.action for e in board.rma_history(session=session, rma=out)]
    assert actions == [
        "rma.open",
        "rma.replacement_needed",
        "rma.replacement_reserved",
        "rma.shipped",
        "rma.swapped",
    ]

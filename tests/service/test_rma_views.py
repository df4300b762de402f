"""Logistics views on both databases, and the notice PDF read back as text."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pypdf
from sqlmodel import Session

from core.audit import Actor
from rma import views
from rma.domain import RmaStatus
from rma.notice_pdf import render_damage_notice
from rma.sweep import sweep
from tests.service.rma_builders import AP, FAILED, build_world, open_and_decide, shipped_rma

ADMIN = Actor(name="admin", role="admin")


def test_due_this_week_uses_the_tokyo_week(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)  # due Fri 2026-06-12
    # Sun 2026-06-07 23:30 JST is still the week before; Mon 00:30 JST (Sun 15:30 UTC) is not
    sunday_night = datetime(2026, 6, 7, 14, 30, tzinfo=UTC)
    monday_early = datetime(2026, 6, 7, 15, 30, tzinfo=UTC)
    assert views.due_this_week(session=session, now=sunday_night) == []
    assert [r.id for r in views.due_this_week(session=session, now=monday_early)] == [rma.id]
    assert views.due_between(session=session, first=date(2026, 6, 13), last=date(2026, 6, 30)) == []


def test_open_by_state_overdue_and_charges_this_month(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    charged = shipped_rma(session)
    open_and_decide(session, AP)
    after = datetime(2026, 6, 12, 15, 0, tzinfo=UTC)  # 00:00 JST June 13
    assert [r.id for r in views.overdue(session=session, now=after)] == [charged.id]
    assert views.open_by_state(session=session) == {"swapped": 1, "replacement_needed": 1}
    sweep(session=session, actor=ADMIN, now=after)
    session.flush()
    assert views.open_by_state(session=session) == {"charged": 1, "replacement_needed": 1}
    assert [r.status for r in views.overdue(session=session, now=after)] == [RmaStatus.CHARGED]
    in_june = views.charges_in_month(session=session, now=after + timedelta(days=10))
    assert [(c.total_yen, r.id) for c, r in in_june] == [(140_800, charged.id)]
    # the charge was issued on June 13 JST: not in July, nor in May
    assert views.charges_in_month(session=session, now=datetime(2026, 7, 1, tzinfo=UTC)) == []
    assert views.charges_in_month(session=session, now=datetime(2026, 5, 20, tzinfo=UTC)) == []
    rows = list(views.export_rows(session=session))
    assert rows[0][0] == "number" and len(rows) == 3


def test_notice_pdf_text(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    sweep(session=session, actor=ADMIN, now=datetime(2026, 6, 20, tzinfo=UTC))
    session.flush()
    notice = views.damage_notice(session=session, rma_id=rma.id or 0)
    text = pypdf.PdfReader(io.BytesIO(render_damage_notice(notice))).pages[0].extract_text()
    assert "機器損害金のご請求" in text
    assert "株式会社さくら商事 御中" in text
    assert FAILED in text and "MX67" in text
    assert "2026年5月12日" in text  # the Tokyo ship date
    assert "2026年6月12日" in text
    assert "¥128,000" in text and "¥12,800" in text and "¥140,800" in text
    assert "別紙1 II.(3)4" in text

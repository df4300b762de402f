"""Ship and receive by scanning on both databases: the preview changes nothing, the confirm acts
once, and a confirm whose situation changed since the scan is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from core.errors import Conflict, ValidationFailed
from core.models import AuditEntry
from inventory import service as inventory
from rma import replacement, scanning
from rma.domain import Disposition, RmaStatus
from rma.scan_rules import ScanAction, ScanWarning
from tests.service.rma_builders import (
    FAILED,
    LOGI,
    REPORTED,
    SPARE,
    SWAPPED,
    UNVERIFIED,
    build_world,
    open_and_decide,
    policy,
    shipped_rma,
)

NOW = datetime(2026, 5, 20, 1, 0, tzinfo=UTC)


def audit_count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(AuditEntry)).one())


def test_scanning_the_reserved_unit_finds_its_rma_and_ships_it(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = open_and_decide(session)
    replacement.reserve_replacement(session=session, actor=LOGI, rma_id=rma.id or 0, now=REPORTED)
    session.flush()
    before = audit_count(session)
    preview = scanning.preview_ship(session=session, serial=SPARE.lower())
    assert preview.rma is not None and preview.rma.id == rma.id
    assert preview.outcome.action is ScanAction.SHIP and preview.ready
    assert audit_count(session) == before  # a scan changes nothing
    shipped = scanning.confirm_ship(
        session=session,
        actor=LOGI,
        serial=SPARE,
        rma_id=rma.id or 0,
        action=ScanAction.SHIP,
        courier="ヤマト運輸",
        tracking_number="4444-5555-6666",
        policy=policy(),
        now=NOW,
    )
    assert shipped.status == RmaStatus.SHIPPED and shipped.tracking_number == "4444-5555-6666"
    # the same scan again: already shipped, nothing to confirm
    again = scanning.preview_ship(session=session, serial=SPARE)
    assert again.outcome.warnings == (ScanWarning.ALREADY_SHIPPED,) and not again.ready
    with pytest.raises(Conflict):
        scanning.confirm_ship(
            session=session,
            actor=LOGI,
            serial=SPARE,
            rma_id=rma.id or 0,
            action=ScanAction.SHIP,
            courier="ヤマト運輸",
            tracking_number="4444-5555-6666",
            policy=policy(),
            now=NOW,
        )


def test_another_unit_warns_first_then_takes_the_reserved_ones_place(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path, verify=(SPARE, UNVERIFIED))
    rma = open_and_decide(session)
    replacement.reserve_replacement(
        session=session, actor=LOGI, rma_id=rma.id or 0, now=REPORTED, serial=SPARE
    )
    session.flush()
    preview = scanning.preview_ship(session=session, serial=UNVERIFIED, rma_ref=rma.number)
    assert preview.outcome.warnings == (ScanWarning.NOT_RESERVED_UNIT,)
    assert preview.expected_serial == SPARE
    # without a chosen RMA, a unit in stock matches nothing
    alone = scanning.preview_ship(session=session, serial=UNVERIFIED)
    assert alone.outcome.warnings == (ScanWarning.NO_RMA,) and not alone.ready
    shipped = scanning.confirm_ship(
        session=session,
        actor=LOGI,
        serial=UNVERIFIED,
        rma_id=rma.id or 0,
        action=ScanAction.RESERVE_AND_SHIP,
        courier="佐川急便",
        tracking_number="777",
        policy=policy(),
        now=NOW,
    )
    assert shipped.replacement_serial == UNVERIFIED and shipped.status == RmaStatus.SHIPPED
    assert inventory.get_device(session=session, serial=SPARE).status == "in_stock"


def test_confirm_refuses_what_the_scan_did_not_show(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)  # UNVERIFIED is not checked to work
    rma = open_and_decide(session)
    replacement.reserve_replacement(session=session, actor=LOGI, rma_id=rma.id or 0, now=REPORTED)
    session.flush()
    preview = scanning.preview_ship(session=session, serial=UNVERIFIED, rma_ref=str(rma.id))
    assert ScanWarning.NOT_VERIFIED in preview.outcome.warnings and not preview.ready
    before = audit_count(session)
    with pytest.raises(Conflict):
        scanning.confirm_ship(
            session=session,
            actor=LOGI,
            serial=UNVERIFIED,
            rma_id=rma.id or 0,
            action=ScanAction.RESERVE_AND_SHIP,
            courier="佐川急便",
            tracking_number="777",
            policy=policy(),
            now=NOW,
        )
    # the confirm said "ship the reserved unit" but SPARE was scanned as another's: refused too
    with pytest.raises(Conflict):
        scanning.confirm_ship(
            session=session,
            actor=LOGI,
            serial=SPARE,
            rma_id=rma.id or 0,
            action=ScanAction.RESERVE_AND_SHIP,
            courier="佐川急便",
            tracking_number="777",
            policy=policy(),
            now=NOW,
        )
    assert audit_count(session) == before
    with pytest.raises(ValidationFailed):
        scanning.preview_ship(session=session, serial=SPARE, rma_ref="R-12")


def test_receiving_the_failed_unit_closes_the_rma_once(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    preview = scanning.preview_receive(session=session, serial=FAILED, now=NOW)
    assert preview.rma is not None and preview.rma.id == rma.id
    assert (preview.outcome.action, preview.outcome.warnings) == (ScanAction.RECEIVE, ())
    done = scanning.confirm_receive(
        session=session,
        actor=LOGI,
        serial=FAILED,
        rma_id=rma.id or 0,
        action=ScanAction.RECEIVE,
        disposition=Disposition.REFURBISH,
        policy=policy(),
        now=NOW,
    )
    assert done.status == RmaStatus.CLOSED
    again = scanning.preview_receive(session=session, serial=FAILED, now=NOW)
    assert again.outcome.warnings == (ScanWarning.ALREADY_RECEIVED,) and not again.ready


def test_a_wrong_unit_is_warned_before_it_becomes_an_exception(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    # the customer sent the replacement back instead of the failed unit
    preview = scanning.preview_receive(session=session, serial=SPARE, now=NOW)
    assert preview.rma is not None and preview.rma.id == rma.id
    assert preview.outcome.warnings == (ScanWarning.WRONG_UNIT,)
    assert preview.expected_serial == FAILED
    assert scanning.preview_receive(session=session, serial="Q2FY-ZZZZ-9999", now=NOW).rma is None
    assert audit_count(session) > 0
    rows = session.exec(
        select(func.count())
        .select_from(AuditEntry)
        .where(col(AuditEntry.action) == "rma.exception")
    ).one()
    assert rows == 0  # nothing recorded by the scan
    got = scanning.confirm_receive(
        session=session,
        actor=LOGI,
        serial=SPARE,
        rma_id=rma.id or 0,
        action=ScanAction.RECEIVE_MISMATCH,
        disposition=Disposition.REFURBISH,
        policy=policy(),
        now=NOW,
    )
    assert got.status == RmaStatus.EXCEPTION and got.mismatch_serial == SPARE


def test_late_and_unswapped_receipts_are_flagged(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session, swap=False)
    early = scanning.preview_receive(session=session, serial=FAILED, now=SWAPPED)
    assert early.outcome.warnings == (ScanWarning.NO_SWAP,) and not early.ready
    late = datetime(2026, 6, 12, 15, 0, tzinfo=UTC) + timedelta(minutes=1)
    preview = scanning.preview_receive(session=session, serial=FAILED, now=late)
    assert preview.outcome.warnings == (ScanWarning.NO_SWAP, ScanWarning.LATE)
    assert preview.rma is not None and preview.rma.id == rma.id

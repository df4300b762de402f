"""Issue 20 item 1, the RMA side: units always in a possible place, on SQLite and PostgreSQL.

Rules (docs/domain.md, send-back maintenance): a shipped replacement is on the road, not in the
warehouse; the swap makes the replacement the customer's and on the contract, the failed unit the
provider's; the failed unit comes back to the warehouse and is disposed of or refurbished. A unit
an RMA holds is moved only through the RMA. A receipt without a recorded swap is refused with the
command to run. A wrong serial stays on the record. An admin may waive a charge after receipt.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.audit import Actor, history
from core.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from inventory import service as inventory
from inventory.domain import DeviceStatus
from inventory.models import Device
from rma import replacement, returns
from rma import service as rma_service
from rma.domain import Disposition, SwapParty
from rma.models import DamageChargeRecord, RmaNotice
from rma.schemas import RmaOut
from rma.sweep import sweep
from tests.service.helpers import ACTOR
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
    receive,
    shipped_rma,
)

D = DeviceStatus
# Shipped 2026-05-12 JST → due 2026-06-12; 2026-06-13 JST is the first day it is late.
LATE = datetime(2026, 6, 14, 3, 0, tzinfo=UTC)
CLERK = Actor(name="clerk-1", role="logistics")


def unit(session: Session, serial: str) -> Device:
    session.flush()
    session.expire_all()
    return inventory.get_device(session=session, serial=serial)


def owner(session: Session, serial: str) -> str:
    found = inventory.current_owner(session=session, device=unit(session, serial))
    return str(found)


def swap(session: Session, rma_id: int, now: datetime = SWAPPED) -> None:
    replacement.swap_replacement(
        session=session,
        actor=LOGI,
        rma_id=rma_id,
        now=now,
        dashboard=None,
        organization_id="537758",
        swapped_by=SwapParty.PROVIDER,
    )
    session.flush()


def test_each_step_puts_both_units_where_they_physically_are(
    session: Session, tmp_path: Path
) -> None:
    world = build_world(session, tmp_path)
    rma = open_and_decide(session)
    rma_id = rma.id or 0
    assert (unit(session, FAILED).status, unit(session, FAILED).held_by) == ("failed", rma.number)
    replacement.reserve_replacement(session=session, actor=LOGI, rma_id=rma_id, now=REPORTED)
    assert (unit(session, SPARE).status, unit(session, SPARE).held_by) == ("reserved", rma.number)

    replacement.ship_replacement(
        session=session,
        actor=LOGI,
        rma_id=rma_id,
        courier="ヤマト運輸",
        tracking_number="1234",
        shipped_at=REPORTED + timedelta(days=1),
        policy=policy(),
        now=REPORTED + timedelta(days=1),
    )
    spare = unit(session, SPARE)
    assert (spare.status, spare.site, spare.contract_id) == ("in_transit", "倉庫", None)
    assert owner(session, SPARE) == "provider:provider"

    swap(session, rma_id)
    spare, failed = unit(session, SPARE), unit(session, FAILED)
    assert (spare.status, spare.site, spare.network_id, spare.held_by) == (
        "deployed",
        "本社",
        "N_demo_tokyo",
        None,
    )
    assert spare.customer == world.customer and spare.contract_id is not None
    assert owner(session, SPARE) == f"customer:{world.customer}"
    assert (failed.status, failed.contract_id, failed.held_by) == (
        "in_rma",
        None,
        f"RMA-{rma_id:06d}",
    )
    assert owner(session, FAILED) == "provider:provider"

    receive(session, rma_id, now=SWAPPED + timedelta(days=3))
    failed = unit(session, FAILED)
    assert (failed.status, failed.contract_id, failed.held_by) == ("disposed", None, None)
    on_contract = session.exec(
        select(Device.serial).where(Device.contract_id == spare.contract_id)
    ).all()
    assert FAILED not in on_contract and SPARE in on_contract


def test_a_receipt_without_a_recorded_swap_is_refused_with_the_command(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session, swap=False)
    rma_id = rma.id or 0
    session.commit()  # the test's savepoint: the refused request rolls back to here
    with pytest.raises(Conflict) as refused:
        receive(session, rma_id, now=SWAPPED + timedelta(days=2))
    assert f"netkeep rma swap {rma_id}" in refused.value.message
    assert "--no-dashboard" in refused.value.message
    session.rollback()
    assert rma_service.get_rma(session=session, rma_id=rma_id).status == "shipped"
    assert unit(session, SPARE).status == "in_transit"
    assert unit(session, FAILED).status == "failed"

    swap(session, rma_id)  # the command it names
    closed = receive(session, rma_id, now=SWAPPED + timedelta(days=2))
    assert closed.status == "closed"
    assert unit(session, SPARE).status == "deployed"


def test_a_late_unit_never_swapped_is_swapped_in_while_charged_then_closes(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session, swap=False)
    rma_id = rma.id or 0
    session.commit()
    with pytest.raises(Conflict, match=f"netkeep rma swap {rma_id}"):
        receive(session, rma_id, now=LATE)
    session.rollback()
    report = sweep(session=session, actor=ACTOR, now=LATE)
    assert report.charged == [rma.number]
    swap(session, rma_id, now=LATE)  # recorded beside the charge: the status stays charged
    rma = rma_service.get_rma(session=session, rma_id=rma_id)
    assert rma.status == "charged" and rma.swapped_at is not None
    assert unit(session, SPARE).status == "deployed"
    closed = receive(session, rma_id, now=LATE + timedelta(hours=1))
    assert closed.status == "closed" and closed.late_arrival
    assert unit(session, FAILED).status == "disposed"
    assert unit(session, FAILED).contract_id is None


def test_a_unit_an_rma_holds_cannot_be_moved_by_hand(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = open_and_decide(session)
    rma_id = rma.id or 0
    replacement.reserve_replacement(session=session, actor=LOGI, rma_id=rma_id, now=REPORTED)
    for serial, target in ((SPARE, D.IN_STOCK), (FAILED, D.DEPLOYED)):
        with pytest.raises(Conflict) as refused:
            inventory.change_status(
                session=session, actor=ACTOR, serial=serial, target=target, now=REPORTED
            )
        assert "RMA-" in refused.value.message and f"netkeep rma release {rma_id}" in (
            refused.value.message
        )
        assert f"held by {rma.number}" in refused.value.message
    with pytest.raises(Conflict, match=f"held by {rma.number}"):
        inventory.update_device(
            session=session,
            actor=ACTOR,
            serial=SPARE,
            changes={"site": "大阪支店"},
            now=REPORTED,
        )
    # a note is not a move
    inventory.update_device(
        session=session, actor=ACTOR, serial=SPARE, changes={"notes": "箱に傷"}, now=REPORTED
    )
    assert unit(session, SPARE).status == "reserved"


def test_the_rma_releases_and_re_reserves(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path, verify=(SPARE, UNVERIFIED))
    rma = open_and_decide(session)
    rma_id = rma.id or 0
    replacement.reserve_replacement(
        session=session, actor=LOGI, rma_id=rma_id, now=REPORTED, serial=SPARE
    )
    released = replacement.release_replacement(
        session=session, actor=LOGI, rma_id=rma_id, reason="箱が破損", now=REPORTED
    )
    assert released.status == "replacement_needed" and released.replacement_serial is None
    assert (unit(session, SPARE).status, unit(session, SPARE).held_by) == ("in_stock", None)
    # the same unit again
    again = replacement.reserve_replacement(
        session=session, actor=LOGI, rma_id=rma_id, now=REPORTED, serial=SPARE
    )
    assert (again.status, again.replacement_serial) == ("replacement_reserved", SPARE)
    # another unit straight from reserved: the first goes back to stock in the same step
    other = replacement.reserve_replacement(
        session=session, actor=LOGI, rma_id=rma_id, now=REPORTED, serial=UNVERIFIED
    )
    assert other.replacement_serial == UNVERIFIED
    assert (unit(session, SPARE).status, unit(session, SPARE).held_by) == ("in_stock", None)
    assert unit(session, UNVERIFIED).held_by == rma.number
    actions = [e.action for e in history(session=session, entity_type="rma", entity_id=rma.number)]
    assert actions.count("rma.replacement_needed") == 3  # decided, released, re-reserved
    with pytest.raises(ValidationFailed, match="reason"):
        replacement.release_replacement(
            session=session, actor=LOGI, rma_id=rma_id, reason=" ", now=REPORTED
        )


def test_a_shipped_replacement_cannot_be_released(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session, swap=False)
    with pytest.raises(InvalidTransition):
        replacement.release_replacement(
            session=session, actor=LOGI, rma_id=rma.id or 0, reason="x", now=SWAPPED
        )


def test_a_serial_mismatch_stays_on_the_record(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    rma_id = rma.id or 0
    wrong_at = SWAPPED + timedelta(days=2)
    returns.receive_unit(
        session=session,
        actor=CLERK,
        rma_id=rma_id,
        serial="q2fy-zzzz-0099",
        disposition=Disposition.DISPOSE,
        policy=policy(),
        now=wrong_at,
    )
    assert rma_service.get_rma(session=session, rma_id=rma_id).status == "exception"
    closed = receive(session, rma_id, now=wrong_at + timedelta(days=1))
    assert closed.status == "closed"
    [mismatch] = rma_service.mismatches_of(session=session, rma=closed)
    assert (mismatch.expected_serial, mismatch.received_serial) == (FAILED, "Q2FY-ZZZZ-0099")
    assert (mismatch.received_by, mismatch.received_at) == ("clerk-1", wrong_at)
    out = RmaOut.of(closed, mismatches=rma_service.mismatches_of(session=session, rma=closed))
    assert [m.received_serial for m in out.mismatches] == ["Q2FY-ZZZZ-0099"]
    assert out.mismatch_serial == "Q2FY-ZZZZ-0099"
    notes = [
        e.after.get("note")
        for e in history(session=session, entity_type="rma", entity_id=closed.number)
        if e.after
    ]
    assert f"expected {FAILED}, received Q2FY-ZZZZ-0099" in notes


def test_a_closed_rma_cancels_its_reminders_and_sends_none(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    receive(session, rma.id or 0, now=SWAPPED + timedelta(days=1))
    reminders = rma_service.reminders_of(session=session, rma=rma)
    assert {(r.remind_on, r.outcome) for r in reminders} == {
        (date(2026, 6, 5), "cancelled"),
        (date(2026, 6, 9), "cancelled"),
        (date(2026, 6, 11), "cancelled"),
    }
    june11 = datetime(2026, 6, 11, 1, 0, tzinfo=UTC)
    assert returns.send_due_reminders(session=session, actor=LOGI, now=june11) == []
    assert session.exec(select(RmaNotice).where(RmaNotice.rma_id == rma.id)).all() == []


def test_a_passed_reminder_is_sent_late_once_and_after_the_due_date_missed(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    june10 = datetime(2026, 6, 10, 1, 0, tzinfo=UTC)  # 10:00 JST: June 5 and 9 have passed
    sent = returns.send_due_reminders(session=session, actor=LOGI, now=june10)
    assert [(s.remind_on, s.late) for s in sent] == [(date(2026, 6, 9), True)]
    assert returns.send_due_reminders(session=session, actor=LOGI, now=june10) == []
    # nobody runs it again until after the due date: June 11 is missed, not sent
    june13 = datetime(2026, 6, 13, 1, 0, tzinfo=UTC)
    assert returns.send_due_reminders(session=session, actor=LOGI, now=june13) == []
    session.flush()
    session.expire_all()
    got = {
        r.remind_on: (r.outcome, r.outcome_at)
        for r in rma_service.reminders_of(session=session, rma=rma)
    }
    assert got == {
        date(2026, 6, 5): ("missed", june10),
        date(2026, 6, 9): ("sent_late", june10),
        date(2026, 6, 11): ("missed", june13),
    }
    assert len(session.exec(select(RmaNotice).where(RmaNotice.rma_id == rma.id)).all()) == 1


def test_an_admin_waives_the_charge_of_a_late_unit_after_receipt(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    rma_id = rma.id or 0
    closed = receive(session, rma_id, now=LATE)  # keep policy: billed at receipt
    assert closed.status == "closed"
    charge = session.exec(
        select(DamageChargeRecord).where(DamageChargeRecord.rma_id == rma_id)
    ).one()
    assert charge.total_yen > 0 and charge.credited_at is None
    with pytest.raises(PermissionDenied):
        returns.waive_charge(
            session=session, actor=LOGI, rma_id=rma_id, reason="顧客都合", now=LATE
        )
    waived_at = LATE + timedelta(days=1)
    after = returns.waive_charge(
        session=session, actor=ACTOR, rma_id=rma_id, reason="配送遅延は当社都合", now=waived_at
    )
    assert after.status == "closed"
    session.flush()
    session.expire_all()
    charge = session.exec(
        select(DamageChargeRecord).where(DamageChargeRecord.rma_id == rma_id)
    ).one()
    assert charge.credited_at == waived_at
    assert charge.credit_reason == "waived after receipt: 配送遅延は当社都合"
    entries = history(session=session, entity_type="rma", entity_id=after.number)
    [waived] = [e for e in entries if e.action == "rma.charge_waived"]
    assert waived.actor == "tester" and waived.after["credited_at"] is not None
    with pytest.raises(Conflict, match="already credited"):
        returns.waive_charge(
            session=session, actor=ACTOR, rma_id=rma_id, reason="again", now=waived_at
        )


def test_an_active_swap_claim_refuses_a_second_swap_and_a_stale_one_is_taken_over(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session, swap=False)
    rma_id = rma.id or 0
    claimed = rma_service.get_rma(session=session, rma_id=rma_id)
    claimed.swap_claimed_at = SWAPPED - timedelta(minutes=1)  # another request, one minute ago
    session.add(claimed)
    session.commit()
    with pytest.raises(Conflict, match="another request is swapping it"):
        swap(session, rma_id)
    session.rollback()
    swap(session, rma_id, now=SWAPPED + timedelta(minutes=30))  # that request died long ago
    done = rma_service.get_rma(session=session, rma_id=rma_id)
    assert done.status == "swapped" and done.swap_claimed_at is None

"""RMA use cases through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.audit import history
from core.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from inventory import service as inventory
from inventory.domain import Acquisition, DeviceStatus, ProductType
from rma import replacement, returns
from rma import service as rma_service
from rma.domain import Disposition, LateArrivalPolicy, RmaStatus, SwapParty
from rma.models import DamageChargeRecord, RmaNotice
from rma.sweep import sweep
from tests.service.helpers import ACTOR
from tests.service.rma_builders import (
    AP,
    AP_SPARE,
    FAILED,
    LOGI,
    NOC,
    OLD,
    REPORTED,
    SHIPPED,
    SPARE,
    SWAPPED,
    UNVERIFIED,
    build_world,
    open_and_decide,
    policy,
    receive,
    request_pickup,
    shipped_rma,
)

# The return period of SHIPPED ends on 2026-06-12 (a Friday): overdue from 00:00 JST June 13.
DUE = date(2026, 6, 12)
LAST_MOMENT = datetime(2026, 6, 12, 14, 59, 59, tzinfo=UTC)  # 23:59:59 JST
FIRST_OVERDUE = datetime(2026, 6, 12, 15, 0, tzinfo=UTC)  # 00:00 JST June 13


def status_of(session: Session, serial: str) -> str:
    return inventory.get_device(session=session, serial=serial).status


def owner_at(session: Session, serial: str, at: datetime) -> str | None:
    device = inventory.get_device(session=session, serial=serial)
    event = inventory.owner_event_at(session=session, device=device, at=at)
    return None if event is None else f"{event.owner_kind}:{event.owner_name}"


def test_happy_path_from_report_to_close(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = rma_service.open_rma(
        session=session,
        actor=NOC,
        serial=FAILED.lower(),
        symptom="電源が入らない",
        reporter="総務 山田",
        reported_at=REPORTED,
        now=REPORTED,
    )
    rma_id = rma.id or 0
    assert rma.status == RmaStatus.OPEN
    assert status_of(session, FAILED) == DeviceStatus.FAILED
    rma_service.decide(
        session=session, actor=NOC, rma_id=rma_id, replace=True, note="PSU", now=REPORTED
    )
    replacement.reserve_replacement(session=session, actor=LOGI, rma_id=rma_id, now=REPORTED)
    assert status_of(session, SPARE) == DeviceStatus.RESERVED
    replacement.ship_replacement(
        session=session,
        actor=LOGI,
        rma_id=rma_id,
        courier="ヤマト運輸",
        tracking_number="1234",
        shipped_at=SHIPPED,
        policy=policy(),
        now=SHIPPED,
    )
    replacement.swap_replacement(
        session=session,
        actor=LOGI,
        rma_id=rma_id,
        now=SWAPPED,
        dashboard=None,
        organization_id="537758",
    )
    assert status_of(session, SPARE) == DeviceStatus.DEPLOYED
    assert status_of(session, FAILED) == DeviceStatus.IN_RMA
    request_pickup(session, rma_id, tracking_number="9999")
    receive(session, rma_id, now=SWAPPED + timedelta(days=4), disposition=Disposition.REFURBISH)
    session.expire_all()
    rma = rma_service.get_rma(session=session, rma_id=rma_id)
    assert rma.status == RmaStatus.CLOSED
    assert (rma.replacement_serial, rma.substitution) == (SPARE, False)
    assert rma.swapped_by_kind == SwapParty.PROVIDER  # UTM plan: the provider swaps
    assert rma.disposition == "refurbish" and rma.closed_at is not None
    assert status_of(session, FAILED) == DeviceStatus.REFURBISHED
    spare = inventory.get_device(session=session, serial=SPARE)
    assert spare.site == "本社" and spare.network_id == "N_demo_tokyo"
    assert spare.contract_id is not None
    assert inventory.get_device(session=session, serial=FAILED).contract_id is None
    actions = [e.action for e in history(session=session, entity_type="rma", entity_id=rma.number)]
    assert actions == [
        "rma.open",
        "rma.replacement_needed",
        "rma.replacement_reserved",
        "rma.shipped",
        "rma.swapped",
        "rma.pickup_requested",
        "rma.received",
        "rma.reminders_cancelled",
        "rma.closed",
    ]
    with pytest.raises(InvalidTransition) as excinfo:
        rma_service.request_pickup(
            session=session,
            actor=LOGI,
            rma_id=rma_id,
            pickup_date=date(2026, 5, 15),
            courier="x",
            tracking_number="",
            now=SWAPPED,
        )
    assert excinfo.value.allowed == []


def test_remote_resolution_puts_the_device_back(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = rma_service.open_rma(
        session=session,
        actor=NOC,
        serial=FAILED,
        symptom="VPN断",
        reporter="山田",
        reported_at=REPORTED,
        now=REPORTED,
    )
    rma_service.decide(
        session=session, actor=NOC, rma_id=rma.id or 0, replace=False, note="reboot", now=REPORTED
    )
    assert rma_service.get_rma(session=session, rma_id=rma.id or 0).status == "resolved_remotely"
    assert status_of(session, FAILED) == DeviceStatus.DEPLOYED


def test_successor_substitution_when_no_verified_same_model(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = open_and_decide(session, OLD)  # MX64, end of sale; successor MX67
    replacement.reserve_replacement(session=session, actor=LOGI, rma_id=rma.id or 0, now=REPORTED)
    rma = rma_service.get_rma(session=session, rma_id=rma.id or 0)
    assert (rma.replacement_serial, rma.replacement_model, rma.substitution) == (
        SPARE,
        "MX67",
        True,
    )
    assert any(
        "substitution MX64 → MX67" in str((e.after or {}).get("note"))
        for e in history(session=session, entity_type="rma", entity_id=rma.number)
    )


def test_only_verified_units_are_picked_and_none_means_conflict(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path, verify=())
    rma = open_and_decide(session)
    with pytest.raises(Conflict, match="no verified in-stock unit of MX67"):
        replacement.reserve_replacement(
            session=session, actor=LOGI, rma_id=rma.id or 0, now=REPORTED
        )
    assert status_of(session, SPARE) == DeviceStatus.IN_STOCK


def test_an_unverified_unit_may_be_reserved_but_never_ships(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = open_and_decide(session)
    rma_id = rma.id or 0
    replacement.reserve_replacement(
        session=session, actor=LOGI, rma_id=rma_id, now=REPORTED, serial=UNVERIFIED
    )
    with pytest.raises(ValidationFailed) as excinfo:
        replacement.ship_replacement(
            session=session,
            actor=LOGI,
            rma_id=rma_id,
            courier="佐川",
            tracking_number="1",
            shipped_at=SHIPPED,
            policy=policy(),
            now=SHIPPED,
        )
    assert "has not been checked to work" in str(excinfo.value)
    rma = rma_service.get_rma(session=session, rma_id=rma_id)
    assert rma.status == RmaStatus.REPLACEMENT_RESERVED and rma.due_date is None


def test_a_model_outside_the_successor_chain_is_refused(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = open_and_decide(session)
    with pytest.raises(ValidationFailed, match="problem"):
        replacement.reserve_replacement(
            session=session, actor=LOGI, rma_id=rma.id or 0, now=REPORTED, serial=AP_SPARE
        )


def test_due_date_and_reminders_are_stored(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session, swap=False)
    assert rma.shipped_at == SHIPPED
    assert rma.due_date == DUE  # Tokyo ship date May 12 → June 12
    reminders = rma_service.reminders_of(session=session, rma=rma)
    assert [r.remind_on for r in reminders] == [
        date(2026, 6, 5),
        date(2026, 6, 9),
        date(2026, 6, 11),
    ]
    assert all(r.sent_at is None for r in reminders)

    # `rma remind` first run on June 9 (JST): the June 9 one goes out on its day, once; the
    # June 5 one is missed (one notice, not two at once); June 11 stays planned.
    june9 = datetime(2026, 6, 9, 0, 30, tzinfo=UTC)
    sent = returns.send_due_reminders(session=session, actor=LOGI, now=june9)
    assert [(s.remind_on, s.late) for s in sent] == [(date(2026, 6, 9), False)]
    assert returns.send_due_reminders(session=session, actor=LOGI, now=june9) == []
    notices = session.exec(select(RmaNotice).where(RmaNotice.rma_id == rma.id)).all()
    assert len(notices) == 1 and "返却期限 2026-06-12" in notices[0].subject
    session.expire_all()
    outcomes = {r.remind_on: r.outcome for r in rma_service.reminders_of(session=session, rma=rma)}
    assert outcomes == {
        date(2026, 6, 5): "missed",
        date(2026, 6, 9): "sent",
        date(2026, 6, 11): None,
    }


def test_due_date_moves_past_a_sunday(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = open_and_decide(session)
    rma_id = rma.id or 0
    replacement.reserve_replacement(session=session, actor=LOGI, rma_id=rma_id, now=REPORTED)
    # shipped Sat 2026-04-04 JST → May 4 (みどりの日), 5 and 6 are holidays → due Thu May 7
    rma = replacement.ship_replacement(
        session=session,
        actor=LOGI,
        rma_id=rma_id,
        courier="佐川",
        tracking_number="1",
        shipped_at=datetime(2026, 4, 4, 2, 0, tzinfo=UTC),
        policy=policy(),
        now=REPORTED,
    )
    assert rma.due_date == date(2026, 5, 7)


@pytest.mark.parametrize(
    ("acquisition", "fee_paid", "owner"),
    [
        (Acquisition.SOLD, True, "customer:株式会社さくら商事"),
        (Acquisition.SOLD, False, "provider:provider"),
        (Acquisition.LEASED, True, "leasing_company:東京オフィスリース株式会社"),
    ],
    ids=["customer-owned", "provider-owned-fee-unpaid", "leased"],
)
def test_swap_moves_ownership(
    session: Session, tmp_path: Path, acquisition: Acquisition, fee_paid: bool, owner: str
) -> None:
    build_world(session, tmp_path, acquisition=acquisition, fee_paid=fee_paid)
    assert owner_at(session, FAILED, SWAPPED - timedelta(seconds=1)) == owner
    rma = shipped_rma(session)
    before = SWAPPED - timedelta(seconds=1)
    assert owner_at(session, SPARE, before) == "provider:provider"
    assert owner_at(session, SPARE, SWAPPED) == owner
    assert owner_at(session, FAILED, SWAPPED) == "provider:provider"
    assert owner_at(session, FAILED, before) == owner
    device = inventory.get_device(session=session, serial=SPARE)
    event = inventory.owner_event_at(session=session, device=device, at=SWAPPED)
    assert event is not None
    assert (event.reason, event.reference) == ("rma_swap", rma.number)


def test_wireless_swap_is_recorded_as_the_customers(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session, AP, swap=False)
    rma_id = rma.id or 0
    with pytest.raises(ValidationFailed, match="problem"):
        replacement.swap_replacement(
            session=session,
            actor=LOGI,
            rma_id=rma_id,
            now=SWAPPED,
            dashboard=None,
            organization_id="537758",
        )
    rma = replacement.swap_replacement(
        session=session,
        actor=LOGI,
        rma_id=rma_id,
        now=SWAPPED,
        dashboard=None,
        organization_id="537758",
        swapped_by_name="情報システム部 佐藤",
    )
    assert (rma.swapped_by_kind, rma.swapped_by_name) == ("customer", "情報システム部 佐藤")
    assert rma.replacement_serial == AP_SPARE


def test_serial_mismatch_on_receipt_is_an_exception(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    rma_id = rma.id or 0
    request_pickup(session, rma_id, tracking_number="")
    receive(session, rma_id, now=SWAPPED, serial="Q2FY-ZZZZ-0099")
    session.expire_all()
    rma = rma_service.get_rma(session=session, rma_id=rma_id)
    assert rma.status == RmaStatus.EXCEPTION
    assert rma.mismatch_serial == "Q2FY-ZZZZ-0099" and rma.closed_at is None
    assert status_of(session, FAILED) == DeviceStatus.IN_RMA
    # the right unit arrives afterwards: the RMA closes
    returns.receive_unit(
        session=session,
        actor=LOGI,
        rma_id=rma_id,
        serial=FAILED,
        disposition=Disposition.DISPOSE,
        policy=policy(),
        now=SWAPPED + timedelta(days=1),
    )
    assert rma_service.get_rma(session=session, rma_id=rma_id).status == RmaStatus.CLOSED
    assert status_of(session, FAILED) == DeviceStatus.DISPOSED


def _charges(session: Session) -> list[DamageChargeRecord]:
    return list(session.exec(select(DamageChargeRecord)))


def test_sweep_charges_once_with_truncated_tax(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    inventory.upsert_catalogue_model(
        session=session,
        actor=ACTOR,
        model="MX67",
        product_type=ProductType.APPLIANCE,
        list_price_yen=128_999,
    )
    rma = shipped_rma(session)
    assert sweep(session=session, actor=ACTOR, now=LAST_MOMENT).charged == []
    report = sweep(session=session, actor=ACTOR, now=FIRST_OVERDUE)
    assert report.overdue == [rma.number] and report.charged == [rma.number]
    session.flush()
    session.expire_all()
    [charge] = _charges(session)
    assert (charge.net_yen, charge.tax_yen, charge.total_yen) == (128_999, 12_899, 141_898)
    assert charge.model == "MX67" and charge.issued_at == FIRST_OVERDUE
    assert rma_service.get_rma(session=session, rma_id=rma.id or 0).status == RmaStatus.CHARGED
    assert status_of(session, FAILED) == DeviceStatus.LOST
    audit_before = len(history(session=session, entity_type="rma", entity_id=rma.number))

    again = sweep(session=session, actor=ACTOR, now=FIRST_OVERDUE + timedelta(days=3))
    assert (again.overdue, again.charged, again.total_yen) == ([], [], 0)
    assert len(_charges(session)) == 1
    assert len(history(session=session, entity_type="rma", entity_id=rma.number)) == audit_before


def test_extend_by_admin_only_and_it_postpones_the_charge(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    rma_id = rma.id or 0
    with pytest.raises(PermissionDenied):
        returns.extend_due_date(
            session=session,
            actor=LOGI,
            rma_id=rma_id,
            due_date=date(2026, 6, 30),
            reason="台風",
            policy=policy(),
            now=SWAPPED,
        )
    returns.extend_due_date(
        session=session,
        actor=ACTOR,
        rma_id=rma_id,
        due_date=date(2026, 6, 30),
        reason="台風で集荷不可",
        policy=policy(),
        now=SWAPPED,
    )
    rma = rma_service.get_rma(session=session, rma_id=rma_id)
    assert rma.due_date == date(2026, 6, 30) and rma.status == RmaStatus.SWAPPED
    assert [r.remind_on for r in rma_service.reminders_of(session=session, rma=rma)] == [
        date(2026, 6, 23),
        date(2026, 6, 27),
        date(2026, 6, 29),
    ]
    assert sweep(session=session, actor=ACTOR, now=FIRST_OVERDUE).charged == []
    entry = history(session=session, entity_type="rma", entity_id=rma.number)[-1]
    assert entry.action == "rma.extend" and "台風で集荷不可" in entry.after["note"]


def test_waive_by_admin_credits_the_charge(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    rma_id = rma.id or 0
    sweep(session=session, actor=ACTOR, now=FIRST_OVERDUE)
    with pytest.raises(PermissionDenied):
        returns.waive_charge(session=session, actor=LOGI, rma_id=rma_id, reason="x", now=SWAPPED)
    returns.waive_charge(
        session=session, actor=ACTOR, rma_id=rma_id, reason="長年の顧客", now=FIRST_OVERDUE
    )
    session.flush()
    session.expire_all()
    [charge] = _charges(session)
    assert charge.credited_at == FIRST_OVERDUE and charge.credit_reason == "waived: 長年の顧客"
    assert rma_service.get_rma(session=session, rma_id=rma_id).status == RmaStatus.WAIVED


@pytest.mark.parametrize("late", list(LateArrivalPolicy))
def test_late_arrival_after_the_charge(
    session: Session, tmp_path: Path, late: LateArrivalPolicy
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    rma_id = rma.id or 0
    sweep(session=session, actor=ACTOR, now=FIRST_OVERDUE)
    arrived = FIRST_OVERDUE + timedelta(days=2)
    receive(session, rma_id, now=arrived, late=late)
    session.expire_all()
    rma = rma_service.get_rma(session=session, rma_id=rma_id)
    [charge] = _charges(session)
    assert rma.status == RmaStatus.CLOSED and rma.late_arrival is True
    assert charge.late_arrival_at == arrived
    if late is LateArrivalPolicy.CREDIT:
        assert charge.credited_at == arrived
    else:
        assert charge.credited_at is None
    assert status_of(session, FAILED) == DeviceStatus.DISPOSED


def test_an_open_rma_cannot_ship(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    rma = rma_service.open_rma(
        session=session,
        actor=NOC,
        serial=FAILED,
        symptom="x",
        reporter="y",
        reported_at=REPORTED,
        now=REPORTED,
    )
    with pytest.raises(InvalidTransition) as excinfo:
        replacement.ship_replacement(
            session=session,
            actor=LOGI,
            rma_id=rma.id or 0,
            courier="c",
            tracking_number="t",
            shipped_at=SHIPPED,
            policy=policy(),
            now=SHIPPED,
        )
    assert excinfo.value.allowed == ["replacement_needed", "resolved_remotely"]

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from inventory import contracts, service
from inventory.domain import Acquisition, ContractOption, DeviceStatus, Plan
from tests.service.helpers import ACTOR, T0, import_csv, write_csv

DEVICES = (
    "Q2FY-AAAA-7001,MX67,,deployed,,本社,,,,N_1,2026-04-01,\n"
    "Q2FY-AAAA-7002,MX67,,deployed,,支店,,,,N_2,2026-04-01,\n"
    "Q2FY-AAAA-7003,MX67,,in_stock,,倉庫,,,,,2026-04-01,\n"
    "Q3AJ-DDDD-7001,MR36,,deployed,,本社,,,,N_1,2026-04-01,\n"
)
PAID = datetime(2026, 5, 29, 1, 0, tzinfo=UTC)


@pytest.fixture
def utm_contract(session: Session, tmp_path: Path) -> str:
    import_csv(session, write_csv(tmp_path, DEVICES))
    contracts.create_contract(
        session=session,
        actor=ACTOR,
        number="C-1",
        customer="さくら商事",
        plan=Plan.UTM,
        options=[ContractOption.VPN],
    )
    contracts.attach_device(
        session=session,
        actor=ACTOR,
        number="C-1",
        serial="Q2FY-AAAA-7001",
        acquisition=Acquisition.SOLD,
        now=T0,
    )
    contracts.attach_device(
        session=session,
        actor=ACTOR,
        number="C-1",
        serial="Q2FY-AAAA-7002",
        acquisition=Acquisition.LEASED,
        leasing_company="東京リース",
        now=T0,
    )
    session.flush()
    return "C-1"


def owner_at(session: Session, serial: str, at: datetime) -> str | None:
    device = service.get_device(session=session, serial=serial)
    event = service.owner_event_at(session=session, device=device, at=at)
    return None if event is None else f"{event.owner_kind}:{event.owner_name}"


def test_initial_fee_moves_sold_devices_and_history_answers_the_past(
    session: Session, utm_contract: str
) -> None:
    events = contracts.mark_initial_fee_paid(
        session=session, actor=ACTOR, number=utm_contract, paid_at=PAID
    )
    assert [e.serial for e in events] == ["Q2FY-AAAA-7001"]
    assert owner_at(session, "Q2FY-AAAA-7001", PAID - timedelta(seconds=1)) == "provider:provider"
    assert owner_at(session, "Q2FY-AAAA-7001", PAID) == "customer:さくら商事"
    assert owner_at(session, "Q2FY-AAAA-7001", datetime(2026, 3, 1, tzinfo=UTC)) is None
    # the leased unit stays with the leasing company (Art. 22)
    assert (
        owner_at(session, "Q2FY-AAAA-7002", PAID + timedelta(days=1))
        == "leasing_company:東京リース"
    )
    with pytest.raises(Conflict, match="already marked paid"):
        contracts.mark_initial_fee_paid(
            session=session, actor=ACTOR, number=utm_contract, paid_at=PAID
        )


def test_device_must_fit_the_plan_and_not_be_on_two_contracts(
    session: Session, utm_contract: str
) -> None:
    with pytest.raises(ValidationFailed, match="problem") as info:
        contracts.attach_device(
            session=session,
            actor=ACTOR,
            number=utm_contract,
            serial="Q3AJ-DDDD-7001",
            acquisition=Acquisition.SOLD,
            now=T0,
        )
    assert "MR36 does not fit the utm plan" in str(info.value)
    contracts.create_contract(
        session=session, actor=ACTOR, number="C-2", customer="他社", plan=Plan.UTM
    )
    with pytest.raises(ValidationFailed) as info:
        contracts.attach_device(
            session=session,
            actor=ACTOR,
            number="C-2",
            serial="Q2FY-AAAA-7001",
            acquisition=Acquisition.SOLD,
            now=T0,
        )
    assert info.value.problems[0].location == "serial"


def test_end_lists_provider_owned_units(session: Session, utm_contract: str) -> None:
    contracts.attach_device(
        session=session,
        actor=ACTOR,
        number=utm_contract,
        serial="Q2FY-AAAA-7003",
        acquisition=Acquisition.SOLD,
        now=T0,
    )
    contracts.mark_initial_fee_paid(session=session, actor=ACTOR, number=utm_contract, paid_at=PAID)
    ended = contracts.end_contract(
        session=session, actor=ACTOR, number=utm_contract, notice_date=date(2027, 2, 10)
    )
    assert ended.end_date == date(2027, 2, 28)
    assert ended.must_return == []  # customer-owned and leased units stay
    with pytest.raises(Conflict):
        contracts.end_contract(
            session=session, actor=ACTOR, number=utm_contract, notice_date=date(2027, 3, 1)
        )


def test_unpaid_contract_end_requires_return(session: Session, utm_contract: str) -> None:
    ended = contracts.end_contract(
        session=session, actor=ACTOR, number=utm_contract, notice_date=date(2026, 12, 5)
    )
    assert [d.serial for d in ended.must_return] == ["Q2FY-AAAA-7001"]
    device = contracts.receive_contract_return(
        session=session,
        actor=ACTOR,
        number=utm_contract,
        serial="Q2FY-AAAA-7001",
        now=T0 + timedelta(days=300),
    )
    assert device.status == DeviceStatus.RETURNED and device.contract_id is None


def test_swap_moves_place_and_ownership(session: Session, utm_contract: str) -> None:
    contracts.mark_initial_fee_paid(session=session, actor=ACTOR, number=utm_contract, paid_at=PAID)
    swap_at = PAID + timedelta(days=30)
    failed, repl = contracts.swap_on_contract(
        session=session,
        actor=ACTOR,
        failed_serial="Q2FY-AAAA-7001",
        replacement_serial="Q2FY-AAAA-7003",
        now=swap_at,
        reference="RMA-1",
    )
    assert repl.contract_id is not None and failed.contract_id is None
    assert (repl.network_id, repl.site, repl.customer) == ("N_1", "本社", "さくら商事")
    assert owner_at(session, "Q2FY-AAAA-7003", swap_at) == "customer:さくら商事"
    assert owner_at(session, "Q2FY-AAAA-7001", swap_at) == "provider:provider"
    assert (
        owner_at(session, "Q2FY-AAAA-7001", swap_at - timedelta(seconds=1)) == "customer:さくら商事"
    )


def test_swap_of_a_leased_unit_keeps_the_leasing_company(
    session: Session, utm_contract: str
) -> None:
    contracts.swap_on_contract(
        session=session,
        actor=ACTOR,
        failed_serial="Q2FY-AAAA-7002",
        replacement_serial="Q2FY-AAAA-7003",
        now=PAID,
    )
    assert owner_at(session, "Q2FY-AAAA-7003", PAID) == "leasing_company:東京リース"


def test_unpaid_swap_then_payment_moves_the_replacement(
    session: Session, utm_contract: str
) -> None:
    contracts.swap_on_contract(
        session=session,
        actor=ACTOR,
        failed_serial="Q2FY-AAAA-7001",
        replacement_serial="Q2FY-AAAA-7003",
        now=PAID,
    )
    assert owner_at(session, "Q2FY-AAAA-7003", PAID) == "provider:provider"
    later = PAID + timedelta(days=3)
    moved = contracts.mark_initial_fee_paid(
        session=session, actor=ACTOR, number=utm_contract, paid_at=later
    )
    assert [e.serial for e in moved] == ["Q2FY-AAAA-7003"]
    assert owner_at(session, "Q2FY-AAAA-7001", later) == "provider:provider"


def test_swap_for_a_device_not_on_a_contract_is_refused(
    session: Session, utm_contract: str
) -> None:
    with pytest.raises(Conflict, match="Q2FY-AAAA-7003 is not on any contract"):
        contracts.swap_on_contract(
            session=session,
            actor=ACTOR,
            failed_serial="Q2FY-AAAA-7003",
            replacement_serial="Q3AJ-DDDD-7001",
            now=PAID,
        )


def test_status_transitions_are_enforced_and_audited(session: Session, utm_contract: str) -> None:
    from core.audit import history

    with pytest.raises(InvalidTransition) as info:
        service.change_status(
            session=session,
            actor=ACTOR,
            serial="Q2FY-AAAA-7003",
            target=DeviceStatus.IN_RMA,
            now=PAID,
        )
    assert info.value.allowed == ["deployed", "disposed", "reserved"]
    service.change_status(
        session=session,
        actor=ACTOR,
        serial="q2fy-aaaa-7003",
        target=DeviceStatus.RESERVED,
        now=PAID,
        note="for RMA-1",
    )
    entry = history(session, entity_type="device", entity_id="Q2FY-AAAA-7003")[-1]
    assert entry.action == "device.status"
    assert (entry.before or {})["status"] == "in_stock" and (entry.after or {})[
        "status"
    ] == "reserved"
    assert (entry.after or {})["note"] == "for RMA-1" and entry.request_id == "req-1"


def test_unknown_serial_and_contract(session: Session) -> None:
    with pytest.raises(NotFound, match="Q2FY-ZZZZ-0000"):
        service.get_device(session=session, serial="Q2FY-ZZZZ-0000")
    with pytest.raises(ValidationFailed):
        service.get_device(session=session, serial="nope")
    with pytest.raises(NotFound):
        contracts.get_contract(session=session, number="C-404")

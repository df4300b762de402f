"""Builders shared by the RMA tests (no tests here): devices, contracts, an RMA at a given stage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from core.audit import Actor
from core.calendar import BusinessCalendar
from inventory import contracts, service
from inventory.domain import Acquisition, Plan
from rma import replacement, returns
from rma import service as rma_service
from rma.domain import Disposition, LateArrivalPolicy, RmaPolicy, SwapParty
from rma.models import Rma
from tests.service.helpers import ACTOR, import_csv, write_csv

NOC = Actor(name="noc-1", role="noc")
LOGI = Actor(name="logi-1", role="logistics")

FAILED = "Q2FY-AAAA-0001"
SPARE = "Q2FY-AAAA-0002"
UNVERIFIED = "Q2FY-AAAA-0003"
OLD = "Q2FY-OLD0-0001"
AP = "Q3AJ-DDDD-0001"
AP_SPARE = "Q3AJ-DDDD-0002"

DEVICES = (
    f"{FAILED},MX67,,deployed,,本社,,,,N_demo_tokyo,2026-04-01,\n"
    f"{SPARE},MX67,,in_stock,,倉庫,,,,,2026-04-01,\n"
    f"{UNVERIFIED},MX67,,in_stock,,倉庫,,,,,2026-04-01,\n"
    f"{OLD},MX64,,deployed,,支店,,,,N_demo_osaka,2026-04-01,\n"
    f"{AP},MR36,,deployed,,本社,,,,N_demo_tokyo,2026-04-01,\n"
    f"{AP_SPARE},MR36,,in_stock,,倉庫,,,,,2026-04-01,\n"
)

REPORTED = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)
# 05:00 JST on May 12 (still May 11 in UTC): the Tokyo date counts, so due June 12.
SHIPPED = datetime(2026, 5, 11, 20, 0, tzinfo=UTC)
SWAPPED = datetime(2026, 5, 13, 3, 0, tzinfo=UTC)
FEE_PAID = datetime(2026, 4, 20, 0, 0, tzinfo=UTC)


def policy(late: LateArrivalPolicy = LateArrivalPolicy.KEEP) -> RmaPolicy:
    return RmaPolicy(calendar=BusinessCalendar(), reminder_offsets=(7, 3, 1), late_arrival=late)


@dataclass
class World:
    customer: str
    utm_contract: str
    wireless_contract: str


def build_world(
    session: Session,
    tmp_path: Path,
    *,
    acquisition: Acquisition = Acquisition.SOLD,
    fee_paid: bool = True,
    verify: tuple[str, ...] = (SPARE, AP_SPARE),
) -> World:
    """Devices imported, two contracts with the deployed units, spares checked to work."""
    import_csv(session, write_csv(tmp_path, DEVICES, name="rma-devices.csv"))
    customer = "株式会社さくら商事"
    lease = "東京オフィスリース株式会社" if acquisition is Acquisition.LEASED else None
    for number, plan, serials in (
        ("C-RMA-UTM", Plan.UTM, (FAILED, OLD)),
        ("C-RMA-WL", Plan.WIRELESS, (AP,)),
    ):
        contracts.create_contract(
            session=session, actor=ACTOR, number=number, customer=customer, plan=plan
        )
        for serial in serials:
            contracts.attach_device(
                session=session,
                actor=ACTOR,
                number=number,
                serial=serial,
                acquisition=acquisition,
                leasing_company=lease,
                now=FEE_PAID - timedelta(days=10),
            )
        if fee_paid:
            contracts.mark_initial_fee_paid(
                session=session, actor=ACTOR, number=number, paid_at=FEE_PAID
            )
    for serial in verify:
        service.mark_verified(
            session=session, actor=ACTOR, serial=serial, now=REPORTED - timedelta(days=5)
        )
    session.flush()
    return World(customer=customer, utm_contract="C-RMA-UTM", wireless_contract="C-RMA-WL")


def open_and_decide(session: Session, serial: str = FAILED) -> Rma:
    rma = rma_service.open_rma(
        session=session,
        actor=NOC,
        serial=serial,
        symptom="電源が入らない / no power",
        reporter="総務 山田",
        reported_at=REPORTED,
        now=REPORTED,
    )
    return rma_service.decide(
        session=session, actor=NOC, rma_id=rma.id or 0, replace=True, note="PSU", now=REPORTED
    )


def shipped_rma(session: Session, serial: str = FAILED, *, swap: bool = True) -> Rma:
    """An RMA through reserve and ship (and swap without the dashboard, unless told not to)."""
    rma = open_and_decide(session, serial)
    rma_id = rma.id or 0
    replacement.reserve_replacement(session=session, actor=LOGI, rma_id=rma_id, now=REPORTED)
    replacement.ship_replacement(
        session=session,
        actor=LOGI,
        rma_id=rma_id,
        courier="ヤマト運輸",
        tracking_number="1234-5678-9012",
        shipped_at=SHIPPED,
        policy=policy(),
        now=SHIPPED,
    )
    if swap:
        replacement.swap_replacement(
            session=session,
            actor=LOGI,
            rma_id=rma_id,
            now=SWAPPED,
            dashboard=None,
            organization_id="537758",
            swapped_by=SwapParty.PROVIDER,
        )
    session.flush()
    return rma_service.get_rma(session=session, rma_id=rma_id)


def request_pickup(session: Session, rma_id: int, *, tracking_number: str = "9999") -> Rma:
    """The courier is asked to collect the failed unit."""
    return rma_service.request_pickup(
        session=session,
        actor=LOGI,
        rma_id=rma_id,
        pickup_date=date(2026, 5, 15),
        courier="ヤマト運輸",
        tracking_number=tracking_number,
        now=SWAPPED,
    )


def receive(
    session: Session,
    rma_id: int,
    *,
    now: datetime,
    serial: str = FAILED,
    disposition: Disposition = Disposition.DISPOSE,
    late: LateArrivalPolicy = LateArrivalPolicy.KEEP,
) -> Rma:
    """Logistics records the unit that came back."""
    rma = returns.receive_unit(
        session=session,
        actor=LOGI,
        rma_id=rma_id,
        serial=serial,
        disposition=disposition,
        policy=policy(late),
        now=now,
    )
    session.flush()
    return rma

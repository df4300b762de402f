"""A database for the load tests, built through the services before `netkeep serve` starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from core import auth, migrate
from core.audit import Actor
from core.auth import Role
from core.calendar import BusinessCalendar
from core.db import make_engine
from core.timeutil import utcnow
from inventory import contracts, importer
from inventory import service as inventory
from inventory.catalogue_defaults import DEFAULT_CATALOGUE, seed_catalogue
from inventory.domain import Acquisition, Plan
from rma import replacement
from rma import service as rma_service
from rma.domain import LateArrivalPolicy, RmaPolicy

LOADER = Actor(name="load-loader", role="admin")
HEADER = "serial,model,status,customer,site,network_id\n"
CUSTOMER = "株式会社ロード商事"


@dataclass(frozen=True)
class LoadWorld:
    tokens: dict[str, str]
    overdue: list[int]
    fresh_serials: list[str]
    list_price_yen: int


def build_world(url: str, tmp: Path, *, overdue: int = 8, fresh: int = 30) -> LoadWorld:
    """Devices, a contract, `overdue` RMAs shipped 90 days ago, `fresh` deployed units, tokens."""
    migrate.upgrade(url)
    engine = make_engine(url)
    now = utcnow()
    past = now - timedelta(days=90)
    failed = [f"Q2FY-LDFA-{i:04d}" for i in range(overdue)]
    spares = [f"Q2FY-LDSP-{i:04d}" for i in range(overdue)]
    fresh_serials = [f"Q2FY-LDFR-{i:04d}" for i in range(fresh)]
    rows = [f"{s},MX67,deployed,{CUSTOMER},本社,N_load" for s in failed + fresh_serials]
    rows += [f"{s},MX67,in_stock,,倉庫," for s in spares]
    csv = tmp / "load-devices.csv"
    csv.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    with Session(engine, expire_on_commit=False) as session:
        seed_catalogue(session=session, actor=LOADER)
        importer.import_devices(
            session=session, actor=LOADER, path=csv, now=past - timedelta(days=30), commit=True
        )
        contracts.create_contract(
            session=session, actor=LOADER, number="C-LOAD", customer=CUSTOMER, plan=Plan.UTM
        )
        for serial in failed + fresh_serials:
            contracts.attach_device(
                session=session,
                actor=LOADER,
                number="C-LOAD",
                serial=serial,
                acquisition=Acquisition.SOLD,
                leasing_company=None,
                now=past - timedelta(days=20),
            )
        contracts.mark_initial_fee_paid(
            session=session, actor=LOADER, number="C-LOAD", paid_at=past - timedelta(days=10)
        )
        for serial in spares:
            inventory.mark_verified(session=session, actor=LOADER, serial=serial, now=past)
        ids = [_shipped(session, f, s, past) for f, s in zip(failed, spares, strict=True)]
        tokens = {
            role.value: auth.create_token(
                session=session, actor=LOADER, name=f"load-{role.value}", role=role
            ).token
            for role in (Role.ADMIN, Role.LOGISTICS, Role.NOC, Role.VIEWER)
        }
        session.commit()
    engine.dispose()
    price = next(row[2] for row in DEFAULT_CATALOGUE if row[0] == "MX67")
    return LoadWorld(tokens=tokens, overdue=ids, fresh_serials=fresh_serials, list_price_yen=price)


def _shipped(session: Session, failed: str, spare: str, at: datetime) -> int:
    """An RMA whose replacement shipped at `at`: its return is overdue by now."""
    noc = Actor(name="load-noc", role="noc")
    rma = rma_service.open_rma(
        session=session,
        actor=noc,
        serial=failed,
        symptom="電源が入らない / no power",
        reporter="総務",
        reported_at=at,
        now=at,
    )
    rma_id = rma.id or 0
    rma_service.decide(session=session, actor=noc, rma_id=rma_id, replace=True, note="", now=at)
    replacement.reserve_replacement(session=session, actor=noc, rma_id=rma_id, now=at, serial=spare)
    replacement.ship_replacement(
        session=session,
        actor=noc,
        rma_id=rma_id,
        courier="ヤマト運輸",
        tracking_number=f"LD-{rma_id}",
        shipped_at=at,
        policy=RmaPolicy(
            calendar=BusinessCalendar(),
            reminder_offsets=(7, 3, 1),
            late_arrival=LateArrivalPolicy.KEEP,
        ),
        now=at,
    )
    return rma_id

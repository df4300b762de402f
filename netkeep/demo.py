"""The demo on embedded defaults: SQLite, the local dashboard sandbox and sample data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session, select

from core import auth, migrate
from core.audit import Actor
from core.auth import Role
from core.db import get_engine, session_scope
from core.models import ApiToken
from core.timeutil import TOKYO, utcnow
from inventory import contracts, importer
from inventory.catalogue_defaults import seed_catalogue
from inventory.domain import ContractOption, ContractStatus, Plan
from inventory.models import Contract

SAMPLE_DEVICES = Path(__file__).resolve().parent.parent / "inventory" / "sample" / "devices.csv"
DEMO_ACTOR = Actor(name="demo-loader", role="admin")

SAMPLE_CONTRACTS = (
    ("C-2026-0001", "株式会社さくら商事", Plan.UTM, [ContractOption.VPN], date(2026, 3, 2)),
    ("C-2026-0002", "株式会社さくら商事", Plan.WIRELESS, [ContractOption.SURVEY], date(2026, 3, 2)),
    ("C-2026-0003", "なにわ物産株式会社", Plan.ROUTER, [ContractOption.ONSITE], date(2026, 7, 15)),
)


@dataclass(frozen=True)
class DemoData:
    admin_token: str
    created_contracts: int
    imported_devices: int


def _ensure_contracts(session: Session) -> int:
    created = 0
    for number, customer, plan, options, applied in SAMPLE_CONTRACTS:
        if session.exec(select(Contract).where(Contract.number == number)).first() is None:
            contracts.create_contract(
                session=session,
                actor=DEMO_ACTOR,
                number=number,
                customer=customer,
                plan=plan,
                options=options,
                application_date=applied,
            )
            created += 1
    session.flush()
    return created


def _advance_contracts(session: Session) -> None:
    for number, accepted in (
        ("C-2026-0001", date(2026, 4, 30)),
        ("C-2026-0002", date(2026, 4, 30)),
    ):
        contract = contracts.get_contract(session=session, number=number)
        if contract.status == ContractStatus.APPLIED:
            contracts.accept_contract(
                session=session, actor=DEMO_ACTOR, number=number, acceptance_date=accepted
            )
    first = contracts.get_contract(session=session, number="C-2026-0001")
    if first.initial_fee_paid_at is None:
        paid = datetime(2026, 5, 29, 10, 0, tzinfo=TOKYO)
        contracts.mark_initial_fee_paid(
            session=session, actor=DEMO_ACTOR, number="C-2026-0001", paid_at=paid
        )


def _admin_token(session: Session) -> str:
    taken = set(session.exec(select(ApiToken.name)))
    name = "demo-admin"
    n = 1
    while name in taken:
        n += 1
        name = f"demo-admin-{n}"
    return auth.create_token(session=session, actor=DEMO_ACTOR, name=name, role=Role.ADMIN).token


def load_demo(database_url: str) -> DemoData:
    """Migrate, then load the catalogue, contracts, sample devices and a fresh admin token."""
    migrate.upgrade(database_url)
    with session_scope(get_engine(database_url)) as session:
        seed_catalogue(session=session, actor=DEMO_ACTOR)
        session.flush()
        created = _ensure_contracts(session)
        report = importer.import_devices(
            session=session, actor=DEMO_ACTOR, path=SAMPLE_DEVICES, now=utcnow(), commit=True
        )
        _advance_contracts(session)
        token = _admin_token(session)
    return DemoData(
        admin_token=token, created_contracts=created, imported_devices=len(report.created)
    )


def tour(
    *, token: str, api_url: str, sandbox_url: str | None, sandbox_admin_token: str | None = None
) -> str:
    """The short tour printed for a new user."""
    sandbox_line = (
        f"Meraki dashboard sandbox: {sandbox_url}  (key: sandbox-api-key)\n" if sandbox_url else ""
    )
    if sandbox_url and sandbox_admin_token:
        sandbox_line += f"  sandbox admin token (shown once): {sandbox_admin_token}\n"
    return f"""
netkeep demo — ready / デモ環境の準備ができました

Admin API token (shown once / 一度だけ表示):
  {token}

{sandbox_line}HTTP API: {api_url}   docs: {api_url}/docs
  export NK={token}
  curl -H "Authorization: Bearer $NK" {api_url}/api/v1/devices
  curl -H "Authorization: Bearer $NK" \\
       "{api_url}/api/v1/devices/Q2FY-AAAA-0001/ownership?at=2026-05-01"
  curl -H "Authorization: Bearer $NK" -X POST {api_url}/api/v1/inventory/reconcile

CLI (in another terminal, from this directory: .venv/bin/netkeep ...):
  netkeep inventory list
  netkeep inventory show Q2FY-AAAA-0001 --at 2026-05-01      # owner before the fee was paid
  netkeep inventory show Q2FY-AAAA-0001 --at 2026-06-01      # owner after (Art. 18)
  netkeep contract show C-2026-0003
  netkeep contract paid C-2026-0003                          # ownership moves to the customer
  netkeep inventory import inventory/sample/devices.csv      # dry run: every row checked
  netkeep inventory reconcile                                # against the sandbox organization
  netkeep token create --role noc --name noc-desk
  netkeep plan provisioning/examples/utm.yaml                # field-level diff + call estimate
  netkeep apply provisioning/examples/utm.yaml provisioning/examples/router.yaml --yes
                                                             # two sites as one rollout
  netkeep job list                                           # their journalled jobs
"""

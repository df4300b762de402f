"""The demo on embedded defaults: SQLite, the local dashboard sandbox and sample data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from core import auth, migrate
from core.audit import Actor
from core.auth import Role
from core.db import get_engine, session_scope
from core.models import ApiToken
from core.timeutil import TOKYO, utcnow
from inventory import contracts, importer
from inventory import service as inventory
from inventory.catalogue_defaults import seed_catalogue
from inventory.domain import ContractOption, ContractStatus, DeviceStatus, Plan
from inventory.models import Contract, Device
from netkeep.mailsink import MailSink
from web.demo import DemoAccount, demo_accounts, tour_lines

SAMPLE_DEVICES = Path(__file__).resolve().parent.parent / "inventory" / "sample" / "devices.csv"
DEMO_ACTOR = Actor(name="demo-loader", role="admin")

SAMPLE_CONTRACTS: tuple[tuple[str, str, Plan, list[ContractOption], date], ...] = (
    ("C-2026-0001", "株式会社さくら商事", Plan.UTM, [ContractOption.VPN], date(2026, 3, 2)),
    ("C-2026-0002", "株式会社さくら商事", Plan.WIRELESS, [ContractOption.SURVEY], date(2026, 3, 2)),
    ("C-2026-0003", "なにわ物産株式会社", Plan.ROUTER, [ContractOption.ONSITE], date(2026, 7, 15)),
    ("C-2026-0004", "株式会社さくら商事", Plan.UTM, [ContractOption.VPN], date(2026, 3, 2)),
    # The tour's two new sites (provisioning/examples/utm.yaml, router.yaml): applied, not yet
    # accepted; `netkeep apply` deploys their units onto them.
    ("C-2026-0005", "株式会社さくら商事", Plan.UTM, [], date(2026, 11, 2)),
    ("C-2026-0006", "有限会社みどり設計", Plan.ROUTER, [], date(2026, 11, 2)),
)
# Accepted, and paid where given: the sold units of a paid contract are the customer's (Art. 18).
ACCEPTED = (
    ("C-2026-0001", date(2026, 4, 30), datetime(2026, 5, 29, 10, 0, tzinfo=TOKYO)),
    ("C-2026-0002", date(2026, 4, 30), None),
    ("C-2026-0004", date(2026, 4, 30), datetime(2026, 5, 29, 10, 0, tzinfo=TOKYO)),
)
STOCK_CHECKED_AT = datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)


@dataclass(frozen=True)
class DemoData:
    admin_token: str
    created_contracts: int
    imported_devices: int
    web_accounts: tuple[DemoAccount, ...] = ()


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
    for number, accepted, paid in ACCEPTED:
        contract = contracts.get_contract(session=session, number=number)
        if contract.status == ContractStatus.APPLIED:
            contracts.accept_contract(
                session=session, actor=DEMO_ACTOR, number=number, acceptance_date=accepted
            )
        if paid is not None and contract.initial_fee_paid_at is None:
            contracts.mark_initial_fee_paid(
                session=session, actor=DEMO_ACTOR, number=number, paid_at=paid
            )


def _verify_stock(session: Session) -> None:
    """The warehouse's units were checked to work, so a replacement can ship first time."""
    stmt = select(Device).where(
        Device.status == DeviceStatus.IN_STOCK.value, col(Device.verified_at).is_(None)
    )
    for device in session.exec(stmt):
        inventory.mark_verified(
            session=session, actor=DEMO_ACTOR, serial=device.serial, now=STOCK_CHECKED_AT
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
        created, imported = seed_demo_data(session)
        token = _admin_token(session)
        web = tuple(demo_accounts(session=session, actor=DEMO_ACTOR))
    return DemoData(
        admin_token=token, created_contracts=created, imported_devices=imported, web_accounts=web
    )


def seed_demo_data(session: Session) -> tuple[int, int]:
    """The catalogue, contracts and sample units (contracts and units created, in that order)."""
    seed_catalogue(session=session, actor=DEMO_ACTOR)
    session.flush()
    created = _ensure_contracts(session)
    report = importer.import_devices(
        session=session, actor=DEMO_ACTOR, path=SAMPLE_DEVICES, now=utcnow(), commit=True
    )
    _advance_contracts(session)
    _verify_stock(session)
    _notice_contacts(session)
    return created, len(report.created)


DEMO_CONTACTS = (("なにわ物産株式会社", "it@naniwa.example.jp"),)


def _notice_contacts(session: Session) -> None:
    """Where the demo customers' failure notices go (the mail sink keeps them)."""
    from sqlmodel import select

    from monitoring.models import NoticeContact
    from monitoring.notices import MAIL, add_contact

    for customer, address in DEMO_CONTACTS:
        known = select(NoticeContact).where(
            NoticeContact.customer == customer, NoticeContact.address == address
        )
        if session.exec(known).first() is None:
            add_contact(
                session=session,
                actor=DEMO_ACTOR,
                customer=customer,
                channel=MAIL,
                address=address,
                now=utcnow(),
            )


def tour(
    *,
    token: str,
    api_url: str,
    sandbox_url: str | None,
    mail: MailSink | None = None,
    sandbox_admin_token: str | None = None,
    web_accounts: tuple[DemoAccount, ...] = (),
) -> str:
    """The short tour printed for a new user."""
    from core.settings import DEFAULT_SANDBOX_URL

    sandbox_line = (
        f"Meraki dashboard sandbox: {sandbox_url}  (key: sandbox-api-key)\n" if sandbox_url else ""
    )
    if sandbox_url and sandbox_admin_token:
        sandbox_line += f"  sandbox admin token (shown once): {sandbox_admin_token}\n"
    exports = [f"export NK={token}"]
    mail_lines = ""
    if mail is not None:
        mail_lines = (
            f"Mail sink (SMTP {mail.host}:{mail.port}): every notice netkeep sends is kept in\n"
            f"  {mail.folder}/NNNN.eml (as sent) and NNNN.txt (decoded):  cat {mail.folder}/*.txt\n"
        )
    elsewhere = (
        f" (sandbox on {sandbox_url})" if sandbox_url and sandbox_url != DEFAULT_SANDBOX_URL else ""
    )
    export_lines = "\n".join(f"  {line}" for line in exports)
    web_lines = tour_lines(api_url, list(web_accounts))
    sandbox_root = (sandbox_url or DEFAULT_SANDBOX_URL).removesuffix("/api/v1")
    return f"""
netkeep demo — ready / デモ環境の準備ができました

Admin API token (shown once / 一度だけ表示):
  {token}

{sandbox_line}{mail_lines}HTTP API: {api_url}   docs: {api_url}/docs
{web_lines}
In another terminal, from this directory (.venv/bin/netkeep ...): the CLI finds this demo's
sandbox and mail sink through var/demo.json while it runs{elsewhere}.
{export_lines}
  curl -H "Authorization: Bearer $NK" {api_url}/api/v1/devices
  curl -H "Authorization: Bearer $NK" \\
       "{api_url}/api/v1/devices/Q2FY-AAAA-0001/ownership?at=2026-05-01"
  curl -H "Authorization: Bearer $NK" -X POST {api_url}/api/v1/inventory/reconcile

CLI:
  netkeep doctor                                             # every invariant, with repairs
  netkeep inventory list
  netkeep inventory show Q2FY-AAAA-0001 --at 2026-05-01      # owner before the fee was paid
  netkeep inventory show Q2FY-AAAA-0001 --at 2026-06-01      # owner after (Art. 18)
  netkeep contract show C-2026-0003
  netkeep contract paid C-2026-0003                          # ownership moves to the customer
  netkeep inventory import inventory/sample/devices.csv      # dry run: every row checked
  netkeep inventory reconcile                                # against the sandbox organization
  netkeep vpn check N_demo_tokyo N_demo_yokohama             # two UTM sites with the VPN option
  netkeep rma open Q2FY-AAAA-0001 --symptom "電源が入らない" --reporter "総務 田中"
  netkeep rma decide 1 --replace
  netkeep rma reserve 1 --serial Q2FY-AAAA-0003             # the checked spare MX67
  netkeep vpn build vpn/examples/demo_vpn.yaml               # site-to-site + a client VPN user
  netkeep change submit provisioning/examples/change_request.yaml --notice-email soumu@example.jp
  NETKEEP_ACTOR=noc-suzuki netkeep change approve 1          # four-eyes: not the submitter
  netkeep change schedule 1 [--emergency "reason"]           # next operations window, or now
  netkeep change apply 1                                     # changes N_demo_tokyo; mails
  cat var/mail/*.txt                                         # the completion notice, decoded
  netkeep token create --role noc --name noc-desk
  netkeep plan provisioning/examples/utm.yaml                # field-level diff + call estimate
  netkeep apply provisioning/examples/utm.yaml provisioning/examples/router.yaml --yes
                                                             # two sites as one rollout
  netkeep job list                                           # their journalled jobs
  netkeep inventory show Q2FY-AAAA-0002                      # now deployed there, on C-2026-0005
  netkeep doctor                                             # still nothing to repair
  netkeep incident open C-2026-0003 -q "VPN がつながらない" -q "SSID の追加方法" --fault 1 \
       --reporter "総務 田中" --channel mail                # two questions: two incidents
  netkeep incident answer 1 --text "再起動で復旧しました"    # closes by itself 5 days later
  netkeep sla policy C-2026-0003 --monthly-fee 30000         # admin: fee before tax
  netkeep sla outage C-2026-0003 --started 2026-11-02T09:00 --ended 2026-11-04T10:00
  netkeep sla report --month 2026-11 --pdf sla-2026-11.pdf   # two full days: ¥2,000

Monitoring: the sandbox takes the Osaka router down and POSTs the dashboard's alert to this API
(its webhook receiver is configured on the demo networks), which opens the outage; the failure
notice to なにわ物産 waits for the UTM window (Mon–Sat 9–17 JST) and then lands in the mail sink.
  curl -X PUT -H "X-Sandbox-Admin-Token: <sandbox admin token>" \\
       -H "Content-Type: application/json" -d '{{"status": "offline"}}' \\
       {sandbox_root}/_sandbox/devices/Q2KY-BBBB-0003/status
  netkeep monitor alerts                                     # "Appliance went down"
  netkeep monitor poll --debounce-polls 1                    # the poll sees it too (no duplicate)
  netkeep monitor outages --open                             # since when, site, contract
  netkeep monitor notices                                    # due at the next window start
  netkeep monitor rma 1                                      # the RMA for that outage, one step
  netkeep sla cause 1 --monitoring --cause customer --note "宅内の電源工事"
                                                             # the provider's by default: the
                                                             # desk says the customer's (audited)
"""

"""Change-request sheet and contract checks, kept apart so the use cases read as steps."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from changes.domain import Target, literal_secret_places
from changes.models import ChangeRequest, SiteCheckRecord
from core.errors import Conflict, Problem, ValidationFailed
from inventory.domain import ContractStatus
from inventory.models import Contract, Device
from provisioning.domain import JobKind, JobStatus
from provisioning.models import ProvisioningJob
from provisioning.sheet_io import parse_yaml, read_sheet
from provisioning.sheet_model import Plan, Sheet, SheetKind
from provisioning.validation import validate_sheet

ROUTED_PLANS = frozenset({Plan.UTM.value, Plan.ROUTER.value})
SecretLookup = Callable[[str, str], str | None]
MAX_SHEET_BYTES = 5_000_000


def read_raw(*, filename: str, content: bytes) -> tuple[object, Any]:
    """The raw sheet of uploaded bytes (YAML or Excel) and where each value came from."""
    name = Path(filename or "sheet.yaml").name
    if len(content) > MAX_SHEET_BYTES:
        raise ValidationFailed([Problem(f"the sheet is over {MAX_SHEET_BYTES} bytes", name)])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        return read_sheet(path)


def refuse_literal_secrets(raw: object, filename: str) -> None:
    """Literal PSKs/RADIUS secrets are never stored: the sheet names a secret netkeep holds."""
    places = literal_secret_places(raw)
    if places:
        raise ValidationFailed(
            [
                Problem(
                    "a literal secret is not accepted in a change request; write secret:NAME "
                    "(set by the NOC with `netkeep secret set`), or env:VARIABLE from the CLI",
                    f"{filename}: {place}",
                )
                for place in places
            ],
            message=f"{filename}: the sheet holds {len(places)} literal secret(s); nothing stored",
        )


def stored_sheet(
    req: ChangeRequest,
    *,
    environ: Mapping[str, str] | None = None,
    allow_env: bool = True,
    secrets: SecretLookup | None = None,
) -> Sheet:
    """The request's sheet loaded again (references resolved now)."""
    if not req.sheet_yaml:
        raise Conflict(f"change request {req.id} has no valid sheet", request_id=req.id)
    raw, source = parse_yaml(req.sheet_yaml, req.sheet_filename)
    sheet, problems = validate_sheet(
        raw, source, environ=environ, allow_env=allow_env, secrets=secrets
    )
    if sheet is None:
        raise ValidationFailed(problems, f"change request {req.id}: its sheet no longer loads")
    return sheet


def _current_contracts(session: Session, customer: str) -> list[Contract]:
    return [
        c
        for c in session.exec(select(Contract).where(Contract.customer == customer))
        if c.status != ContractStatus.ENDED
    ]


def _contract_devices(session: Session, contracts: list[Contract]) -> list[Device]:
    ids = [c.id for c in contracts]
    return list(session.exec(select(Device).where(col(Device.contract_id).in_(ids))))


def recorded_network_id(session: Session, site: str) -> str | None:
    """The network id netkeep recorded when it last provisioned this site successfully."""
    stmt = (
        select(ProvisioningJob.network_id)
        .where(
            ProvisioningJob.network_name == site,
            ProvisioningJob.kind == JobKind.APPLY.value,
            ProvisioningJob.status == JobStatus.DONE.value,
            col(ProvisioningJob.network_id).is_not(None),
        )
        .order_by(col(ProvisioningJob.id).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def site_problem(devices: list[Device], site: str, customer: str) -> Problem | None:
    """The sheet's site must be where the customer has a unit on a contract."""
    if any(d.site == site for d in devices):
        return None
    sites = sorted({d.site for d in devices if d.site})
    return Problem(
        f"site/network {site!r} has no device on a contract of {customer} "
        f"(its sites: {', '.join(sites) or 'none'})",
        "site.name",
    )


def resolve_site_network(
    session: Session, devices: list[Device], site: str, customer: str
) -> tuple[str | None, Problem | None]:
    """The one existing network of the customer's site: the id the inventory links its units
    to, else the id netkeep recorded when it provisioned the site. Never looked up by name."""
    missing = site_problem(devices, site, customer)
    if missing is not None:
        return None, missing
    networks = sorted({d.network_id for d in devices if d.site == site and d.network_id})
    if len(networks) > 1:
        return None, Problem(
            f"site {site!r} of {customer} is linked to several networks ({', '.join(networks)}); "
            "correct the units' network in the inventory",
            "site.name",
        )
    network_id = networks[0] if networks else recorded_network_id(session, site)
    if network_id is None:
        return None, Problem(
            f"site {site!r} of {customer} has no network: neither the inventory nor a "
            "provisioning job links it to one; a change request changes an existing network "
            "and never creates one",
            "site.name",
        )
    return network_id, None


def target_network_id(session: Session, sheet: Sheet, customer: str) -> str:
    """The id of the customer's existing network that the request changes."""
    devices = _contract_devices(session, _current_contracts(session, customer))
    network_id, problem = resolve_site_network(session, devices, sheet.site.name, customer)
    if problem is not None:
        raise ValidationFailed([problem], f"{problem}; nothing was sent")
    assert network_id is not None
    return network_id


def contract_problems(
    session: Session, sheet: Sheet, customer: str, target: Target = Target.DASHBOARD
) -> list[Problem]:
    """Every device and the site the sheet touches must be on one of the customer's contracts;
    a dashboard request's site must resolve to one existing network."""
    contracts = _current_contracts(session, customer)
    if not contracts:
        return [Problem(f"customer {customer!r} has no current contract", "request.customer")]
    devices = _contract_devices(session, contracts)
    serials = {d.serial for d in devices}
    problems: list[Problem] = []
    for i, device in enumerate(sheet.devices or []):
        if device.serial not in serials:
            owner = session.exec(select(Device).where(Device.serial == device.serial)).first()
            known = "unknown to inventory" if owner is None else "not on its contracts"
            problems.append(
                Problem(
                    f"device {device.serial} is not on a contract of {customer} ({known})",
                    f"devices[{i}].serial",
                )
            )
    if target is Target.DASHBOARD:
        _, where = resolve_site_network(session, devices, sheet.site.name, customer)
    else:  # a router over SSH: no dashboard network to resolve
        where = site_problem(devices, sheet.site.name, customer)
    if where is not None:
        problems.append(where)
    plans = {c.plan for c in contracts}
    if str(sheet.site.plan) not in plans:
        problems.append(
            Problem(
                f"plan {sheet.site.plan} is not contracted by {customer} (has {sorted(plans)})",
                "site.plan",
            )
        )
    return problems


def site_check_problems(session: Session, sheet: Sheet) -> list[Problem]:
    """A UTM/router change for a site whose last site check found an upstream router is refused."""
    if str(sheet.site.plan) not in ROUTED_PLANS:
        return []
    stmt = (
        select(SiteCheckRecord)
        .where(SiteCheckRecord.site == sheet.site.name)
        .order_by(col(SiteCheckRecord.checked_at).desc(), col(SiteCheckRecord.id).desc())
    )
    last = session.exec(stmt).first()
    if last is None or not last.routing:
        return []
    return [Problem(f"{last.verdict} (site check {last.id} of {last.host})", "site.name")]


def sheet_problems(
    session: Session,
    *,
    raw: object,
    source: Any,
    environ: Mapping[str, str] | None,
    target: Target,
    allow_env: bool = True,
    secrets: SecretLookup | None = None,
) -> tuple[Sheet | None, list[Problem]]:
    """The sheet's own problems, then the contract, site-check and target rules."""
    sheet, problems = validate_sheet(
        raw, source, environ=environ, allow_env=allow_env, secrets=secrets
    )
    if sheet is None:
        return None, problems
    if sheet.kind != SheetKind.CHANGE_REQUEST or sheet.request is None:
        return None, [Problem("only a change_request sheet (設定変更依頼書) is accepted", "kind")]
    head = sheet.request
    missing = [k for k in ("id", "customer") if getattr(head, k) in (None, "")]
    if missing:
        return None, [Problem("is required", f"request.{k}") for k in missing]
    problems = contract_problems(session, sheet, str(head.customer), target)
    problems += site_check_problems(session, sheet)
    if target is Target.CLI and str(sheet.site.plan) != Plan.ROUTER.value:
        problems.append(Problem("a CLI (non-Meraki) target takes router-plan sheets", "site.plan"))
    return (sheet if not problems else None), problems

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


def contract_problems(session: Session, sheet: Sheet, customer: str) -> list[Problem]:
    """Every device and the network the sheet touches must be on one of the customer's contracts."""
    contracts = [
        c
        for c in session.exec(select(Contract).where(Contract.customer == customer))
        if c.status != ContractStatus.ENDED
    ]
    if not contracts:
        return [Problem(f"customer {customer!r} has no current contract", "request.customer")]
    ids = [c.id for c in contracts]
    devices = list(session.exec(select(Device).where(col(Device.contract_id).in_(ids))))
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
    if sheet.site.name not in {d.site for d in devices}:
        problems.append(
            Problem(
                f"site/network {sheet.site.name!r} has no device on a contract of {customer}",
                "site.name",
            )
        )
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
    problems = contract_problems(session, sheet, str(head.customer))
    problems += site_check_problems(session, sheet)
    if target is Target.CLI and str(sheet.site.plan) != Plan.ROUTER.value:
        problems.append(Problem("a CLI (non-Meraki) target takes router-plan sheets", "site.plan"))
    return (sheet if not problems else None), problems

"""The field engineer's site: the box scanned on site, its site's sheet, one tap to claim and apply.

A composite over the existing pieces, nothing new underneath: the unit comes from the inventory,
the sheet from the upload (or, for a wireless site, from the approved survey that names the
serial: the only sheet netkeep keeps), the plan from `service.plan_sheet` (units checked first),
and the apply is a one-sheet rollout journalled here and run by the app's background queue (a
worker on PostgreSQL, a thread of the process on SQLite) through `rollout.resume_rollout`, as
`POST /rollouts?wait=false` runs one. Between the plan the engineer reads and the tap, the
uploaded sheet travels sealed under the installation key (`seal_upload`); nothing is stored.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from core.audit import Actor
from core.errors import Conflict, NotFound, Problem, ValidationFailed
from inventory import service as inventory
from provisioning.jobs import (
    RolloutQueue,
    SecretLookup,
    SheetUpload,
    read_uploaded,
    rollout_payload,
)
from provisioning.journal import Clock, create_job
from provisioning.models import ProvisioningJob
from provisioning.plan import SitePlan
from provisioning.ports import ProvisioningDashboard
from provisioning.rollout import new_rollout_id
from provisioning.service import ProvisioningOptions, plan_sheet, recheck_units, survey_gate
from provisioning.sheet_model import Sheet
from survey.models import PlannedAp, Survey
from survey.wireless_sheet import wireless_sheet_yaml

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

SERIAL = "serial"
"""Where a problem with the scanned serial is reported (the scan input's name)."""
SHEET = "sheet"
"""Where a problem with the sheet as a whole is reported (the upload's name)."""
SEAL_TTL_SECONDS = 3600
"""How long a plan on the phone stays appliable before the sheet must be uploaded again."""


@dataclass(frozen=True, slots=True)
class ScannedUnit:
    """The unit in the engineer's hand, as the inventory holds it."""

    serial: str
    model: str
    status: str
    customer: str | None
    site: str | None
    network_id: str | None


@dataclass(frozen=True, slots=True)
class StoredSheet:
    """A sheet netkeep keeps for a site, and where it comes from (for people)."""

    upload: SheetUpload
    origin: str


@dataclass
class SitePlanned:
    """A site's sheet for a scanned serial, read and planned against the dashboard."""

    unit: ScannedUnit
    sheet: Sheet
    plan: SitePlan
    upload: SheetUpload


@dataclass(frozen=True, slots=True)
class SiteApply:
    """A claim-and-apply journalled and queued: the job to watch (None: nothing to change)."""

    job: ProvisioningJob | None
    rollout: str | None


def scanned_unit(*, session: Session, serial: str) -> ScannedUnit:
    """The inventory's unit for a scanned serial; an empty, malformed or unknown one is a
    ValidationFailed located at `serial`."""
    if not serial.strip():
        raise ValidationFailed(
            [Problem("scan or type the serial on the box", SERIAL)], "no serial was given"
        )
    try:
        device = inventory.get_device(session=session, serial=serial)
    except NotFound as unknown:
        found = unknown.details.get("serial", serial.strip())
        raise ValidationFailed(
            [Problem(f"no unit with serial {found} in the inventory", SERIAL)],
            f"serial {found} is not in the inventory; nothing was changed",
        ) from unknown
    return ScannedUnit(
        serial=device.serial,
        model=device.model,
        status=device.status,
        customer=device.customer,
        site=device.site,
        network_id=device.network_id,
    )


def serial_problem(sheet: Sheet, serial: str, source: str) -> Problem | None:
    """The scanned unit must be one the sheet provisions: a box for another site stays shut."""
    if any(d.serial == serial for d in sheet.devices or []):
        return None
    listed = ", ".join(d.serial for d in sheet.devices or []) or "none"
    return Problem(
        f"serial {serial} is not in the sheet of {sheet.site.name} ({source} lists: {listed})",
        SERIAL,
    )


def stored_sheet_for(*, session: Session, serial: str) -> StoredSheet | None:
    """The wireless sheet generated from an approved survey whose planned APs carry `serial`.

    Settings sheets of UTM and router sites are not kept by netkeep (they arrive with each
    plan or apply), so for those the engineer uploads the sheet.
    """
    stmt = (
        select(Survey)
        .join(PlannedAp, col(Survey.id) == col(PlannedAp.survey_id))
        .where(PlannedAp.serial == serial)
        .order_by(col(Survey.id).desc())
    )
    for survey in session.exec(stmt).all():
        assert survey.id is not None
        number = survey.number
        try:
            text = wireless_sheet_yaml(session=session, survey_id=survey.id)
        except Conflict:  # not approved (yet): no sheet to apply from it
            continue
        return StoredSheet(
            upload=SheetUpload(name=f"{number}.yaml", content=text.encode("utf-8")),
            origin=f"survey {number}",
        )
    return None


def read_site_sheet(
    *, upload: SheetUpload, secrets: SecretLookup, serial: str, organization: str
) -> Sheet:
    """The sheet validated as an upload is (no ``env:``), the serial checked to be in it, and
    its organization the one this page works in (`organization`)."""
    sheet = read_uploaded(upload, secrets, [organization])
    problem = serial_problem(sheet, serial, upload.name)
    if problem is not None:
        raise ValidationFailed([problem], f"{problem.message}; nothing was changed")
    return sheet


def plan_site(
    *,
    session: Session,
    dashboard: ProvisioningDashboard,
    serial: str,
    upload: SheetUpload,
    secrets: SecretLookup,
    options: ProvisioningOptions,
) -> SitePlanned:
    """What claiming and applying the site's sheet would change, for the scanned serial.

    Every refusal comes before any dashboard call: the serial (unknown, not in the sheet), the
    sheet's own problems, and the inventory's check of each of its units.
    """
    unit = scanned_unit(session=session, serial=serial)
    sheet = read_site_sheet(
        upload=upload, secrets=secrets, serial=unit.serial, organization=dashboard.organization_id
    )
    plan = plan_sheet(
        dashboard=dashboard, sheet=sheet, options=options, session=session, source=upload.name
    )
    return SitePlanned(unit=unit, sheet=sheet, plan=plan, upload=upload)


def claim_and_apply_site(
    *,
    session: Session,
    dashboard: ProvisioningDashboard,
    serial: str,
    upload: SheetUpload,
    secrets: SecretLookup,
    actor: Actor,
    clock: Clock,
    options: ProvisioningOptions,
    cipher: Fernet,
    queue: RolloutQueue,
    after_response: Callable[[Callable[[], None]], None],
    record: Callable[[ProvisioningJob], None] | None = None,
) -> SiteApply:
    """Plan the site's sheet again, journal it as a one-sheet rollout and queue it to run.

    The job (every step pending, the units held) is committed with whatever `record` adds to
    the session (the page's form submission), in one transaction; the run happens in the
    background — its steps are watched from the journal. Nothing to change: no job.
    """
    planned = plan_site(
        session=session, dashboard=dashboard, serial=serial, upload=upload, secrets=secrets,
        options=options,
    )  # fmt: skip
    if planned.plan.empty:
        return SiteApply(job=None, rollout=None)
    survey_gate(session=session, sheet=planned.sheet, options=options)
    recheck_units(session=session, sheet=planned.sheet, plan=planned.plan, source=upload.name)
    rollout = new_rollout_id(clock())
    job = create_job(
        session=session, plan=planned.plan, actor=actor, now=clock(), rollout=rollout, commit=False
    )
    if record is not None:
        record(job)
    session.commit()
    org = dashboard.organization_id
    payload = rollout_payload(
        rollout=rollout, files=[upload], organizations=[org], actor=actor, cipher=cipher
    )
    queue.defer_rollout(payload, after_response=after_response, dashboards={org: dashboard})
    return SiteApply(job=job, rollout=rollout)


def seal_upload(upload: SheetUpload, *, cipher: Fernet, account: str, serial: str) -> str:
    """The sheet the engineer read the plan of, sealed for the apply form (it may hold keys)."""
    body = {
        "name": upload.name,
        "content": base64.b64encode(upload.content).decode("ascii"),
        "account": account,
        "serial": serial,
    }
    return cipher.encrypt(json.dumps(body).encode("utf-8")).decode("ascii")


def open_upload(
    sealed: str,
    *,
    cipher: Fernet,
    account: str,
    serial: str,
    ttl: int = SEAL_TTL_SECONDS,
    now: float | None = None,
) -> SheetUpload:
    """The sealed sheet back, for the same account and serial within `ttl` seconds of `now`."""
    from cryptography.fernet import InvalidToken

    again = Problem("the plan has expired or was not made here: upload the sheet again", SHEET)
    at = int(time.time() if now is None else now)
    try:
        token = sealed.encode("ascii")
        body: dict[str, Any] = json.loads(cipher.decrypt_at_time(token, ttl=ttl, current_time=at))
    except (InvalidToken, ValueError, UnicodeEncodeError) as exc:
        raise ValidationFailed([again], "the sheet could not be read back") from exc
    if body.get("account") != account or body.get("serial") != serial:
        raise ValidationFailed([again], "the sheet was planned for someone or something else")
    return SheetUpload(name=str(body["name"]), content=base64.b64decode(body["content"]))


__all__ = [
    "ScannedUnit",
    "SiteApply",
    "SitePlanned",
    "StoredSheet",
    "claim_and_apply_site",
    "open_upload",
    "plan_site",
    "read_site_sheet",
    "scanned_unit",
    "seal_upload",
    "serial_problem",
    "stored_sheet_for",
]

"""The inventory is the system of record for units: provisioning checks and keeps it.

Before any dashboard call a sheet's serials are checked against the inventory
(`check_units`: `inventory.domain.placement_problem` for each, and which contract a unit
claimed for the sheet's customer goes on). What the check decided travels with the plan
(`UnitPlacement`) into the job's snapshot (`placement_extra`), so that the journal, in the
transaction that marks a claim done, deploys each claimed unit (`deploy_claimed`), and a
rollback that removes it (or deletes the network it was claimed into) puts it back where it
was (`undeploy_removed`) — both through the inventory service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core.audit import Actor
from core.errors import Problem, ValidationFailed
from inventory import contracts as contract_service
from inventory import holds
from inventory import service as inventory
from inventory.domain import (
    ContractStatus,
    DeviceStatus,
    Owner,
    OwnerKind,
    SiteTarget,
    placement_problem,
)
from inventory.models import Contract
from provisioning.domain import NETWORK, JobKind, kind_of
from provisioning.models import JobStep, ProvisioningJob, ResourceSnapshot
from provisioning.sheet_model import Sheet, SheetKind
from rma.domain import RmaStatus
from rma.models import Rma

INVENTORY = "inventory"
"""The key of a claimed device's snapshot `extra` that holds its placement."""
_ENDED_RMA = (RmaStatus.CLOSED.value, RmaStatus.RESOLVED_REMOTELY.value)


@dataclass(frozen=True)
class UnitPlacement:
    """Where the sheet's units go (site, customer, contract) and where each is now."""

    site: str
    customer: str | None
    contract_id: int | None
    before: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each accepted serial's placement fields and owner as the inventory holds them now."""
    contract: str | None = None
    """The contract's number, for people."""

    def outcome(self, serial: str, claimed: bool) -> str:
        """What the apply does to the unit in the inventory, in words."""
        was = self.before.get(serial, {})
        if not claimed:
            return f"{was.get('status')} at {was.get('site')}: unchanged"
        whose = f" for {self.customer}" if self.customer else ""
        attach = self.contract and not was.get("contract_id")
        on = f", on contract {self.contract}" if attach else ""
        return f"{was.get('status')} → deployed at {self.site}{whose}{on} once claimed"


def sheet_customer(sheet: Sheet) -> str | None:
    """Whose site it is: the change request's customer, else the site's."""
    if sheet.kind == SheetKind.CHANGE_REQUEST and sheet.request and sheet.request.customer:
        return sheet.request.customer
    return sheet.site.customer


def known_networks(*, session: Session, site: str, network_id: str | None) -> frozenset[str]:
    """The networks netkeep knows for a site: the one given, and those its applies wrote to."""
    stmt = select(ProvisioningJob.network_id).where(
        ProvisioningJob.network_name == site,
        ProvisioningJob.kind == JobKind.APPLY.value,
        col(ProvisioningJob.network_id).is_not(None),
    )
    found = {str(n) for n in session.exec(stmt) if n}
    return frozenset(found | ({network_id} if network_id else set()))


def _held_by(session: Session, serials: Sequence[str]) -> dict[str, str]:
    stmt = select(Rma).where(
        col(Rma.replacement_serial).in_(list(serials)), col(Rma.status).not_in(_ENDED_RMA)
    )
    return {str(r.replacement_serial): r.number for r in session.exec(stmt)}


def _contract_for(
    session: Session, sheet: Sheet, customer: str | None, where: str
) -> tuple[Contract | None, Problem | None]:
    """The contract units newly deployed at the site go on (None: none; or why not)."""
    plan = str(sheet.site.plan)
    named = sheet.site.contract
    if named:
        found = session.exec(select(Contract).where(Contract.number == named)).first()
        problem = None
        if found is None:
            problem = f"contract {named} does not exist"
        elif found.status == ContractStatus.ENDED.value:
            problem = f"contract {named} has ended"
        elif customer is not None and found.customer != customer:
            problem = f"contract {named} is {found.customer}'s, not {customer}'s"
        elif found.plan != plan:
            problem = f"contract {named} is a {found.plan} plan contract, not {plan}"
        return (None, Problem(problem, f"{where}site.contract")) if problem else (found, None)
    if customer is None:
        return None, None
    current = [
        c
        for c in contract_service.list_contracts(session=session, customer=customer)
        if c.plan == plan and c.status != ContractStatus.ENDED.value
    ]
    if len(current) > 1:
        numbers = ", ".join(c.number for c in current)
        return None, Problem(
            f"{customer} has {len(current)} current {plan} contracts ({numbers}); name the "
            "one this site's units go on in site.contract",
            f"{where}site.contract",
        )
    return (current[0] if current else None), None


def check_units(
    *, session: Session, sheet: Sheet, network_id: str | None = None, source: str = ""
) -> UnitPlacement:
    """Every serial of the sheet checked against the inventory; ValidationFailed lists each
    refused serial at `devices[i].serial` (prefixed with `source`, the sheet's file)."""
    where = f"{source}: " if source else ""
    customer = sheet_customer(sheet)
    devices = list(sheet.devices or [])
    serials = [d.serial for d in devices]
    records = inventory.unit_records(session=session, serials=serials)
    held = _held_by(session, serials)
    target = SiteTarget(
        site=sheet.site.name,
        customer=customer,
        network_ids=known_networks(session=session, site=sheet.site.name, network_id=network_id),
    )
    claiming = holds.holders(session=session, serials=serials)
    problems: list[Problem] = []
    to_claim = False
    for index, device in enumerate(devices):
        unit = records.get(device.serial)
        if unit is not None and device.serial in held:
            unit = replace(unit, held_by=held[device.serial])
        problem = placement_problem(device.serial, device.model, unit, target)
        if problem is None and device.serial in claiming:
            job = claiming[device.serial]
            problem = (
                f"serial {device.serial} is being claimed by provisioning job {job}; wait for "
                f"it to finish, or resume it (netkeep job show {job})"
            )
        if problem is not None:
            problems.append(Problem(problem, f"{where}devices[{index}].serial"))
        elif unit is not None and unit.status is DeviceStatus.IN_STOCK and unit.contract is None:
            to_claim = True
    contract: Contract | None = None
    if to_claim or sheet.site.contract:
        contract, wrong = _contract_for(session, sheet, customer, where)
        if wrong is not None:
            problems.append(wrong)
    if problems:
        raise ValidationFailed(
            problems,
            f"{len(problems)} unit(s) cannot be provisioned at {sheet.site.name} as the "
            "inventory holds them; nothing was sent",
        )
    return UnitPlacement(
        site=sheet.site.name,
        customer=customer,
        contract_id=None if contract is None else contract.id,
        before=_befores(session, serials),
        contract=None if contract is None else contract.number,
    )


def _befores(session: Session, serials: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for serial in serials:
        device = inventory.get_device(session=session, serial=serial)
        owner = inventory.current_owner(session=session, device=device)
        found[serial] = {
            **inventory.placement_of(device),
            "owner": None if owner is None else [owner.kind.value, owner.name],
        }
    return found


def placement_extra(placement: UnitPlacement | None, serial: str) -> dict[str, Any] | None:
    """What a claimed device's snapshot row keeps: where it goes and where it was."""
    if placement is None or serial not in placement.before:
        return None
    return {
        INVENTORY: {
            "site": placement.site,
            "customer": placement.customer,
            "contract_id": placement.contract_id,
            "before": placement.before[serial],
        }
    }


def _placements(session: Session, job_id: int) -> dict[str, dict[str, Any]]:
    stmt = select(ResourceSnapshot).where(
        ResourceSnapshot.job_id == job_id, col(ResourceSnapshot.resource).startswith("device/")
    )
    return {
        row.resource.split("/")[1]: row.extra[INVENTORY]
        for row in session.exec(stmt)
        if kind_of(row.resource) == "device" and row.extra and INVENTORY in row.extra
    }


def claimed_serials(step: JobStep) -> list[str]:
    return serials_claimed(step.operations)


def serials_claimed(operations: Sequence[Mapping[str, Any]]) -> list[str]:
    """The serials a step's operations (as journalled) claim."""
    return [
        str(serial)
        for op in operations
        if op.get("action") == "claim"
        for serial in (op.get("body") or {}).get("serials", [])
    ]


def _removed_serials(step: JobStep) -> list[str] | None:
    """Serials a rollback step removes; None for every claimed one (the network is deleted)."""
    serials: list[str] = []
    for op in step.operations:
        if op.get("key") == NETWORK and op.get("action") == "delete":
            return None
        if op.get("action") == "remove":
            serials.append(str(op["key"]).split("/")[1])
    return serials


def deploy_claimed(
    *, session: Session, actor: Actor, job: ProvisioningJob, steps: Sequence[JobStep], now: datetime
) -> None:
    """The units the steps claimed are deployed in the job's network (same transaction)."""
    serials = [s for step in steps for s in claimed_serials(step)]
    if not serials or job.id is None or job.network_id is None:
        return
    placements = _placements(session, job.id)
    for serial in serials:
        placed = placements.get(serial)
        if placed is None:
            continue  # planned without the inventory check (an engine test, a benchmark)
        inventory.deploy_unit(
            session=session,
            actor=actor,
            serial=serial,
            network_id=str(job.network_id),
            site=str(placed["site"]),
            customer=placed.get("customer"),
            contract_id=placed.get("contract_id"),
            now=now,
            reference=f"job {job.id}",
        )
    holds.release_units(
        session=session, actor=actor, job_id=job.id, now=now, serials=serials,
        reason=f"claimed by job {job.id}: deployed",
    )  # fmt: skip


def undeploy_removed(
    *, session: Session, actor: Actor, job: ProvisioningJob, steps: Sequence[JobStep], now: datetime
) -> None:
    """A rollback removed units its apply claimed (or deleted the network): each goes back."""
    if job.kind != JobKind.ROLLBACK.value or job.rollback_of is None:
        return
    original = session.get(ProvisioningJob, job.rollback_of)
    if original is None or original.id is None or original.network_id is None:
        return
    placements = _placements(session, original.id)
    for step in steps:
        removed = _removed_serials(step)
        for serial in sorted(placements) if removed is None else removed:
            placed = placements.get(serial)
            if placed is None:
                continue
            before = dict(placed["before"])
            owner = before.pop("owner", None)
            inventory.undeploy_unit(
                session=session,
                actor=actor,
                serial=serial,
                network_id=str(original.network_id),
                before=before,
                owner_before=None if owner is None else Owner(OwnerKind(owner[0]), owner[1]),
                now=now,
                reference=f"rollback job {job.id} of job {original.id}",
            )

"""Pure invariants that tie the domains together: inventory, RMA, contracts, ownership, jobs.

Each check takes plain facts (`doctor.facts`, read by `doctor.service`) and returns the
violations it finds, each with the netkeep command that repairs it. No I/O; `now` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from doctor.facts import (
    ENDED_RMA,
    FAILED_UNIT_STATUSES,
    HOLDING,
    IN_A_NETWORK,
    UNDER_RMA,
    WITH_PROVIDER,
    HoldingJob,
    Invariant,
    Ownership,
    ProvisionedUnit,
    RmaFacts,
    RunFacts,
    UnitFacts,
    Violation,
)
from doctor.stuck import stuck_violations
from inventory.domain import (
    DeviceStatus,
    OwnerKind,
    job_hold_is_live,
    rma_hold_is_live,
    rma_ref,
)
from rma.domain import RmaStatus

D = DeviceStatus


def _v(invariant: Invariant, subject: str, message: str, repair: str) -> Violation:
    return Violation(invariant, subject, message, repair)


def rma_unit_violations(
    units: Mapping[str, UnitFacts], rmas: Sequence[RmaFacts]
) -> list[Violation]:
    """Each open RMA's failed unit is where the RMA says; no failed unit lacks an open RMA."""
    found: list[Violation] = []
    open_failed: set[str] = set()
    for rma in rmas:
        if rma.status in ENDED_RMA:
            continue
        open_failed.add(rma.failed_serial)
        unit = units.get(rma.failed_serial)
        allowed = FAILED_UNIT_STATUSES.get(rma.status, frozenset())
        if unit is None:
            found.append(
                _v(
                    Invariant.UNIT_RMA,
                    rma.number,
                    f"{rma.number} concerns {rma.failed_serial}, which the inventory does not know",
                    f"netkeep inventory import FILE --commit  (a row for {rma.failed_serial})",
                )
            )
        elif unit.status not in allowed:
            found.append(
                _v(
                    Invariant.UNIT_RMA,
                    unit.serial,
                    f"{unit.serial} is {unit.status} but {rma.number} is {rma.status}, which "
                    f"expects it {' or '.join(sorted(allowed))}",
                    f"netkeep rma show {rma.id}  then  netkeep inventory status "
                    f"{unit.serial} {sorted(allowed)[0]}",
                )
            )
        if rma.swapped and rma.replacement_serial:
            repl = units.get(rma.replacement_serial)
            if repl is not None and repl.status not in IN_A_NETWORK:
                found.append(
                    _v(
                        Invariant.UNIT_RMA,
                        repl.serial,
                        f"{repl.serial} was swapped in by {rma.number} but is {repl.status}, "
                        "not deployed",
                        f"netkeep inventory status {repl.serial} deployed",
                    )
                )
    for unit in units.values():
        if unit.status in UNDER_RMA and unit.serial not in open_failed:
            found.append(
                _v(
                    Invariant.UNIT_RMA,
                    unit.serial,
                    f"{unit.serial} is {unit.status} but no open RMA concerns it",
                    _orphan_repair(unit),
                )
            )
    return found


def _orphan_repair(unit: UnitFacts) -> str:
    if unit.status is D.FAILED:
        return (
            f"netkeep inventory status {unit.serial} deployed  (back in service; to replace it, "
            f"then: netkeep rma open {unit.serial} --symptom ... --reporter ...)"
        )
    return f"netkeep inventory status {unit.serial} lost  (or returned, if it is back)"


def rma_hold_violations(
    units: Mapping[str, UnitFacts], rmas: Sequence[RmaFacts]
) -> list[Violation]:
    """An RMA holds only a replacement reserved for it alone, and a failed unit of its customer."""
    found: list[Violation] = []
    holders: dict[str, list[RmaFacts]] = {}
    for rma in rmas:
        if rma.status in HOLDING and not rma.swapped and rma.replacement_serial:
            holders.setdefault(rma.replacement_serial, []).append(rma)
            unit = units.get(rma.replacement_serial)
            # Reserved in the warehouse until shipped; on the road (in_transit) until swapped.
            want = D.RESERVED if rma.status is RmaStatus.REPLACEMENT_RESERVED else D.IN_TRANSIT
            if unit is None or unit.status is not want:
                state = "unknown to the inventory" if unit is None else str(unit.status)
                repair = (
                    f"netkeep rma reserve {rma.id}  (re-reserves: another unit, or the same "
                    "one if it is in stock)"
                    if want is D.RESERVED
                    else f"netkeep rma show {rma.id}  (the shipped unit: find it with the "
                    f"courier {rma.number} names)"
                )
                found.append(
                    _v(
                        Invariant.RMA_HOLDS,
                        rma.number,
                        f"{rma.number} holds {rma.replacement_serial} as its replacement, but the "
                        f"unit is {state}, not {want}",
                        repair,
                    )
                )
        if rma.status not in ENDED_RMA and not rma.swapped:
            unit = units.get(rma.failed_serial)
            if unit is not None and rma.customer and unit.customer != rma.customer:
                found.append(
                    _v(
                        Invariant.RMA_HOLDS,
                        rma.number,
                        f"{rma.number} is {rma.customer}'s but its failed unit {unit.serial} is "
                        f"{unit.customer or 'no customer'}'s",
                        f"netkeep inventory show {unit.serial}  then correct the customer: "
                        f"PATCH /api/v1/devices/{unit.serial}",
                    )
                )
    for serial, held in sorted(holders.items()):
        if len(held) > 1:
            found.append(
                _v(
                    Invariant.RMA_HOLDS,
                    serial,
                    f"{serial} is held as the replacement of "
                    f"{', '.join(r.number for r in held)} at once",
                    f"netkeep rma reserve {held[-1].id}  (another unit for all but one of them)",
                )
            )
    return found


def _release_hold(serial: str) -> str:
    return f'netkeep inventory release-hold {serial} --reason "..."'


def held_by_violations(
    units: Mapping[str, UnitFacts],
    rmas: Sequence[RmaFacts],
    ended: Mapping[str, RmaFacts] | None = None,
) -> list[Violation]:
    """A unit an RMA holds is that open RMA's failed unit or replacement; an open RMA's set-aside
    replacement (reserved, or shipped and not yet swapped in) is held by it.

    `rmas`: the RMAs under way; `ended`: closed ones the holds name, by number.
    """
    ended = ended or {}
    under_way = {r.number: r for r in rmas if r.status not in ENDED_RMA}
    found: list[Violation] = []
    for u in units.values():
        if not u.held_by:
            continue
        rma = under_way.get(u.held_by)
        if rma is not None:
            if rma_hold_is_live(
                u.serial,
                rma_open=True,
                failed_serial=rma.failed_serial,
                replacement_serial=rma.replacement_serial,
            ):
                continue
            why = (
                f"{rma.number} concerns {rma.failed_serial}"
                + (f" and {rma.replacement_serial}" if rma.replacement_serial else "")
                + ", not this unit"
            )
        elif u.held_by in ended:
            why = f"{u.held_by} is {ended[u.held_by].status}"
        else:
            why = f"there is no {u.held_by}"
        found.append(
            _v(
                Invariant.UNIT_HOLDS,
                u.serial,
                f"{u.serial} is held by {u.held_by}, but {why}",
                _release_hold(u.serial),
            )
        )
    for rma in under_way.values():
        if rma.status not in HOLDING or rma.swapped or not rma.replacement_serial:
            continue
        unit = units.get(rma.replacement_serial)
        want = D.RESERVED if rma.status is RmaStatus.REPLACEMENT_RESERVED else D.IN_TRANSIT
        if unit is None or unit.status is not want or unit.held_by == rma.number:
            continue  # a unit in the wrong state is reported by rma_hold_violations
        ref = rma_ref(rma.number)
        if want is not D.RESERVED:
            repair = f"netkeep rma show {ref}  (shipped: swap it in or receive it through the RMA)"
        else:
            back = f"netkeep inventory status {unit.serial} in_stock  then  "
            back = "" if unit.held_by else back
            repair = (
                f'netkeep rma release {ref} --reason "..."  then  {back}'
                f"netkeep rma reserve {ref} --serial {unit.serial}"
            )
        found.append(
            _v(
                Invariant.RMA_HOLDS,
                rma.number,
                f"{rma.number}'s replacement {unit.serial} is {unit.status} but held by "
                f"{unit.held_by or 'nothing'}, not {rma.number}",
                repair,
            )
        )
    return found


def job_hold_violations(
    units: Iterable[UnitFacts], jobs: Mapping[int, HoldingJob]
) -> list[Violation]:
    """A unit a provisioning job holds is held by a job that may still claim it: pending,
    running, or failed and resumable; a finished job's hold is stale."""
    found: list[Violation] = []
    for u in units:
        if u.held_by_job is None:
            continue
        job = jobs.get(u.held_by_job)
        if job is not None and job_hold_is_live(job.status, rolled_back=job.rolled_back):
            continue
        if job is None:
            why = "there is no such job"
        elif job.rolled_back:
            why = f"the job {job.status} and was rolled back"
        else:
            why = f"the job is {job.status}, finished"
        found.append(
            _v(
                Invariant.UNIT_HOLDS,
                u.serial,
                f"{u.serial} is held by provisioning job {u.held_by_job}, but {why}",
                _release_hold(u.serial),
            )
        )
    return found


def contract_violations(units: Iterable[UnitFacts]) -> list[Violation]:
    """A unit at a customer is on a contract of that customer; a unit with us is on none."""
    found: list[Violation] = []
    for u in units:
        if u.status is D.DEPLOYED and u.contract is None:
            found.append(
                _v(
                    Invariant.UNIT_CONTRACT,
                    u.serial,
                    f"{u.serial} is deployed{_at(u)} but on no contract",
                    f"netkeep contract attach CONTRACT {u.serial}",
                )
            )
        elif u.contract is not None and u.customer != u.contract_customer:
            found.append(
                _v(
                    Invariant.UNIT_CONTRACT,
                    u.serial,
                    f"{u.serial} is on contract {u.contract} of {u.contract_customer} but the "
                    f"inventory gives its customer as {u.customer or '(none)'}",
                    f'PATCH /api/v1/devices/{u.serial} {{"customer": "{u.contract_customer}"}}',
                )
            )
        if u.status in WITH_PROVIDER and u.contract is not None:
            found.append(
                _v(
                    Invariant.UNIT_CONTRACT,
                    u.serial,
                    f"{u.serial} is {u.status}, back with the provider, but still on contract "
                    f"{u.contract}",
                    f"netkeep contract show {u.contract}  (end or return it: "
                    f"netkeep contract return {u.contract} {u.serial})",
                )
            )
    return found


def _at(u: UnitFacts) -> str:
    return f" at {u.site}" if u.site else ""


def network_violations(units: Iterable[UnitFacts]) -> list[Violation]:
    """A unit at a site is in a network; a unit with the provider is in none."""
    found: list[Violation] = []
    for u in units:
        if u.status is D.DEPLOYED and not u.network_id:
            found.append(
                _v(
                    Invariant.UNIT_NETWORK,
                    u.serial,
                    f"{u.serial} is deployed{_at(u)} but linked to no network",
                    f'PATCH /api/v1/devices/{u.serial} {{"network_id": "N_..."}}  '
                    "(netkeep inventory reconcile shows the dashboard's network)",
                )
            )
        elif u.status in WITH_PROVIDER and u.network_id:
            found.append(
                _v(
                    Invariant.UNIT_NETWORK,
                    u.serial,
                    f"{u.serial} is {u.status} but still linked to network {u.network_id}",
                    f'PATCH /api/v1/devices/{u.serial} {{"network_id": null}}',
                )
            )
    return found


def expected_owner(u: UnitFacts) -> Ownership | None:
    """Who must own the unit by its contract (Art. 18, 22) or its place; None: not decided here.

    With the provider (stock, returned, disposed): the provider. On a contract: leased → its
    leasing company; sold → the customer once the initial fee is paid, the provider before.
    """
    if u.status in WITH_PROVIDER:
        return Ownership(OwnerKind.PROVIDER, "provider")
    if u.contract is None:
        return None
    if u.acquisition == "leased":
        return Ownership(OwnerKind.LEASING_COMPANY, u.leasing_company or "")
    if u.contract_fee_paid:
        return Ownership(OwnerKind.CUSTOMER, u.contract_customer or "")
    return Ownership(OwnerKind.PROVIDER, "provider")


def ownership_violations(units: Iterable[UnitFacts]) -> list[Violation]:
    """The ledger's present owner is the one the contract and the unit's place say."""
    found: list[Violation] = []
    for u in units:
        want = expected_owner(u)
        if u.owner is None:
            found.append(
                _v(
                    Invariant.OWNERSHIP,
                    u.serial,
                    f"{u.serial} has no entry in the ownership ledger",
                    f"netkeep inventory owner {u.serial} "
                    f"{(want.kind.value + ':' + want.name) if want else 'provider:provider'}",
                )
            )
            continue
        if want is None or (u.owner.kind, u.owner.name) == (want.kind, want.name):
            continue
        why = (
            f"it is {u.status}, with the provider"
            if u.status in WITH_PROVIDER
            else f"it is {u.acquisition or 'sold'} on contract {u.contract}"
            + ("" if u.acquisition == "leased" else f", initial fee {_paid(u)}")
        )
        found.append(
            _v(
                Invariant.OWNERSHIP,
                u.serial,
                f"the ledger says {u.serial} belongs to {u.owner.kind.value}:{u.owner.name}, "
                f"but {why}, so it belongs to {want.kind.value}:{want.name}",
                f"netkeep inventory owner {u.serial} {want.kind.value}:{want.name}",
            )
        )
    return found


def _paid(u: UnitFacts) -> str:
    return "paid" if u.contract_fee_paid else "not paid"


def dashboard_violations(
    units: Mapping[str, UnitFacts],
    on_dashboard: Mapping[str, str | None],
    provisioned: Sequence[ProvisionedUnit],
    held: Mapping[str, RmaFacts] | None = None,
) -> list[Violation]:
    """Deployed units are in their networks on the dashboard; nothing provisioned went missing.

    `on_dashboard` is the organization's inventory read once: serial → its network (None when
    claimed but in no network); a serial absent from it is not in the organization. `held`:
    the replacements open RMAs hold, by serial (such a unit belongs in no network yet).
    """
    held = held or {}
    found: list[Violation] = []
    for u in units.values():
        where = on_dashboard.get(u.serial)
        if u.status is D.DEPLOYED and u.network_id and where != u.network_id:
            seen = (
                "is not in the organization"
                if u.serial not in on_dashboard
                else f"is in {where or 'no network'}"
            )
            found.append(
                _v(
                    Invariant.ON_DASHBOARD,
                    u.serial,
                    f"{u.serial} is deployed in network {u.network_id}, but on the dashboard it "
                    f"{seen}",
                    "netkeep inventory reconcile  (then re-apply the site's sheet: "
                    "netkeep apply SHEET, or correct the unit's network)",
                )
            )
        elif u.status in WITH_PROVIDER and where and u.serial in held:
            rma = held[u.serial]
            found.append(
                _v(
                    Invariant.UNIT_NETWORK,
                    u.serial,
                    f"the dashboard has {u.serial} in network {where}, but it is reserved as "
                    f"the replacement of {rma.number}",
                    f"netkeep rma show {rma.id}  (take {u.serial} out of network {where}, or "
                    f"give {rma.number} another unit)",
                )
            )
        elif u.status in WITH_PROVIDER and where:
            found.append(
                _v(
                    Invariant.UNIT_NETWORK,
                    u.serial,
                    f"the dashboard has {u.serial} in network {where}, but the inventory says "
                    f"{u.status}",
                    f"netkeep inventory status {u.serial} deployed  and  "
                    f'PATCH /api/v1/devices/{u.serial} {{"network_id": "{where}"}}',
                )
            )
    for serial, where in sorted(on_dashboard.items()):
        if where and serial not in units:
            found.append(
                _v(
                    Invariant.UNIT_NETWORK,
                    serial,
                    f"the dashboard has {serial} in network {where}; the inventory does not "
                    "know it",
                    "netkeep inventory reconcile --apply",
                )
            )
    for p in provisioned:
        unit = units.get(p.serial)
        if unit is not None and unit.status not in IN_A_NETWORK | {D.IN_STOCK, D.RESERVED}:
            continue  # it left the site since (RMA, return); the inventory records why
        if on_dashboard.get(p.serial) != p.network_id:
            found.append(
                _v(
                    Invariant.PROVISIONED,
                    p.serial,
                    f"job {p.job_id} put {p.serial} into network {p.network_id}; it is no longer "
                    "there on the dashboard",
                    f"netkeep job show {p.job_id}  then re-apply its sheet: netkeep apply SHEET",
                )
            )
    return found


def examine(
    *,
    units: Sequence[UnitFacts],
    rmas: Sequence[RmaFacts],
    runs: Sequence[RunFacts],
    provisioned: Sequence[ProvisionedUnit],
    on_dashboard: Mapping[str, str | None] | None,
    now: datetime,
    stuck_after: timedelta,
    ended_rmas: Mapping[str, RmaFacts] | None = None,
    holding_jobs: Mapping[int, HoldingJob] | None = None,
) -> list[Violation]:
    """All the checks; the dashboard ones only when its inventory was read."""
    by_serial = {u.serial: u for u in units}
    found = rma_unit_violations(by_serial, rmas)
    found += rma_hold_violations(by_serial, rmas)
    found += held_by_violations(by_serial, rmas, ended_rmas)
    found += job_hold_violations(units, holding_jobs or {})
    found += contract_violations(units)
    found += network_violations(units)
    found += ownership_violations(units)
    if on_dashboard is not None:
        held = {
            r.replacement_serial: r
            for r in rmas
            if r.replacement_serial and r.status in HOLDING and not r.swapped
        }
        found += dashboard_violations(by_serial, on_dashboard, provisioned, held)
    found += stuck_violations(runs, now=now, bound=stuck_after)
    return found

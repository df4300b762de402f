"""The facts the doctor reads and the violations it reports: plain values, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from inventory.domain import DeviceStatus, OwnerKind
from rma.domain import RmaStatus

D = DeviceStatus
R = RmaStatus


class Invariant(StrEnum):
    """What must hold; a violation names the one it breaks."""

    UNIT_RMA = "unit_rma"  # a unit's status agrees with the RMA that concerns it
    UNIT_CONTRACT = "unit_contract"  # a deployed unit is on a contract of its customer
    UNIT_NETWORK = "unit_network"  # in a network exactly when deployed (or failed in place)
    ON_DASHBOARD = "on_dashboard"  # a deployed unit is in its network on the dashboard
    PROVISIONED = "provisioned"  # what netkeep provisioned is still on the dashboard
    OWNERSHIP = "ownership"  # the ownership ledger agrees with the contract
    STUCK = "stuck"  # no job or rollout left running
    RMA_HOLDS = "rma_holds"  # an RMA holds only a unit that is reserved for it
    UNIT_HOLDS = "unit_holds"  # a unit's hold names an open RMA or a live job that needs it


@dataclass(frozen=True, slots=True)
class Violation:
    invariant: Invariant
    subject: str  # the serial, RMA number, job or rollout at fault
    message: str
    repair: str  # the command that repairs it (or shows what to do)

    def to_dict(self) -> dict[str, str]:
        return {
            "invariant": self.invariant.value,
            "subject": self.subject,
            "message": self.message,
            "repair": self.repair,
        }


@dataclass(frozen=True, slots=True)
class Ownership:
    kind: OwnerKind
    name: str


@dataclass(frozen=True, slots=True)
class UnitFacts:
    """One inventory unit with its contract and present owner."""

    serial: str
    status: DeviceStatus
    customer: str | None = None
    site: str | None = None
    network_id: str | None = None
    contract: str | None = None  # contract number
    contract_customer: str | None = None
    contract_fee_paid: bool = False
    acquisition: str | None = None  # "sold" | "leased"
    leasing_company: str | None = None
    owner: Ownership | None = None
    held_by: str | None = None  # the RMA number holding it
    held_by_job: int | None = None  # the provisioning job holding it


@dataclass(frozen=True, slots=True)
class RmaFacts:
    id: int
    number: str
    status: RmaStatus
    failed_serial: str
    customer: str | None = None
    replacement_serial: str | None = None
    swapped: bool = False


@dataclass(frozen=True, slots=True)
class HoldingJob:
    """A provisioning job a unit's `held_by_job` names."""

    job_id: int
    status: str
    rolled_back: bool = False  # a rollback of it was created: it is not resumed any more


@dataclass(frozen=True, slots=True)
class RunFacts:
    """A provisioning job that has not finished: pending or running."""

    job_id: int
    status: str
    last_activity: datetime
    rollout: str | None = None


@dataclass(frozen=True, slots=True)
class ProvisionedUnit:
    """A serial the latest successful, not rolled-back apply put into a network."""

    serial: str
    network_id: str
    job_id: int


# Where the failed unit of an RMA must be while the RMA is open, by the RMA's status.
# Before the swap the customer still runs it as failed; after the swap it is on its way back.
FAILED_UNIT_STATUSES: Mapping[RmaStatus, frozenset[DeviceStatus]] = {
    R.OPEN: frozenset({D.FAILED}),
    R.REPLACEMENT_NEEDED: frozenset({D.FAILED}),
    R.REPLACEMENT_RESERVED: frozenset({D.FAILED}),
    R.SHIPPED: frozenset({D.FAILED}),
    R.SWAPPED: frozenset({D.IN_RMA}),
    R.PICKUP_REQUESTED: frozenset({D.FAILED, D.IN_RMA}),
    R.OVERDUE: frozenset({D.FAILED, D.IN_RMA, D.LOST}),
    R.EXCEPTION: frozenset({D.FAILED, D.IN_RMA, D.LOST}),
    R.CHARGED: frozenset({D.FAILED, D.IN_RMA, D.LOST}),
    R.WAIVED: frozenset({D.FAILED, D.IN_RMA, D.LOST}),
    R.RECEIVED: frozenset({D.RETURNED, D.REFURBISHED, D.DISPOSED}),
}
# RMA statuses in which the replacement has been set aside and not yet swapped in.
HOLDING: frozenset[RmaStatus] = frozenset(
    {
        R.REPLACEMENT_RESERVED,
        R.SHIPPED,
        R.PICKUP_REQUESTED,
        R.OVERDUE,
        R.EXCEPTION,
        R.CHARGED,
        R.WAIVED,
    }
)
ENDED_RMA: frozenset[RmaStatus] = frozenset({R.CLOSED, R.RESOLVED_REMOTELY})
# Statuses that mean "an RMA is dealing with this unit".
UNDER_RMA: frozenset[DeviceStatus] = frozenset({D.FAILED, D.IN_RMA})
# Statuses in which a unit is in a network at a customer's site.
IN_A_NETWORK: frozenset[DeviceStatus] = frozenset({D.DEPLOYED, D.FAILED})
# Statuses in which a unit is with the provider: in no network, on no contract, provider-owned
# (a shipped replacement too, until the swap makes it the customer's).
WITH_PROVIDER: frozenset[DeviceStatus] = frozenset(
    {D.IN_STOCK, D.RESERVED, D.IN_TRANSIT, D.RETURNED, D.REFURBISHED, D.DISPOSED}
)


@dataclass(frozen=True)
class Findings:
    """Every violation, and whether the dashboard could be read for the checks that need it."""

    violations: list[Violation] = field(default_factory=list)
    dashboard_checked: bool = False
    dashboard_error: str | None = None

    @property
    def clean(self) -> bool:
        return not self.violations and self.dashboard_error is None

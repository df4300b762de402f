"""Pure inventory rules: serial form, device statuses and their transitions, ownership kinds."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from core.errors import InvalidTransition

SERIAL_PATTERN = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$")
MAC_PATTERN = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class DeviceStatus(StrEnum):
    IN_STOCK = "in_stock"
    RESERVED = "reserved"
    IN_TRANSIT = "in_transit"  # shipped from the warehouse (an RMA replacement), not yet installed
    DEPLOYED = "deployed"
    FAILED = "failed"
    IN_RMA = "in_rma"
    LOST = "lost"
    RETURNED = "returned"
    REFURBISHED = "refurbished"
    DISPOSED = "disposed"


S = DeviceStatus
TRANSITIONS: dict[DeviceStatus, frozenset[DeviceStatus]] = {
    S.IN_STOCK: frozenset({S.RESERVED, S.DEPLOYED, S.DISPOSED}),
    S.RESERVED: frozenset({S.IN_STOCK, S.DEPLOYED, S.IN_TRANSIT}),
    # Installed at the site, sent back undelivered, or lost by the courier.
    S.IN_TRANSIT: frozenset({S.DEPLOYED, S.RETURNED, S.LOST}),
    S.DEPLOYED: frozenset({S.FAILED, S.RETURNED}),
    S.FAILED: frozenset({S.DEPLOYED, S.IN_RMA}),
    S.IN_RMA: frozenset({S.RETURNED, S.LOST}),
    S.LOST: frozenset({S.RETURNED}),
    S.RETURNED: frozenset({S.REFURBISHED, S.DISPOSED}),
    S.REFURBISHED: frozenset({S.IN_STOCK, S.DISPOSED}),
    S.DISPOSED: frozenset(),
}


def advance(serial: str, current: DeviceStatus, target: DeviceStatus) -> DeviceStatus:
    """The new status, if the move from `current` to `target` is allowed."""
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise InvalidTransition(f"device {serial}", current, target, allowed)
    return target


class ProductType(StrEnum):
    APPLIANCE = "appliance"
    WIRELESS = "wireless"
    SWITCH = "switch"
    CELLULAR_GATEWAY = "cellularGateway"


class Plan(StrEnum):
    UTM = "utm"
    ROUTER = "router"
    WIRELESS = "wireless"


class ContractOption(StrEnum):
    VPN = "vpn"
    SURVEY = "survey"
    ONSITE = "onsite"
    BACKUP_UNIT = "backup_unit"
    CLIENT_SETUP = "client_setup"
    CLIENT_SUPPORT = "client_support"


PLAN_PRODUCT_TYPES: dict[Plan, frozenset[ProductType]] = {
    Plan.UTM: frozenset({ProductType.APPLIANCE}),
    Plan.ROUTER: frozenset({ProductType.APPLIANCE, ProductType.CELLULAR_GATEWAY}),
    Plan.WIRELESS: frozenset({ProductType.WIRELESS}),
}


class OwnerKind(StrEnum):
    PROVIDER = "provider"
    CUSTOMER = "customer"
    LEASING_COMPANY = "leasing_company"


class OwnershipReason(StrEnum):
    STOCK_IN = "stock_in"
    IMPORT = "import"
    RECONCILE_IMPORT = "reconcile_import"
    INITIAL_FEE_PAID = "initial_fee_paid"
    LEASE = "lease"
    RMA_SWAP = "rma_swap"
    CONTRACT_END_RETURN = "contract_end_return"
    CORRECTION = "correction"


class Acquisition(StrEnum):
    """How the customer holds a device on a contract (Art. 18 sale, Art. 22 lease/rental)."""

    SOLD = "sold"
    LEASED = "leased"


class ContractStatus(StrEnum):
    APPLIED = "applied"
    ACTIVE = "active"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class Owner:
    kind: OwnerKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.name}"


PROVIDER_NAME = "provider"


def hand_move_refusal(serial: str, held_by: str | None) -> str | None:
    """Why a person may not move this unit by hand (an RMA holds it), or None if they may."""
    if not held_by:
        return None
    ref = rma_ref(held_by)
    return (
        f"{serial} is held by {held_by}; change it through the RMA: netkeep rma show {ref} "
        f"(a reserved replacement is freed by: netkeep rma release {ref})"
    )


def rma_ref(number: str) -> str:
    """The id to type after `netkeep rma ...` for an RMA number (RMA-000004 → 4)."""
    digits = number.removeprefix("RMA-").lstrip("0") or "0"
    return digits if digits.isdigit() else number


# A provisioning job's hold is live while the job may still claim the unit: pending, running
# (a crashed run too: only its resume takes the hold over), or failed and resumable (no
# rollback of it created). A done or verify_failed job is finished: its hold is stale.
LIVE_JOB_STATUSES = frozenset({"pending", "running"})
RESUMABLE_JOB_STATUS = "failed"


def job_hold_is_live(status: str | None, *, rolled_back: bool) -> bool:
    """Whether a job in `status` (None: no such job) still holds the units it names."""
    if status in LIVE_JOB_STATUSES:
        return True
    return status == RESUMABLE_JOB_STATUS and not rolled_back


def rma_hold_is_live(
    serial: str, *, rma_open: bool, failed_serial: str | None, replacement_serial: str | None
) -> bool:
    """Whether an RMA still holds `serial`: it is open and the unit is its failed unit or its
    replacement."""
    return rma_open and serial in {failed_serial, replacement_serial}


def normalise_serial(raw: str) -> str:
    """A serial in Meraki form XXXX-XXXX-XXXX, upper case; ValueError otherwise."""
    serial = raw.strip().upper()
    if not SERIAL_PATTERN.match(serial):
        raise ValueError(f"serial {raw!r} is not in the Meraki form XXXX-XXXX-XXXX")
    return serial


def normalise_mac(raw: str) -> str:
    """A MAC as aa:bb:cc:dd:ee:ff; accepts '-', '.', ':' or no separators."""
    digits = re.sub(r"[^0-9a-fA-F]", "", raw)
    if len(digits) != 12 or len(re.sub(r"[0-9a-fA-F:\-. ]", "", raw)) != 0:
        raise ValueError(f"MAC {raw!r} is not a 48-bit MAC address")
    digits = digits.lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def owner_after_initial_fee(acquisition: Acquisition, customer: str) -> Owner | None:
    """Who owns a contract device once the initial fee is paid (None: no change, Art. 22)."""
    if acquisition is Acquisition.SOLD:
        return Owner(OwnerKind.CUSTOMER, customer)
    return None


def must_return_at_end(owner: Owner) -> bool:
    """Provider-owned equipment comes back when the contract ends (Art. 23)."""
    return owner.kind is OwnerKind.PROVIDER


def contract_end_date(notice: date) -> date:
    """The last day of the month in which notice was given (Art. 3: 契約終了日)."""
    last = calendar.monthrange(notice.year, notice.month)[1]
    return notice.replace(day=last)


# --- provisioning a unit to a site ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitRecord:
    """What the inventory holds of a unit a sheet lists (`held_by`: the RMA reserving it)."""

    serial: str
    model: str
    status: DeviceStatus
    customer: str | None = None
    site: str | None = None
    network_id: str | None = None
    contract: str | None = None  # contract number
    contract_customer: str | None = None
    held_by: str | None = None


@dataclass(frozen=True, slots=True)
class SiteTarget:
    """Where a sheet puts its units: the site, whose it is, the networks netkeep knows for it."""

    site: str
    customer: str | None = None
    network_ids: frozenset[str] = frozenset()


NOT_PROVISIONABLE: dict[DeviceStatus, str] = {
    S.RESERVED: "reserved",
    S.IN_TRANSIT: "shipped (on its way to a customer)",
    S.FAILED: "failed",
    S.IN_RMA: "in RMA (on its way back to the provider)",
    S.LOST: "lost",
    S.RETURNED: "returned and not yet back in stock",
    S.REFURBISHED: "refurbished and not yet back in stock",
    S.DISPOSED: "disposed",
}


def deployed_here(unit: UnitRecord, target: SiteTarget) -> bool:
    """A deployed unit is at the target site: of the sheet's customer (when it names one), and
    in the network netkeep knows for the site — or, when netkeep knows none or the unit is
    linked to none, at the sheet's site.name."""
    if target.customer is not None and unit.customer != target.customer:
        return False
    if unit.network_id is not None and target.network_ids:
        return unit.network_id in target.network_ids
    return unit.site == target.site


def placement_problem(
    serial: str, model: str, unit: UnitRecord | None, target: SiteTarget
) -> str | None:
    """Why the unit with `serial` cannot be provisioned at `target` as a `model`; None: it can.

    Only a unit in stock (to be claimed) or one already deployed at this very site (a re-apply)
    can; its model must be the sheet's; a stock unit on a contract must be on the sheet's
    customer's contract.
    """
    if unit is None:
        return (
            f"serial {serial} is not in the inventory; add it first "
            "(netkeep inventory import FILE --commit)"
        )
    if unit.model != model:
        return f"serial {serial} is a {unit.model} in the inventory, not a {model}"
    if unit.status is S.DEPLOYED:
        if deployed_here(unit, target):
            return None
        where = unit.site or "no site"
        net = f", network {unit.network_id}" if unit.network_id else ""
        whose = unit.customer or "no customer"
        return (
            f"serial {serial} is deployed at {where} ({whose}{net}), not at {target.site}; "
            "a unit is provisioned only from stock or at the site it is deployed at"
        )
    if unit.status in NOT_PROVISIONABLE:
        state = NOT_PROVISIONABLE[unit.status]
        held = f" as the replacement of {unit.held_by}" if unit.held_by else ""
        return (
            f"serial {serial} is {state}{held}; only a unit in stock or already deployed at "
            "this site can be provisioned"
        )
    if (
        unit.contract is not None
        and target.customer is not None
        and unit.contract_customer != target.customer
    ):
        return (
            f"serial {serial} is on contract {unit.contract} of {unit.contract_customer}, "
            f"not of {target.customer}"
        )
    return None

"""Who may do what: the one role policy table.

Every API route is guarded by exactly one `Operation`; the guard's roles come from `POLICY`, and
the README's role table is generated from it (`make roles`, `python -m api.role_table`). A
viewer reads; it never plans, applies or spends the organization's dashboard budget. The
customer's approvals (a survey version, a finished change) are recorded by the NOC or an
admin, never by the engineer whose work they approve (four-eyes, enforced in the services) —
or given by the customer itself in the portal, where the recorder is the customer's own actor.
No operation here is open to a customer token (`TokenRole.CUSTOMER`): it reaches only the portal,
whose routes are guarded by the token's customer binding instead (`PORTAL`, a row of its own in
the README's role table).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from core.auth import Role
from core.errors import PermissionDenied


class Operation(StrEnum):
    READ = "read"
    DEVICE_EDIT = "device.edit"
    DEVICE_STATUS = "device.status"
    INVENTORY_STOCK = "inventory.stock"
    CATALOGUE_EDIT = "catalogue.edit"
    CONTRACT_MANAGE = "contract.manage"
    CONTRACT_INSTALL = "contract.install"
    CONTRACT_RETURN = "contract.return"
    SHEET_VALIDATE = "sheet.validate"
    PROVISIONING_PLAN = "provisioning.plan"
    PROVISIONING_APPLY = "provisioning.apply"
    SECRET_MANAGE = "secret.manage"
    CHANGE_SUBMIT = "change.submit"
    CHANGE_APPROVE = "change.approve"
    CHANGE_OPERATE = "change.operate"
    CHANGE_ACCEPT = "change.accept"
    SITE_CHECK = "site.check"
    RMA_OPEN = "rma.open"
    RMA_LOGISTICS = "rma.logistics"
    RMA_CHARGE = "rma.charge"
    VPN_CHECK = "vpn.check"
    VPN_OPERATE = "vpn.operate"
    SURVEY_RECORD = "survey.record"
    SURVEY_ISSUE = "survey.issue"
    SURVEY_APPROVE = "survey.approve"
    TOKEN_MANAGE = "token.manage"
    INCIDENT_HANDLE = "incident.handle"
    SLA_OUTAGE = "sla.outage"
    SLA_POLICY = "sla.policy"
    DOCTOR = "doctor"
    HOLD_RELEASE = "hold.release"
    MONITOR = "monitor"
    NOTICE_CONTACTS = "notice.contacts"


@dataclass(frozen=True, slots=True)
class Rule:
    """The roles allowed an operation, and what it means in the business."""

    roles: frozenset[Role]
    meaning: str


def _rule(meaning: str, *roles: Role) -> Rule:
    return Rule(frozenset(roles), meaning)


A, N, F, L, V = Role.ADMIN, Role.NOC, Role.FIELD, Role.LOGISTICS, Role.VIEWER

POLICY: Final[Mapping[Operation, Rule]] = {
    Operation.READ: _rule("read anything (every GET but tokens, secrets, doctor)", A, N, F, L, V),
    Operation.DEVICE_EDIT: _rule("edit a device, check it against the dashboard", A, F, L),
    Operation.DEVICE_STATUS: _rule("move a device through its states", A, N, F, L),
    Operation.INVENTORY_STOCK: _rule("import devices, reconcile with the dashboard", A, L),
    Operation.CATALOGUE_EDIT: _rule("set catalogue models and prices", A),
    Operation.CONTRACT_MANAGE: _rule("create contracts, record payment and the end", A),
    Operation.CONTRACT_INSTALL: _rule("attach devices on site, record acceptance", A, F),
    Operation.CONTRACT_RETURN: _rule("receive equipment returned at the end", A, L),
    Operation.SHEET_VALIDATE: _rule("validate a settings sheet", A, N, F),
    Operation.PROVISIONING_PLAN: _rule("plan a sheet against the dashboard", A, N, F),
    Operation.PROVISIONING_APPLY: _rule("apply sheets, roll a job back", A, N, F),
    Operation.SECRET_MANAGE: _rule("set and remove named secrets (secret:NAME)", A, N),
    Operation.CHANGE_SUBMIT: _rule("submit, correct, cancel a change; report a defect", A, N, F),
    Operation.CHANGE_APPROVE: _rule("approve or reject a change (four-eyes)", A, N),
    Operation.CHANGE_OPERATE: _rule("schedule, apply and notify changes", A, N),
    Operation.CHANGE_ACCEPT: _rule("record the customer's acceptance (four-eyes)", A, N),
    Operation.SITE_CHECK: _rule("log in to a site's router to check it", A, N, F),
    Operation.RMA_OPEN: _rule("open an RMA, decide on a replacement", A, N),
    Operation.RMA_LOGISTICS: _rule("reserve or release, ship, swap, pick up, receive; sweep", A, L),
    Operation.RMA_CHARGE: _rule("extend a return period, waive a charge", A),
    Operation.VPN_CHECK: _rule("check a site's VPN readiness", A, N, F),
    Operation.VPN_OPERATE: _rule("build and revert VPNs, users, reports", A, N),
    Operation.SURVEY_RECORD: _rule("record a site survey", A, F),
    Operation.SURVEY_ISSUE: _rule("issue a preparation-sheet version", A, N, F),
    Operation.SURVEY_APPROVE: _rule("record the customer's approval (four-eyes)", A, N),
    Operation.TOKEN_MANAGE: _rule("issue, list and revoke API tokens", A),
    Operation.INCIDENT_HANDLE: _rule(
        "open, answer, close helpdesk incidents; bill after-hours work; sweep", A, N
    ),
    Operation.SLA_OUTAGE: _rule("record outages that SLA credits are computed from", A, N),
    Operation.SLA_POLICY: _rule("set a contract's SLA monthly fee and credit basis", A),
    Operation.MONITOR: _rule("poll liveness, open an RMA from an outage", A, N),
    Operation.NOTICE_CONTACTS: _rule(
        "list, add and remove where failure notices go (mail, signed webhook)", A, N
    ),
    Operation.DOCTOR: _rule("check the invariants between the domains (netkeep doctor)", A, N),
    Operation.HOLD_RELEASE: _rule("release a stale RMA or job hold on a unit (the doctor's)", A),
}


PORTAL: Final = "portal"
"""The customer portal (/api/v1/portal/…): customer tokens only, each confined to its customer;
every staff role is refused. Guarded by `api.deps.Customer`, not by an `Operation`."""
PORTAL_MEANING: Final = (
    "the customer's own contracts, devices, RMAs, surveys, changes and VPN reports; approve a "
    "sheet, accept a change or report its defect (customer tokens only)"
)


def allowed_roles(operation: Operation) -> frozenset[Role]:
    return POLICY[operation].roles


def may(role: Role | str, operation: Operation) -> bool:
    """Whether `role` may perform `operation` (an unknown role may do nothing)."""
    return role in {r.value for r in POLICY[operation].roles}


def four_eyes(*, recorder: str, authors: Iterable[str | None], what: str) -> None:
    """The customer's approval of work is never recorded by anyone who did that work."""
    if recorder in {a for a in authors if a}:
        raise PermissionDenied(
            f"{recorder} worked on {what}; its approval must be recorded by someone else "
            "(four-eyes)",
            recorder=recorder,
        )

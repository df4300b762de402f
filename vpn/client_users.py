"""Client-VPN users as Meraki auth users, created or updated idempotently by e-mail."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import DashboardError, Problem, ValidationFailed
from vpn import compensation
from vpn.domain import ClientUser, email_reason
from vpn.models import VpnClientUser
from vpn.ports import AuthUser, VpnDashboard


@dataclass(frozen=True, slots=True)
class UserRequest:
    """A user to put on a network's client VPN; a password left out is generated."""

    network_id: str
    email: str
    name: str
    password: str | None = None


@dataclass(frozen=True, slots=True)
class UserOutcome:
    """What happened to one user; `password` is set only here, once, when one was set."""

    network_id: str
    email: str
    name: str
    action: str  # created, updated, unchanged
    dashboard_id: str
    password: str | None = None

    def record(self) -> dict[str, str]:
        """The outcome without the password, as stored."""
        return {
            "network_id": self.network_id,
            "email": self.email,
            "name": self.name,
            "action": self.action,
            "dashboard_id": self.dashboard_id,
        }


def user_problems(users: Sequence[UserRequest]) -> list[Problem]:
    """Every user needs a valid e-mail (condition (3)) and a name; each named by its place."""
    problems = []
    seen: set[tuple[str, str]] = set()
    for i, user in enumerate(users, start=1):
        where = f"user {i} ({user.name or user.email or 'unnamed'}) at site {user.network_id}"
        reason = email_reason(ClientUser(user.network_id, user.email, user.name))
        if reason is not None:
            problems.append(Problem(reason.message, where))
        if not user.name.strip():
            problems.append(Problem("a client VPN user needs a name", where))
        key = (user.network_id, user.email.strip().lower())
        if key in seen:
            problems.append(Problem(f"{user.email} is listed twice", where))
        seen.add(key)
    return problems


def ensure_client_users(
    *,
    session: Session,
    dashboard: VpnDashboard,
    actor: Actor,
    users: Sequence[UserRequest],
    now: datetime,
) -> list[UserOutcome]:
    """Create missing users, update changed ones, leave the rest; nothing sent if any is invalid."""
    if problems := user_problems(users):
        raise ValidationFailed(problems)
    existing: dict[str, dict[str, AuthUser]] = {}
    outcomes: list[UserOutcome] = []
    try:
        for user in users:
            if user.network_id not in existing:
                existing[user.network_id] = {
                    u.email.lower(): u for u in dashboard.client_vpn_users(user.network_id)
                }
            email = user.email.strip()
            found = existing[user.network_id].get(email.lower())
            if found is None:
                password = user.password or secrets.token_urlsafe(12)
                made = dashboard.create_client_vpn_user(
                    user.network_id, email=email, name=user.name, password=password
                )
                outcome = UserOutcome(
                    user.network_id, email, user.name, "created", made.id, password
                )
            elif found.name != user.name or user.password is not None:
                dashboard.update_client_vpn_user(
                    user.network_id, found.id, name=user.name, password=user.password
                )
                outcome = UserOutcome(
                    user.network_id, email, user.name, "updated", found.id, user.password
                )
            else:
                outcome = UserOutcome(user.network_id, email, user.name, "unchanged", found.id)
            outcomes.append(outcome)
    except Exception as exc:
        left = remove_created(dashboard=dashboard, outcomes=outcomes)
        if left:
            _raise_left(session, actor, exc, left, now)
        raise
    for outcome in outcomes:
        _remember(session, outcome, now)
        if outcome.action != "unchanged":
            audit.record(
                session,
                actor=actor,
                action=f"vpn.user.{outcome.action}",
                entity_type="vpn_client_user",
                entity_id=f"{outcome.network_id}:{outcome.email}",
                after=outcome.record(),
                at=now,
            )
    return outcomes


def remove_created(
    *, dashboard: VpnDashboard, outcomes: Sequence[UserOutcome]
) -> list[dict[str, Any]]:
    """Take back users this run created (a later step failed); the ones that stayed, logged."""
    left = []
    for outcome in outcomes:
        if outcome.action == "created":
            try:
                dashboard.delete_client_vpn_user(outcome.network_id, outcome.dashboard_id)
            except Exception as exc:  # the others are still tried; this one is reported
                left.append(
                    compensation.user_left(
                        outcome.network_id, outcome.email, outcome.dashboard_id, exc
                    )
                )
    return left


def _raise_left(
    session: Session, actor: Actor, exc: Exception, left: list[dict[str, Any]], now: datetime
) -> NoReturn:
    """A failed creation whose undo left users behind: audited (committed) and said."""
    for item in left:
        audit.record(
            session,
            actor=actor,
            action="vpn.user.undo_failed",
            entity_type="vpn_client_user",
            entity_id=f"{item['network_id']}:{item['email']}",
            after={"left_on_dashboard": item, "cause": str(exc)},
            outcome="partially_reverted",
            at=now,
        )
    session.commit()
    message = (
        f"{exc}; undoing the users created before it failed: "
        + "; ".join(f"{item['what']} stayed ({item['error']})" for item in left)
        + " — delete them on the dashboard"
    )
    raise DashboardError(message, left_on_dashboard=left) from exc


def _remember(session: Session, outcome: UserOutcome, now: datetime) -> None:
    row = session.exec(
        select(VpnClientUser).where(
            VpnClientUser.network_id == outcome.network_id,
            VpnClientUser.email == outcome.email.lower(),
        )
    ).first()
    if row is None:
        row = VpnClientUser(
            network_id=outcome.network_id,
            email=outcome.email.lower(),
            name=outcome.name,
            dashboard_id=outcome.dashboard_id,
            created_at=now,
            updated_at=now,
        )
    elif outcome.action != "unchanged" or row.dashboard_id != outcome.dashboard_id:
        row.name, row.dashboard_id, row.updated_at = outcome.name, outcome.dashboard_id, now
    session.add(row)


def forget(*, session: Session, network_id: str, email: str) -> None:
    """Drop netkeep's record of a user taken off the dashboard."""
    row = session.exec(
        select(VpnClientUser).where(
            VpnClientUser.network_id == network_id, VpnClientUser.email == email.lower()
        )
    ).first()
    if row is not None:
        session.delete(row)


def list_users(*, session: Session, network_id: str | None = None) -> list[VpnClientUser]:
    stmt = select(VpnClientUser)
    if network_id is not None:
        stmt = stmt.where(VpnClientUser.network_id == network_id)
    return list(
        session.exec(stmt.order_by(col(VpnClientUser.network_id), col(VpnClientUser.email)))
    )

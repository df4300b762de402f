"""VPN tables: eligibility checks, construction records, client users, status snapshots, events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.timeutil import UtcDateTime, utcnow


class VpnEligibilityCheck(SQLModel, table=True):
    """One site's eligibility as checked at a moment, with the reasons and uplinks it saw."""

    __tablename__ = "vpn_eligibility_check"
    __table_args__ = (Index("ix_vpn_eligibility_check_network_at", "network_id", "checked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    run: str = Field(max_length=32, index=True)
    network_id: str = Field(max_length=40)
    site_name: str = Field(max_length=120)
    customer: str | None = Field(default=None, max_length=120)
    contract_number: str | None = Field(default=None, max_length=40)
    plan: str | None = Field(default=None, max_length=20)
    checked_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    eligible: bool
    reasons: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    uplinks: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    users: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    actor: str = Field(max_length=120)


class VpnBuild(SQLModel, table=True):
    """A construction: request, per-network outcome, its provisioning jobs, users, API limits."""

    __tablename__ = "vpn_build"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(max_length=20)
    organization_id: str = Field(max_length=40)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    actor: str = Field(max_length=120)
    request: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    changes: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    users: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    notes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    jobs: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """Provisioning job ids in the order applied (hubs first); a revert undoes them newest first."""
    reverted_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    reverted_by: str | None = Field(default=None, max_length=120)


class VpnClientUser(SQLModel, table=True):
    """A client-VPN user netkeep put on the dashboard (never its password)."""

    __tablename__ = "vpn_client_user"
    __table_args__ = (
        Index("uq_vpn_client_user_network_email", "network_id", "email", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    network_id: str = Field(max_length=40)
    email: str = Field(max_length=254)
    name: str = Field(max_length=120)
    dashboard_id: str = Field(max_length=80)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )


class VpnReport(SQLModel, table=True):
    """A dated status snapshot of every VPN site of an organization."""

    __tablename__ = "vpn_report"
    __table_args__ = (Index("ix_vpn_report_org_taken", "organization_id", "taken_at"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: str = Field(max_length=40)
    taken_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    previous_id: int | None = Field(default=None, foreign_key="vpn_report.id")
    previous_taken_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    site_count: int = 0
    peer_count: int = 0
    peers_down: int = 0
    wan_ip_changes: int = 0
    sites: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    actor: str = Field(max_length=120)


class VpnReportCustomer(SQLModel, table=True):
    """A customer with sites in a report: how the portal finds a customer's reports in SQL."""

    __tablename__ = "vpn_report_customer"
    __table_args__ = (
        UniqueConstraint("report_id", "customer", name="uq_vpn_report_customer"),
        Index("ix_vpn_report_customer_customer", "customer", "report_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="vpn_report.id")
    customer: str = Field(max_length=120)


class VpnEvent(SQLModel, table=True):
    """A peer going down or up, or a WAN IP change, seen between two snapshots."""

    __tablename__ = "vpn_event"
    __table_args__ = (Index("ix_vpn_event_at", "at"), Index("ix_vpn_event_network", "network_id"))

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="vpn_report.id")
    kind: str = Field(max_length=20)
    network_id: str = Field(max_length=40)
    site_name: str = Field(max_length=120)
    peer_network_id: str | None = Field(default=None, max_length=40)
    peer_name: str | None = Field(default=None, max_length=120)
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    detail: str = Field(default="", max_length=500)

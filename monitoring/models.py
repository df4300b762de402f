"""Monitoring tables: device tracks between polls, outages, received alerts, failure notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from core.timeutil import UtcDateTime, utcnow


class MonitorTrack(SQLModel, table=True):
    """One device's last seen status and its down spell (the debounce state)."""

    __tablename__ = "monitor_track"
    __table_args__ = (UniqueConstraint("serial", name="uq_monitor_track_serial"),)

    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(max_length=14)
    organization_id: str = Field(max_length=40, index=True)
    network_id: str | None = Field(default=None, max_length=40)
    product_type: str | None = Field(default=None, max_length=20)
    status: str = Field(max_length=20)
    down_since: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    down_polls: int = 0
    outage_id: int | None = Field(default=None, foreign_key="outage.id")
    last_polled_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class MonitorPoll(SQLModel, table=True):
    """One organization's poll: how, how many calls, and the change-history cursor it reached."""

    __tablename__ = "monitor_poll"
    __table_args__ = (
        UniqueConstraint("organization_id", "polled_at", name="uq_monitor_poll_org_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: str = Field(max_length=40)
    polled_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    method: str = Field(max_length=20)
    devices: int = 0
    opened: int = 0
    closed: int = 0


class Outage(SQLModel, table=True):
    """A device down past the debounce: from when it went down until it came back."""

    __tablename__ = "outage"
    __table_args__ = (
        Index("ix_outage_serial_started", "serial", "started_at"),
        Index("ix_outage_open", "ended_at"),
        # One open outage per device and kind (a VPN outage per peer), whoever opens it (a poll
        # and a webhook racing).
        Index(
            "uq_outage_open_serial_kind",
            "serial",
            "kind",
            "vpn_peer",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(max_length=14)
    kind: str = Field(default="device", max_length=10)  # device | vpn
    vpn_peer: str = Field(default="", max_length=120)
    """A VPN outage's peer (the alert's peerIdent), else ''."""
    device_id: int | None = Field(default=None, foreign_key="device.id")
    organization_id: str = Field(max_length=40)
    network_id: str | None = Field(default=None, max_length=40)
    product_type: str | None = Field(default=None, max_length=20)
    site: str | None = Field(default=None, max_length=120)
    customer: str | None = Field(default=None, max_length=120)
    contract_id: int | None = Field(default=None, foreign_key="contract.id")
    status_seen: str = Field(max_length=20)
    source: str = Field(max_length=20)  # poll | change_history | webhook
    started_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    detected_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    """When the provider learned of it (the debounce passed, or the alert arrived)."""
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    rma_number: str | None = Field(default=None, max_length=40)


class MonitorAlert(SQLModel, table=True):
    """A Meraki webhook alert as received (the shared secret is never kept)."""

    __tablename__ = "monitor_alert"
    __table_args__ = (UniqueConstraint("alert_id", name="uq_monitor_alert_alert_id"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: str = Field(max_length=64)
    alert_type: str = Field(max_length=120)
    alert_type_id: str | None = Field(default=None, max_length=80)
    kind: str = Field(max_length=20)  # down | up | vpn | settings | other
    organization_id: str | None = Field(default=None, max_length=40)
    network_id: str | None = Field(default=None, max_length=40)
    serial: str | None = Field(default=None, max_length=14)
    occurred_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    sent_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    received_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    outage_id: int | None = Field(default=None, foreign_key="outage.id")
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class NoticeContact(SQLModel, table=True):
    """Where a customer wants failure notices: a mail address or a webhook URL."""

    __tablename__ = "notice_contact"
    __table_args__ = (
        UniqueConstraint("customer", "channel", "address", name="uq_notice_contact_address"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer: str = Field(max_length=120, index=True)
    channel: str = Field(max_length=10)  # mail | webhook
    address: str = Field(max_length=500)
    secret_name: str | None = Field(default=None, max_length=80)
    """The customer's named secret (core.secret_store) that signs webhook notices."""
    active: bool = True


class FailureNotice(SQLModel, table=True):
    """One failure notice to one contact: queued for the window, retried until sent."""

    __tablename__ = "failure_notice"
    __table_args__ = (
        UniqueConstraint(
            "outage_id", "contact_id", "kind", name="uq_failure_notice_outage_contact_kind"
        ),
        Index("ix_failure_notice_due", "sent_at", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    outage_id: int = Field(foreign_key="outage.id")
    contact_id: int = Field(foreign_key="notice_contact.id")
    kind: str = Field(default="failure", max_length=10)  # failure | recovery
    channel: str = Field(max_length=10)
    service: str = Field(max_length=40)
    detected_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    due_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    """The window's start (or `detected_at` itself inside the window)."""
    next_attempt_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    claimed_by: str | None = Field(default=None, max_length=64)
    """The sender that claimed it before sending; another sender skips it until the lease ends."""
    claim_expires_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))

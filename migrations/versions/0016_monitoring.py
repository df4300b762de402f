"""monitoring: device tracks, polls, outages, received alerts, notice contacts and notices

Revision ID: 0010_monitoring
Revises: 0010_dashboard_budget
Create Date: 2026-12-06 07:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.timeutil import UtcDateTime

revision: str = "0010_monitoring"
down_revision: str | None = "0010_dashboard_budget"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outage",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("serial", sa.String(14), nullable=False),
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("device.id"), nullable=True),
        sa.Column("organization_id", sa.String(40), nullable=False),
        sa.Column("network_id", sa.String(40), nullable=True),
        sa.Column("product_type", sa.String(20), nullable=True),
        sa.Column("site", sa.String(120), nullable=True),
        sa.Column("customer", sa.String(120), nullable=True),
        sa.Column("contract_id", sa.Integer(), sa.ForeignKey("contract.id"), nullable=True),
        sa.Column("status_seen", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("detected_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("rma_number", sa.String(40), nullable=True),
    )
    op.create_index("ix_outage_serial_started", "outage", ["serial", "started_at"])
    op.create_index("ix_outage_open", "outage", ["ended_at"])
    op.create_index(
        "uq_outage_open_serial",
        "outage",
        ["serial"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
        sqlite_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "monitor_track",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("serial", sa.String(14), nullable=False),
        sa.Column("organization_id", sa.String(40), nullable=False),
        sa.Column("network_id", sa.String(40), nullable=True),
        sa.Column("product_type", sa.String(20), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("down_since", UtcDateTime(), nullable=True),
        sa.Column("down_polls", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), sa.ForeignKey("outage.id"), nullable=True),
        sa.Column("last_polled_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("serial", name="uq_monitor_track_serial"),
    )
    op.create_index("ix_monitor_track_organization_id", "monitor_track", ["organization_id"])
    op.create_table(
        "monitor_poll",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organization_id", sa.String(40), nullable=False),
        sa.Column("polled_at", UtcDateTime(), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.UniqueConstraint("organization_id", "polled_at", name="uq_monitor_poll_org_at"),
    )
    op.create_table(
        "monitor_alert",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.String(64), nullable=False),
        sa.Column("alert_type", sa.String(120), nullable=False),
        sa.Column("alert_type_id", sa.String(80), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("organization_id", sa.String(40), nullable=True),
        sa.Column("network_id", sa.String(40), nullable=True),
        sa.Column("serial", sa.String(14), nullable=True),
        sa.Column("occurred_at", UtcDateTime(), nullable=True),
        sa.Column("sent_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("outage_id", sa.Integer(), sa.ForeignKey("outage.id"), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.UniqueConstraint("alert_id", name="uq_monitor_alert_alert_id"),
    )
    op.create_table(
        "notice_contact",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer", sa.String(120), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("secret_name", sa.String(80), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("customer", "channel", "address", name="uq_notice_contact_address"),
    )
    op.create_index("ix_notice_contact_customer", "notice_contact", ["customer"])
    op.create_table(
        "failure_notice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("outage_id", sa.Integer(), sa.ForeignKey("outage.id"), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("notice_contact.id"), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("detected_at", UtcDateTime(), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("outage_id", "contact_id", name="uq_failure_notice_outage_contact"),
    )
    op.create_index("ix_failure_notice_due", "failure_notice", ["sent_at", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("failure_notice")
    op.drop_table("notice_contact")
    op.drop_table("monitor_alert")
    op.drop_table("monitor_poll")
    op.drop_table("monitor_track")
    op.drop_index("uq_outage_open_serial", "outage")
    op.drop_index("ix_outage_open", "outage")
    op.drop_index("ix_outage_serial_started", "outage")
    op.drop_table("outage")

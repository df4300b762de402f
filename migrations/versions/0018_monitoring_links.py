"""monitoring links: VPN outages, recovery notices, delivery claims, incidents to outages/RMAs

Revision ID: 0018_monitoring_links
Revises: 0017_web (re-chained after merging main; the brief names 0010_monitoring)
Create Date: 2026-12-06 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.timeutil import UtcDateTime

revision: str = "0018_monitoring_links"
down_revision: str | None = "0017_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("uq_outage_open_serial", "outage")
    with op.batch_alter_table("outage", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(10), nullable=False, server_default="device")
        )
        batch_op.add_column(
            sa.Column("vpn_peer", sa.String(120), nullable=False, server_default="")
        )
    op.create_index(
        "uq_outage_open_serial_kind",
        "outage",
        ["serial", "kind", "vpn_peer"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
        sqlite_where=sa.text("ended_at IS NULL"),
    )
    with op.batch_alter_table("failure_notice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(10), nullable=False, server_default="failure")
        )
        batch_op.add_column(sa.Column("claimed_by", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("claim_expires_at", UtcDateTime(), nullable=True))
        batch_op.drop_constraint("uq_failure_notice_outage_contact", type_="unique")
        batch_op.create_unique_constraint(
            "uq_failure_notice_outage_contact_kind", ["outage_id", "contact_id", "kind"]
        )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outage_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rma_number", sa.String(40), nullable=True))
        batch_op.create_foreign_key("fk_incident_outage_id_outage", "outage", ["outage_id"], ["id"])
        batch_op.create_index("ix_incident_outage_id", ["outage_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_outage_id")
        batch_op.drop_constraint("fk_incident_outage_id_outage", type_="foreignkey")
        batch_op.drop_column("rma_number")
        batch_op.drop_column("outage_id")
    with op.batch_alter_table("failure_notice", schema=None) as batch_op:
        batch_op.drop_constraint("uq_failure_notice_outage_contact_kind", type_="unique")
        batch_op.create_unique_constraint(
            "uq_failure_notice_outage_contact", ["outage_id", "contact_id"]
        )
        batch_op.drop_column("claim_expires_at")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("kind")
    op.drop_index("uq_outage_open_serial_kind", "outage")
    with op.batch_alter_table("outage", schema=None) as batch_op:
        batch_op.drop_column("vpn_peer")
        batch_op.drop_column("kind")
    op.create_index(
        "uq_outage_open_serial",
        "outage",
        ["serial"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
        sqlite_where=sa.text("ended_at IS NULL"),
    )

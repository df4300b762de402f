"""vpn: eligibility checks, builds, client users, status reports and events

Revision ID: 0005
Revises: 0003 (see down_revision)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.timeutil

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString
T = core.timeutil.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "vpn_eligibility_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run", S(length=32), nullable=False),
        sa.Column("network_id", S(length=40), nullable=False),
        sa.Column("site_name", S(length=120), nullable=False),
        sa.Column("customer", S(length=120), nullable=True),
        sa.Column("contract_number", S(length=40), nullable=True),
        sa.Column("plan", S(length=20), nullable=True),
        sa.Column("checked_at", T(timezone=True), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("uplinks", sa.JSON(), nullable=True),
        sa.Column("users", sa.JSON(), nullable=False),
        sa.Column("actor", S(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vpn_eligibility_check")),
    )
    op.create_index(
        "ix_vpn_eligibility_check_network_at",
        "vpn_eligibility_check",
        ["network_id", "checked_at"],
    )
    op.create_index(
        op.f("ix_vpn_eligibility_check_run"), "vpn_eligibility_check", ["run"], unique=False
    )
    op.create_table(
        "vpn_build",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", S(length=20), nullable=False),
        sa.Column("organization_id", S(length=40), nullable=False),
        sa.Column("created_at", T(timezone=True), nullable=False),
        sa.Column("actor", S(length=120), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("users", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("reverted_at", T(timezone=True), nullable=True),
        sa.Column("reverted_by", S(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vpn_build")),
    )
    op.create_table(
        "vpn_client_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", S(length=40), nullable=False),
        sa.Column("email", S(length=254), nullable=False),
        sa.Column("name", S(length=120), nullable=False),
        sa.Column("dashboard_id", S(length=80), nullable=False),
        sa.Column("created_at", T(timezone=True), nullable=False),
        sa.Column("updated_at", T(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vpn_client_user")),
    )
    op.create_index(
        "uq_vpn_client_user_network_email",
        "vpn_client_user",
        ["network_id", "email"],
        unique=True,
    )
    op.create_table(
        "vpn_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", S(length=40), nullable=False),
        sa.Column("taken_at", T(timezone=True), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("previous_taken_at", T(timezone=True), nullable=True),
        sa.Column("site_count", sa.Integer(), nullable=False),
        sa.Column("peer_count", sa.Integer(), nullable=False),
        sa.Column("peers_down", sa.Integer(), nullable=False),
        sa.Column("wan_ip_changes", sa.Integer(), nullable=False),
        sa.Column("sites", sa.JSON(), nullable=False),
        sa.Column("actor", S(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["previous_id"], ["vpn_report.id"], name=op.f("fk_vpn_report_previous_id_vpn_report")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vpn_report")),
    )
    op.create_index("ix_vpn_report_org_taken", "vpn_report", ["organization_id", "taken_at"])
    op.create_table(
        "vpn_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", S(length=20), nullable=False),
        sa.Column("network_id", S(length=40), nullable=False),
        sa.Column("site_name", S(length=120), nullable=False),
        sa.Column("peer_network_id", S(length=40), nullable=True),
        sa.Column("peer_name", S(length=120), nullable=True),
        sa.Column("at", T(timezone=True), nullable=False),
        sa.Column("detail", S(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["vpn_report.id"], name=op.f("fk_vpn_event_report_id_vpn_report")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vpn_event")),
    )
    op.create_index("ix_vpn_event_at", "vpn_event", ["at"])
    op.create_index("ix_vpn_event_network", "vpn_event", ["network_id"])


def downgrade() -> None:
    op.drop_index("ix_vpn_event_network", table_name="vpn_event")
    op.drop_index("ix_vpn_event_at", table_name="vpn_event")
    op.drop_table("vpn_event")
    op.drop_index("ix_vpn_report_org_taken", table_name="vpn_report")
    op.drop_table("vpn_report")
    op.drop_index("uq_vpn_client_user_network_email", table_name="vpn_client_user")
    op.drop_table("vpn_client_user")
    op.drop_table("vpn_build")
    op.drop_index(op.f("ix_vpn_eligibility_check_run"), table_name="vpn_eligibility_check")
    op.drop_index("ix_vpn_eligibility_check_network_at", table_name="vpn_eligibility_check")
    op.drop_table("vpn_eligibility_check")

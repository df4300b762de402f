"""helpdesk incidents, SLA policies and the outages SLA credits are computed from

Revision ID: 0010_helpdesk_sla
Revises: 0010_claims
Create Date: 2026-12-06 06:50:00

Chained on main's head so this branch has one head; the lead re-chains when merging.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.timeutil

revision: str = "0010_helpdesk_sla"
down_revision: str | None = "0010_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, core.timeutil.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("contact_ref", S(length=40), nullable=False),
        sa.Column("kind", S(length=12), nullable=False),
        sa.Column("channel", S(length=8), nullable=False),
        sa.Column("reporter", S(length=120), nullable=False),
        sa.Column("question", S(length=2000), nullable=False),
        sa.Column("status", S(length=12), nullable=False),
        _at("received_at"),
        _at("answered_at", True),
        sa.Column("answer", S(length=4000), nullable=False),
        sa.Column("answered_by", S(length=120), nullable=True),
        _at("replied_at", True),
        _at("closed_at", True),
        sa.Column("close_reason", S(length=12), nullable=True),
        sa.Column("cause", S(length=16), nullable=False),
        sa.Column("over_limit", sa.Boolean(), nullable=False),
        sa.Column("after_hours_minutes", sa.Integer(), nullable=False),
        sa.Column("after_hours_net_yen", sa.Integer(), nullable=False),
        sa.Column("after_hours_tax_yen", sa.Integer(), nullable=False),
        sa.Column("after_hours_total_yen", sa.Integer(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contract.id"], name=op.f("fk_incident_contract_id_contract")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident")),
    )
    op.create_index("ix_incident_status_answered_at", "incident", ["status", "answered_at"])
    op.create_index(
        "ix_incident_contract_id_received_at", "incident", ["contract_id", "received_at"]
    )
    op.create_index("ix_incident_contact_ref", "incident", ["contact_ref"])
    op.create_table(
        "sla_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("monthly_fee_yen", sa.Integer(), nullable=False),
        sa.Column("basis", S(length=16), nullable=False),
        _at("updated_at"),
        sa.Column("updated_by", S(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contract.id"], name=op.f("fk_sla_policy_contract_id_contract")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policy")),
        sa.UniqueConstraint("contract_id", name="uq_sla_policy_contract_id"),
    )
    op.create_table(
        "sla_outage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        _at("started_at"),
        _at("learned_at"),
        _at("ended_at", True),
        sa.Column("cause", S(length=16), nullable=False),
        sa.Column("source", S(length=20), nullable=False),
        sa.Column("source_ref", S(length=60), nullable=True),
        sa.Column("note", S(length=2000), nullable=False),
        _at("created_at"),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contract.id"], name=op.f("fk_sla_outage_contract_id_contract")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_outage")),
        sa.UniqueConstraint("source", "source_ref", name="uq_sla_outage_source_ref"),
    )
    op.create_index(
        "ix_sla_outage_contract_id_started_at", "sla_outage", ["contract_id", "started_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_sla_outage_contract_id_started_at", table_name="sla_outage")
    op.drop_table("sla_outage")
    op.drop_table("sla_policy")
    op.drop_index("ix_incident_contact_ref", table_name="incident")
    op.drop_index("ix_incident_contract_id_received_at", table_name="incident")
    op.drop_index("ix_incident_status_answered_at", table_name="incident")
    op.drop_table("incident")

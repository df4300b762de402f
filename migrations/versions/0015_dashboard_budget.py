"""the dashboard request budget per organization shared by every process (PostgreSQL)

Revision ID: 0010_dashboard_budget
Revises: 0010_helpdesk_sla
Create Date: 2026-12-06 07:00:00

`dashboard_budget` holds one row per organization: the next free request slot and the end of a
429's pause, as epoch seconds of the database clock. `dashboard.budgets.PostgresBudget` moves it
with one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` per request. The table exists on SQLite
too (one schema), where the in-process bucket paces instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010_dashboard_budget"
down_revision: str | None = "0010_helpdesk_sla"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_budget",
        sa.Column("organization_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("paused_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_dashboard_budget")),
    )


def downgrade() -> None:
    op.drop_table("dashboard_budget")

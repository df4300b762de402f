"""Claims before outside calls: a unit held by the job claiming it; a change request's claim

Revision ID: 0010_claims
Revises: 0010_jobs
Create Date: 2026-12-06 06:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.timeutil import UtcDateTime

revision: str = "0010_claims"
down_revision: str | None = "0010_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
OPEN_ROLLBACK = "kind = 'rollback' AND status IN ('pending', 'running')"


def upgrade() -> None:
    op.add_column("device", sa.Column("held_by_job", sa.Integer(), nullable=True))
    op.create_index("ix_device_held_by_job", "device", ["held_by_job"])
    op.create_index(
        "uq_provisioning_job_open_rollback",
        "provisioning_job",
        ["rollback_of"],
        unique=True,
        postgresql_where=sa.text(OPEN_ROLLBACK),
        sqlite_where=sa.text(OPEN_ROLLBACK),
    )
    op.add_column("change_request", sa.Column("claimed_for", sa.String(20), nullable=True))
    op.add_column(
        "change_request", sa.Column("claimed_at", UtcDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_index("uq_provisioning_job_open_rollback", table_name="provisioning_job")
    with op.batch_alter_table("change_request") as batch:
        batch.drop_column("claimed_at")
        batch.drop_column("claimed_for")
    op.drop_index("ix_device_held_by_job", table_name="device")
    with op.batch_alter_table("device") as batch:
        batch.drop_column("held_by_job")

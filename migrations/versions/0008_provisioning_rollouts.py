"""provisioning rollouts and direct-write answers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 04:30:00

A rollout groups the jobs of several sheets applied together (shared reads and action batches);
a direct write's answer (the resource as the dashboard stored it, secrets fingerprinted) is
kept on its journal row so the verification and a resumed job can read it back without a GET.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("provisioning_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rollout", sa.String(length=40), nullable=True))
        batch_op.create_index("ix_provisioning_job_rollout", ["rollout"], unique=False)
    with op.batch_alter_table("provisioning_step", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provisioning_step", schema=None) as batch_op:
        batch_op.drop_column("answer")
    with op.batch_alter_table("provisioning_job", schema=None) as batch_op:
        batch_op.drop_index("ix_provisioning_job_rollout")
        batch_op.drop_column("rollout")

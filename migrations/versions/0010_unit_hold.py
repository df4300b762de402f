"""A unit held by the provisioning job that is claiming it (one claim however many race)

Revision ID: 0010_unit_hold
Revises: 0010_token_name_lower
Create Date: 2026-12-06 06:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_unit_hold"
down_revision: str | None = "0010_token_name_lower"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("device", sa.Column("held_by_job", sa.Integer(), nullable=True))
    op.create_index("ix_device_held_by_job", "device", ["held_by_job"])


def downgrade() -> None:
    op.drop_index("ix_device_held_by_job", table_name="device")
    with op.batch_alter_table("device") as batch:
        batch.drop_column("held_by_job")

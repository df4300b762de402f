"""sign-in throttle: failed /ui sign-ins counted per account and per client address

Revision ID: 0025_sign_in_throttle
Revises: 0021_read_counter
Create Date: 2026-12-06 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.timeutil import UtcDateTime

revision: str = "0025_sign_in_throttle"
down_revision: str | None = "0021_read_counter"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttle",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("window_start", UtcDateTime(), nullable=False),
        sa.Column("last_failure", UtcDateTime(), nullable=False),
        sa.Column("locked_until", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("key", name="uq_sign_in_throttle_key"),
    )
    op.create_index("ix_sign_in_throttle_last_failure", "sign_in_throttle", ["last_failure"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_throttle_last_failure", table_name="sign_in_throttle")
    op.drop_table("sign_in_throttle")

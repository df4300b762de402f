"""rma: index replacement_serial (GET /rmas?serial= matches failed or replacement serial)

Without it the serial filter scans every RMA: 3 req/s at 1,000,000 RMAs (bench/load_million.py).

Revision ID: 0020_rma_replacement_serial
Revises: 0019_portal (the brief names no revision; the lead re-chains)
Create Date: 2026-12-06 10:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020_rma_replacement_serial"
down_revision: str | None = "0019_portal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_rma_replacement_serial", "rma", ["replacement_serial"])


def downgrade() -> None:
    op.drop_index("ix_rma_replacement_serial", "rma")

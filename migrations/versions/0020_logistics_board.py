"""logistics board: RMA indexes for the board's paging and search

The status and due-date index gains the id, so a page of a state's RMAs is ordered and cut from
the index alone (the rows of that page only are read); the search gets the replacement serial,
the customer and the failed unit.

Revision ID: 0020_logistics_board
Revises: 0019_portal
Create Date: 2026-12-06 09:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020_logistics_board"
down_revision: str | None = "0019_portal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_rma_status_due_date", table_name="rma")
    op.create_index("ix_rma_status_due_date_id", "rma", ["status", "due_date", "id"])
    op.create_index("ix_rma_replacement_serial", "rma", ["replacement_serial"])
    op.create_index("ix_rma_customer_id", "rma", ["customer", "id"])
    op.create_index("ix_rma_failed_device_id", "rma", ["failed_device_id"])


def downgrade() -> None:
    op.drop_index("ix_rma_failed_device_id", table_name="rma")
    op.drop_index("ix_rma_customer_id", table_name="rma")
    op.drop_index("ix_rma_replacement_serial", table_name="rma")
    op.drop_index("ix_rma_status_due_date_id", table_name="rma")
    op.create_index("ix_rma_status_due_date", "rma", ["status", "due_date"])

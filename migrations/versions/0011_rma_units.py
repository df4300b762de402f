"""RMA units in possible places: holds, the swap claim, reminder outcomes, serial mismatches

Revision ID: 0010_rma_units
Revises: 0010_token_name_lower
Create Date: 2026-12-06 06:20:00

`device.held_by` names the RMA that holds a unit (no hand moves meanwhile); `rma.swap_claimed_at`
is the committed claim of the one request that calls the dashboard swap; a reminder records its
outcome (sent, sent_late, missed, cancelled); every wrong-serial receipt stays in
`rma_serial_mismatch`. Existing rows are brought to the new rules: a shipped, not yet swapped
replacement is `in_transit`; units of open RMAs are held; sent reminders say so.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.timeutil

revision: str = "0010_rma_units"
down_revision: str | None = "0010_token_name_lower"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_SWAPPED_YET = "'shipped', 'pickup_requested', 'overdue', 'exception', 'charged', 'waived'"
_ENDED = "'closed', 'resolved_remotely'"


def upgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("held_by", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
    with op.batch_alter_table("rma", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("swap_claimed_at", core.timeutil.UtcDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("rma_reminder", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True)
        )
        batch_op.add_column(
            sa.Column("outcome_at", core.timeutil.UtcDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "rma_serial_mismatch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rma_id", sa.Integer(), nullable=False),
        sa.Column("expected_serial", sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
        sa.Column("received_serial", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("received_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("received_at", core.timeutil.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rma_id"], ["rma.id"], name=op.f("fk_rma_serial_mismatch_rma_id_rma")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rma_serial_mismatch")),
    )
    with op.batch_alter_table("rma_serial_mismatch", schema=None) as batch_op:
        batch_op.create_index("ix_rma_serial_mismatch_rma_id", ["rma_id"], unique=False)

    # Existing rows, to the new rules.
    op.execute(
        "UPDATE rma_reminder SET outcome = 'sent', outcome_at = sent_at WHERE sent_at IS NOT NULL"
    )
    op.execute(
        "INSERT INTO rma_serial_mismatch (rma_id, expected_serial, received_serial, received_by,"
        " received_at) SELECT id, failed_serial, mismatch_serial, 'migration', updated_at FROM rma"
        " WHERE mismatch_serial IS NOT NULL"
    )
    op.execute(
        "UPDATE device SET status = 'in_transit' WHERE status = 'reserved' AND id IN ("
        f"SELECT replacement_device_id FROM rma WHERE status IN ({_NOT_SWAPPED_YET})"
        " AND swapped_at IS NULL AND replacement_device_id IS NOT NULL)"
    )
    rma_number = (
        "'RMA-' || substr('000000' || CAST(rma.id AS VARCHAR(12)), "
        "length('000000' || CAST(rma.id AS VARCHAR(12))) - 5, 6)"
    )
    op.execute(
        f"UPDATE device SET held_by = (SELECT {rma_number} FROM rma WHERE rma.failed_device_id ="
        f" device.id AND rma.status NOT IN ({_ENDED}) ORDER BY rma.id DESC LIMIT 1)"
        " WHERE held_by IS NULL"
    )
    op.execute(
        f"UPDATE device SET held_by = (SELECT {rma_number} FROM rma WHERE"
        " rma.replacement_device_id = device.id AND rma.swapped_at IS NULL AND rma.status NOT IN"
        f" ({_ENDED}) ORDER BY rma.id DESC LIMIT 1) WHERE held_by IS NULL"
    )


def downgrade() -> None:
    op.execute("UPDATE device SET status = 'reserved' WHERE status = 'in_transit'")
    with op.batch_alter_table("rma_serial_mismatch", schema=None) as batch_op:
        batch_op.drop_index("ix_rma_serial_mismatch_rma_id")
    op.drop_table("rma_serial_mismatch")
    with op.batch_alter_table("rma_reminder", schema=None) as batch_op:
        batch_op.drop_column("outcome_at")
        batch_op.drop_column("outcome")
    with op.batch_alter_table("rma", schema=None) as batch_op:
        batch_op.drop_column("swap_claimed_at")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_column("held_by")

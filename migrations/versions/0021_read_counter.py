"""read counter: one row that moves whenever a table the hot device read depends on changes

On PostgreSQL, deferred constraint triggers on device, ownership_event and api_token add one to
`read_counter.value` once per committing transaction that changed them (at commit, so the row's
lock is the last one the transaction takes and is held only while it commits: no deadlock with
the writers' own row locks). The hot read reads the counter in the same statement as its rows, so
a value derived from rows read at counter N is still what the database holds while the counter
reads N (`api.read_path.VersionMemo`). SQLite has the table (the models match) and no triggers: its
memo watches `PRAGMA data_version` instead.

Revision ID: 0021_read_counter
Revises: 0020_logistics_board
Create Date: 2026-12-06 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_read_counter"
down_revision: str | None = "0020_logistics_board"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("device", "ownership_event", "api_token")


def upgrade() -> None:
    counter = op.create_table(
        "read_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(counter, [{"id": 1, "value": 0}])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION netkeep_read_counter_bump() RETURNS trigger AS $$ "
        "BEGIN "
        "IF current_setting('netkeep.read_counter_bumped', true) "
        "IS DISTINCT FROM txid_current()::text THEN "
        "PERFORM set_config('netkeep.read_counter_bumped', txid_current()::text, true); "
        "UPDATE read_counter SET value = value + 1 WHERE id = 1; "
        "END IF; "
        "RETURN NULL; "
        "END; $$ LANGUAGE plpgsql"
    )
    for table in TABLES:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_read_counter "
            f"AFTER INSERT OR UPDATE OR DELETE ON {table} DEFERRABLE INITIALLY DEFERRED "
            "FOR EACH ROW EXECUTE FUNCTION netkeep_read_counter_bump()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_read_counter_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION netkeep_read_counter_bump()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_read_counter_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_read_counter ON {table}")
        op.execute("DROP FUNCTION IF EXISTS netkeep_read_counter_bump()")
    op.drop_table("read_counter")

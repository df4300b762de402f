"""the worker engine's tables (procrastinate) on PostgreSQL

Revision ID: 0010_jobs
Revises: 0010_rma_units
Create Date: 2026-12-06 06:10:00

On PostgreSQL the recurring and background jobs run on procrastinate, which keeps its queue in
its own `procrastinate_*` tables, types and functions beside netkeep's (none of netkeep's tables
carries that prefix). This revision applies the full schema SQL shipped by the pinned
procrastinate (3.10.x, pyproject); moving to a later procrastinate means a new revision running
the migration files it ships for the versions in between. SQLite needs nothing: there the jobs
run in the `netkeep serve` process.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010_jobs"
down_revision: str | None = "0010_rma_units"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROP = """
DO $$
DECLARE item record;
BEGIN
  FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
  LOOP
    EXECUTE 'DROP FUNCTION IF EXISTS ' || item.signature || ' CASCADE';
  END LOOP;
END $$;
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,
  procrastinate_workers CASCADE;
DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type,
  procrastinate_job_status CASCADE;
"""


def _driver_execute(sql: str) -> None:
    """Run SQL text as it is (no bind parameters: the schema has `%` and `:` in it)."""
    connection = op.get_bind()
    connection.connection.driver_connection.execute(sql)  # type: ignore[union-attr]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    _driver_execute(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _driver_execute(_DROP)

"""The Alembic migrations build exactly the schema the models describe."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from core.db import metadata
from core.migrate import netkeep_owns


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": netkeep_owns}
        )
        diff = compare_metadata(context, metadata())
    assert diff == []


def test_audit_log_and_ledger_are_append_only(engine: Engine) -> None:
    seed = [
        "INSERT INTO audit_log (at, actor, role, action, entity_type, entity_id, outcome)"
        " VALUES (CURRENT_TIMESTAMP, 't', 'admin', 'x', 'x', 'x', 'ok')",
        "INSERT INTO device (serial, model, status, notes, created_at, updated_at)"
        " VALUES ('Q2FY-TRIG-0001', 'MX67', 'in_stock', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        "INSERT INTO ownership_event (device_id, serial, owner_kind, owner_name, reason,"
        " effective_at, recorded_at, actor) SELECT id, serial, 'provider', 'p', 'import',"
        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 't' FROM device WHERE serial = 'Q2FY-TRIG-0001'",
    ]
    for table in ("audit_log", "ownership_event"):
        for statement in (f"UPDATE {table} SET actor = 'someone else'", f"DELETE FROM {table}"):
            with engine.connect() as connection:
                transaction = connection.begin()
                for insert in seed:
                    connection.execute(text(insert))
                with pytest.raises(DBAPIError, match="append-only"):
                    connection.execute(text(statement))
                transaction.rollback()

"""The API's hot-read connections: reused, kept across a 404, replaced when the server drops one."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from api.deps import ReadPath
from core.db import make_engine
from core.errors import NotFound


def backend_id(connection: Connection) -> object:
    if connection.dialect.name == "postgresql":
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return id(connection.connection.driver_connection)


def test_reads_reuse_one_connection_even_after_a_domain_error(engine: Engine) -> None:
    path = ReadPath(engine)
    first = path.run(backend_id)

    def missing(connection: Connection) -> None:
        raise NotFound("no such device")

    with pytest.raises(NotFound):
        path.run(missing)
    assert path.run(backend_id) == first
    assert path.run(lambda c: c.execute(text("SELECT 1")).scalar_one()) == 1


def test_a_dropped_postgresql_connection_is_replaced_transparently(pg_schema_url: str) -> None:
    engine = make_engine(pg_schema_url)
    path = ReadPath(engine)
    doomed = path.run(backend_id)
    with engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": doomed})
        admin.commit()
    fresh = path.run(backend_id)
    assert fresh != doomed
    engine.dispose()

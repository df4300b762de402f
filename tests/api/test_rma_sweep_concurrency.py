"""Concurrent `POST /api/v1/rmas/sweep` on a real SQLite file and on PostgreSQL.

Each overdue RMA is charged exactly once; every other sweep answers normally with nothing
charged (or 409 while a sweep runs) — never a 5xx.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.app import create_app
from core import auth
from core.auth import Role
from core.calendar import tokyo_date
from core.models import AuditEntry
from core.settings import Settings
from core.timeutil import utcnow
from rma.models import DamageChargeRecord, Rma
from tests.conftest import ADMIN, bearer
from tests.service.test_rma_concurrency import committed  # noqa: F401 (the fixture)

# `make reliability` races 50 on PostgreSQL (NETKEEP_RELIABILITY_CLIENTS); `make test` 12. SQLite
# stays at 12: 50 sweeps queued on its one writer outwait the 10 s busy bound (503, retry).
CLIENTS = int(os.environ.get("NETKEEP_RELIABILITY_CLIENTS", "12"))


def test_concurrent_sweep_requests_charge_each_overdue_rma_once(
    committed: Engine,  # noqa: F811
) -> None:
    race_sweeps(committed, CLIENTS if committed.dialect.name == "postgresql" else 12)


def race_sweeps(engine: Engine, clients: int) -> dict[str, Any]:
    """`clients` sweeps raced and the rule checked; the figures of the race (also the
    reliability suite's, tests/reliability/test_concurrency.py)."""
    with Session(engine) as session:
        token = auth.create_token(
            session=session, actor=ADMIN, name="sweeper", role=Role.LOGISTICS
        ).token
        session.commit()
        overdue = session.exec(
            select(func.count()).where(col(Rma.due_date) < tokyo_date(utcnow()))
        ).one()
    assert overdue > 0
    settings = Settings(database_url=str(engine.url), _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, engine)
    barrier = threading.Barrier(clients)
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()
    with TestClient(app, raise_server_exceptions=False) as client:

        def one() -> None:
            barrier.wait(timeout=60)
            response = client.post("/api/v1/rmas/sweep", headers=bearer(token))
            with lock:
                answers.append((response.status_code, response.json()))

        threads = [threading.Thread(target=one) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
    statuses = sorted(status for status, _ in answers)
    assert len(answers) == clients
    assert set(statuses) <= {200, 409}, answers
    charged = [n for status, body in answers if status == 200 for n in body["charged"]]
    assert len(charged) == len(set(charged)) == overdue
    with Session(engine) as session:
        charges = session.exec(select(DamageChargeRecord)).all()
        assert len(charges) == len({c.rma_id for c in charges}) == overdue
        audited = session.exec(select(func.count()).where(AuditEntry.action == "rma.charged")).one()
        assert audited == overdue
    return {
        "answers": {str(s): statuses.count(s) for s in sorted(set(statuses))},
        "overdue": overdue,
        "charged": len(charges),
    }

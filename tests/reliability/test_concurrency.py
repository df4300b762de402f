"""Concurrency on PostgreSQL: the same change request approved by many NOC calls at once.

Rule: a validated change request is approved once — exactly one 200, every other call a 409
(already approved), never a 5xx (no deadlock or lost update surfacing as a 500), one `approved`
event and one audit entry. 20 racing calls in the short form, 50 in the full one. The RMA swaps
and sweeps races of tests/api/test_rma_swap_race.py and test_rma_sweep_concurrency.py run here
too on PostgreSQL at the suite's scale (their figures in its table); racing resumes of a
crashed rollout are test_resume_race.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from api.app import create_app
from changes.models import ChangeRequestEvent
from core import auth
from core.auth import Role
from core.models import AuditEntry
from core.settings import Settings
from tests.api.test_rma_swap_race import race_swaps
from tests.api.test_rma_sweep_concurrency import race_sweeps
from tests.conftest import ADMIN, bearer
from tests.service.test_rma_concurrency import committed  # noqa: F401 (the fixture)
from tests.service.test_workers import own_schema  # noqa: F401 (the fixture)
from tests.unit.changes.builders import ENV, as_bytes, build_contracts, change_raw

pytestmark = pytest.mark.postgres
API = "/api/v1/change-requests"


def test_racing_approvals_of_one_change_request_approve_it_once(
    own_schema: tuple[str, Engine],  # noqa: F811
    full: bool,
    monkeypatch: pytest.MonkeyPatch,
    figure: Callable[[str, Any], None],
) -> None:
    clients = 50 if full else 20
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    url, engine = own_schema
    with Session(engine) as session:
        build_contracts(session)
        made = {
            role: auth.create_token(session=session, actor=ADMIN, name=f"c-{role}", role=role)
            for role in (Role.FIELD, Role.NOC)
        }
        session.commit()
        field, noc = made[Role.FIELD].token, made[Role.NOC].token
    settings = Settings(database_url=url, _env_file=None)
    app = create_app(settings, engine)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()
    with TestClient(app, raise_server_exceptions=False) as client:
        submitted = client.post(
            API,
            files={"file": ("cr.yaml", as_bytes(change_raw()), "application/x-yaml")},
            data={"notice_email": "soumu@sakura.example.jp"},
            headers=bearer(field),
        )
        assert submitted.status_code == 201 and submitted.json()["status"] == "validated"
        rid = submitted.json()["id"]
        barrier = threading.Barrier(clients)

        def one() -> None:
            barrier.wait(timeout=60)
            response = client.post(f"{API}/{rid}/approve", json={}, headers=bearer(noc))
            with lock:
                answers.append((response.status_code, response.text[:300]))

        threads = [threading.Thread(target=one) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=240)
    statuses = sorted(status for status, _ in answers)
    with Session(engine) as session:
        events = session.exec(
            select(func.count()).where(
                ChangeRequestEvent.request_id == rid, ChangeRequestEvent.action == "approved"
            )
        ).one()
        audited = session.exec(
            select(func.count()).where(col(AuditEntry.action).contains("approved"))
        ).one()
    figure("approvals_raced", clients)
    figure("answers", {str(s): statuses.count(s) for s in sorted(set(statuses))})
    figure("approved_events", events)
    assert len(answers) == clients
    assert [a for a in answers if a[0] >= 500] == []
    assert set(statuses) <= {200, 409}, answers
    assert statuses.count(200) == 1 and events == 1 and audited == 1, (statuses, events, audited)


def test_racing_swaps_of_one_rma_reach_the_dashboard_once(
    tmp_path: Path, full: bool, figure: Callable[[str, Any], None]
) -> None:
    """The rule of tests/api/test_rma_swap_race.py (one swap sent, one 200, the rest 409, no
    5xx) on PostgreSQL, 20 racing calls (50 in the full form) to the app in this process: the
    race against `netkeep serve --workers 4` is that test itself (reused by the full form, run
    by `make test`); a second set of four servers starting beside it outwaited its 120 s on a
    shared machine."""
    clients = 50 if full else 20
    got = race_swaps("postgresql", tmp_path, clients, serve=False)
    figure("swaps_raced", clients)
    figure("swap_answers", got["answers"])
    figure("bulk_swaps_sent", got["bulk_swaps_sent"])


@pytest.mark.parametrize("committed", ["postgresql"], indirect=True)
def test_racing_sweeps_charge_each_overdue_rma_once(
    committed: Engine,  # noqa: F811
    full: bool,
    figure: Callable[[str, Any], None],
) -> None:
    """The rule of tests/api/test_rma_sweep_concurrency.py (each overdue RMA charged once, no
    5xx) on PostgreSQL, 20 racing sweeps (50 in full)."""
    clients = 50 if full else 20
    got = race_sweeps(committed, clients)
    figure("sweeps_raced", clients)
    figure("sweep_answers", got["answers"])
    figure("overdue_charged", f"{got['charged']}/{got['overdue']}")

"""Webhook alerts stored in batches (monitoring.ingest): the rules of one-by-one still hold.

Stated from issue 11: an accepted alert (a 2xx) is stored; a replayed `alertId` is refused with
409 and stored once, whether it was stored before or arrives twice at once; a down alert opens
the device's outage; every stored alert is audited; the shared secret is never kept. Batching
must not change any of it, and one bad alert in a batch fails alone.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from core.audit import SYSTEM
from core.errors import Conflict
from core.models import AuditEntry
from monitoring.ingest import AlertWriter, Received, store_alerts
from monitoring.models import MonitorAlert, Outage
from tests.service.test_monitoring_webhook import SECRET, Receiver, receiver
from tests.service.test_rollout_orgs_side_by_side import own_engine

__all__ = ["own_engine", "receiver"]  # fixtures

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
MX = "Q2FY-AAAA-0001"


def body(alert_id: str, alert_type: str = "Settings changed", **extra: Any) -> dict[str, Any]:
    return {
        "sharedSecret": SECRET,
        "sentAt": NOW.isoformat(),
        "alertId": alert_id,
        "alertType": alert_type,
        "networkId": "N_demo_tokyo",
        "organizationId": "537758",
        **extra,
    }


def test_a_batch_refuses_replays_follows_outages_and_audits_each(session: Session) -> None:
    session.add(
        MonitorAlert(
            alert_id="old-1",
            alert_type="Settings changed",
            kind="settings",
            sent_at=NOW,
            received_at=NOW,
            payload={},
        )
    )
    session.flush()
    items = [
        (body("new-1"), NOW),
        (body("twice"), NOW),
        (body("twice"), NOW),
        (body("old-1"), NOW),
        (body("down-1", "Appliance went down", deviceSerial=MX), NOW),
    ]
    results = store_alerts(session=session, items=items, actor=SYSTEM)
    assert [type(r) for r in results] == [Received, Received, Conflict, Conflict, Received]
    assert [r.alert_id for r in results if isinstance(r, Received)] == ["new-1", "twice", "down-1"]
    down = results[4]
    assert isinstance(down, Received) and down.kind == "down" and down.outage_id is not None
    outage = session.get(Outage, down.outage_id)
    assert outage is not None and (outage.serial, outage.source) == (MX, "webhook")
    stored = session.exec(select(MonitorAlert.alert_id).order_by(col(MonitorAlert.alert_id))).all()
    assert stored == ["down-1", "new-1", "old-1", "twice"]
    audited = session.exec(
        select(AuditEntry.entity_id).where(AuditEntry.action == "alert.receive")
    ).all()
    assert sorted(audited) == ["down-1", "new-1", "twice"]
    for alert in session.exec(select(MonitorAlert)):
        assert "sharedSecret" not in alert.payload and SECRET not in str(alert.payload)
    for entry in session.exec(select(AuditEntry)):
        assert SECRET not in str(entry.after)


def factory_of(engine: Engine) -> Callable[[], AbstractContextManager[Session]]:
    return lambda: Session(engine, expire_on_commit=False)


def count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(MonitorAlert)).one()


def test_alerts_waiting_are_stored_in_one_transaction_each_answered_after_it(
    own_engine: Engine,
) -> None:
    release = threading.Event()
    first = [True]

    @contextmanager
    def held_first() -> Iterator[Session]:
        if first[0]:  # the first batch waits until every other alert is queued behind it
            first[0] = False
            release.wait(10)
        with Session(own_engine, expire_on_commit=False) as session:
            yield session

    writer = AlertWriter(session_factory=lambda: held_first)
    futures = [writer.submit(body(f"a-{i}"), NOW) for i in range(300)]
    futures.append(writer.submit(body("a-7"), NOW))  # a replay of one still waiting
    assert not any(f.done() for f in futures)  # nothing answered before its commit
    release.set()
    results = [f.exception(10) or f.result() for f in futures]
    assert all(isinstance(r, Received) for r in results[:300])
    assert isinstance(results[300], Conflict)
    assert writer.batches == 2  # the first alert alone, then the 300 that waited
    assert count(own_engine) == 300


def test_a_bad_alert_in_a_batch_fails_alone(own_engine: Engine) -> None:
    release = threading.Event()
    first = [True]

    @contextmanager
    def held_first() -> Iterator[Session]:
        if first[0]:
            first[0] = False
            release.wait(10)
        with Session(own_engine, expire_on_commit=False) as session:
            yield session

    writer = AlertWriter(session_factory=lambda: held_first)
    lead = writer.submit(body("lead"), NOW)
    broken = body("broken")
    del broken["alertType"]  # not a checked alert: its batch's transaction fails
    futures = [writer.submit(body("b-1"), NOW), writer.submit(broken, NOW)]
    futures.append(writer.submit(body("b-2"), NOW))
    release.set()
    assert lead.result(10).alert_id == "lead"
    assert futures[0].result(10).alert_id == "b-1"
    assert isinstance(futures[1].exception(10), KeyError)
    assert futures[2].result(10).alert_id == "b-2"
    assert count(own_engine) == 3


def test_concurrent_webhooks_over_http_each_answered_and_stored_once(
    receiver: Receiver, session: Session
) -> None:
    run = uuid.uuid4().hex[:6]
    sent_at = datetime.now(UTC).isoformat()

    def payload(alert_id: str) -> dict[str, Any]:
        return body(alert_id) | {"sentAt": sent_at}

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            posts = [client.post(receiver.url, json=payload(f"{run}-{i}")) for i in range(60)]
            posts += [client.post(receiver.url, json=payload(f"{run}-dup")) for _ in range(8)]
            return await asyncio.gather(*posts)

    answers = asyncio.run(fire())
    assert [a.status_code for a in answers[:60]] == [202] * 60
    assert sorted(a.status_code for a in answers[60:]) == [202] + [409] * 7
    assert answers[0].json() == {"received": f"{run}-0", "kind": "settings", "outage_id": None}
    stored = session.exec(
        select(func.count())
        .select_from(MonitorAlert)
        .where(col(MonitorAlert.alert_id).startswith(run))
    ).one()
    assert stored == 61


@pytest.fixture(autouse=True)
def _quiet_refusals(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("ERROR", logger="monitoring.alerts")

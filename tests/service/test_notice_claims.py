"""Two senders delivering failure notices at once never send one notice twice; a sender that
crashed after claiming a notice holds it only until its lease ends, then it is sent.

On a real SQLite file and a PostgreSQL schema with committed rows (each sender its own
connection), and a real SMTP server (aiosmtpd) that is slow enough for the senders to overlap
and counts what it received.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from changes.mailer import SmtpMailer
from core import migrate
from core.audit import SYSTEM
from core.calendar import TOKYO
from core.db import make_engine
from inventory.catalogue_defaults import seed_catalogue
from monitoring.delivery import Delivered, claim, new_sender
from monitoring.jobs import deliver_failure_notices
from monitoring.models import FailureNotice
from monitoring.notices import MAIL, add_contact
from monitoring.outbound import HttpNoticePoster
from monitoring.service import open_outage
from tests.conftest import ADMIN, PG_URL
from tests.service.rma_builders import AP, FAILED, OLD, build_world
from tests.unit.changes.builders import free_port

CUSTOMER = "株式会社さくら商事"
ADDRESSES = [f"noc{i}@sakura.example" for i in range(4)]
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=TOKYO)  # Monday 10:00: inside every window
NOTICES = 3 * len(ADDRESSES)  # three devices down, each told to every contact


@dataclass
class Sink:
    """A loopback SMTP server taking 50 ms per message; counts (recipient, subject)."""

    host: str
    port: int
    received: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.05)
        import email
        from email.policy import default

        message = email.message_from_bytes(envelope.content, policy=default)
        with self.lock:
            self.received.append((str(message["To"]), str(message["Subject"])))
        return "250 OK"

    def mailer(self) -> SmtpMailer:
        return SmtpMailer(host=self.host, port=self.port, sender="noc@netkeep.example")


@pytest.fixture
def sink() -> Iterator[Sink]:
    box = Sink("127.0.0.1", free_port())
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh database: the rma world, four mail contacts, three outages (12 notices due)."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'claims.db'}"
    else:
        schema = f"nk_claim_{uuid.uuid4().hex[:10]}"
        dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            seed_catalogue(session=session, actor=ADMIN)
            build_world(session, tmp_path)
            for address in ADDRESSES:
                add_contact(
                    session=session,
                    actor=SYSTEM,
                    customer=CUSTOMER,
                    channel=MAIL,
                    address=address,
                    now=NOW,
                )
            for serial in (FAILED, OLD, AP):
                open_outage(
                    session=session,
                    serial=serial,
                    organization_id="537758",
                    network_id=None,
                    product_type="appliance",
                    status="offline",
                    started_at=NOW - timedelta(minutes=3),
                    source="poll",
                    actor=SYSTEM,
                    now=NOW,
                )
            session.commit()
        yield engine
    finally:
        engine.dispose()
        if schema is not None:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run_sender(engine: Engine, sink: Sink, now: datetime) -> Delivered:
    with Session(engine, expire_on_commit=False) as session:
        return deliver_failure_notices(
            session=session,
            mailer=sink.mailer(),
            poster=HttpNoticePoster(timeout=5),
            secrets=lambda customer, name: None,
            now=now,
        )


def test_two_senders_at_once_send_each_notice_once(committed: Engine, sink: Sink) -> None:
    barrier = threading.Barrier(2)
    results: list[Delivered] = []
    failures: list[BaseException] = []

    def sender() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(run_sender(committed, sink, NOW))
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert len(sink.received) == NOTICES
    assert max(Counter(sink.received).values()) == 1  # nobody got one notice twice
    sent = [n for r in results for n in r.sent]
    assert len(sent) == len(set(sent)) == NOTICES
    assert all(r.retrying == [] for r in results)
    with Session(committed) as session:
        rows = session.exec(select(FailureNotice)).all()
        assert len(rows) == NOTICES
        assert {(n.attempts, n.sent_at is not None, n.claimed_by) for n in rows} == {
            (1, True, None)
        }


def test_a_crashed_senders_claim_lapses_and_the_notice_is_sent(
    committed: Engine, sink: Sink
) -> None:
    with Session(committed) as session:
        first = session.exec(select(FailureNotice.id).order_by(col(FailureNotice.id))).first()
        assert first is not None
        assert claim(session=session, notice_id=first, sender=new_sender(), now=NOW)
        session.commit()  # ... and the sender died before sending
    soon = run_sender(committed, sink, NOW + timedelta(minutes=1))
    assert first not in soon.sent + soon.retrying  # held: not even due for this sender
    assert len(soon.sent) == NOTICES - 1
    later = run_sender(committed, sink, NOW + timedelta(minutes=5))  # the 5-minute lease ended
    assert later.sent == [first]
    assert len(sink.received) == NOTICES
    assert max(Counter(sink.received).values()) == 1

"""Failure notices: queued for the service's window, sent by SMTP (aiosmtpd) and by a signed
webhook to a local HTTP receiver that checks the signature itself, retried with backoff.

Rules from issue 11: UTM/router Mon–Sat 9–17, wireless Mon–Fri 9–17, no holidays or year-end
days; outside the window the notice waits for the next opening (both times recorded); the mail
is Japanese with the serial, the site and since when; a failed delivery is retried, never lost.
The signature: HMAC-SHA256 with the customer's secret over "<unix time>." + the raw body, sent
as `X-Netkeep-Signature: t=<unix time>,v1=<hex>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session, select

from changes.mailer import SmtpMailer
from core import secret_store
from core.audit import SYSTEM
from core.calendar import TOKYO, BusinessCalendar
from monitoring.jobs import deliver_failure_notices
from monitoring.models import FailureNotice, Outage
from monitoring.notices import MAIL, WEBHOOK, add_contact
from monitoring.outbound import HttpNoticePoster
from monitoring.service import open_outage
from tests.service.rma_builders import AP, FAILED, build_world
from tests.unit.changes.builders import (
    Inbox,
    smtp_inbox_fixture,  # noqa: F401  (the smtp_inbox fixture)
)

CUSTOMER = "株式会社さくら商事"
HOOK_SECRET = "whsec_5f1c7e0a9b"
CIPHER = Fernet(Fernet.generate_key())


@dataclass
class Hook:
    """A customer's webhook endpoint on loopback; answers the queued statuses, then 200."""

    url: str = ""
    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers.items()), raw))
            self.send_response(state.answers.pop(0) if state.answers else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/netkeep-notices"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()


def valid_signature(headers: dict[str, str], raw: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in headers["X-Netkeep-Signature"].split(","))
    expected = hmac.new(
        HOOK_SECRET.encode(), parts["t"].encode() + b"." + raw, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(parts["v1"], expected)


def jst(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TOKYO)


def setup(session: Session, tmp_path: Path, hook: Hook) -> None:
    build_world(session, tmp_path)
    now = jst(2026, 12, 1, 9)
    add_contact(
        session=session,
        actor=SYSTEM,
        customer=CUSTOMER,
        channel=MAIL,
        address="it@sakura.example",
        now=now,
    )
    add_contact(
        session=session,
        actor=SYSTEM,
        customer=CUSTOMER,
        channel=WEBHOOK,
        address=hook.url,
        secret_name="notice-hook",
        now=now,
    )
    secret_store.set_secret(
        session=session,
        actor=SYSTEM,
        cipher=CIPHER,
        customer=CUSTOMER,
        name="notice-hook",
        value=HOOK_SECRET,
        now=now,
    )


def outage(
    session: Session, serial: str, product: str, started: datetime, detected: datetime
) -> Outage:
    return open_outage(
        session=session,
        serial=serial,
        organization_id="537758",
        network_id="N_demo_tokyo",
        product_type=product,
        status="offline",
        started_at=started,
        source="poll",
        actor=SYSTEM,
        now=detected,
        calendar=BusinessCalendar(),
    )


def deliver(session: Session, inbox: Inbox, now: datetime) -> tuple[list[int], list[int]]:
    done = deliver_failure_notices(
        session=session,
        mailer=SmtpMailer(host=inbox.host, port=inbox.port, sender="noc@netkeep.example"),
        poster=HttpNoticePoster(timeout=5),
        secrets=lambda customer, name: secret_store.reveal(
            session=session, cipher=CIPHER, customer=customer, name=name
        ),
        now=now,
    )
    return done.sent, done.retrying


def test_a_sunday_failure_is_told_on_monday_morning_by_mail_and_signed_webhook(
    session: Session, tmp_path: Path, hook: Hook, smtp_inbox: Inbox
) -> None:
    setup(session, tmp_path, hook)
    sunday = jst(2026, 12, 13, 11, 0)
    down = outage(session, FAILED, "appliance", sunday - timedelta(minutes=2), sunday)
    notices = session.exec(select(FailureNotice).where(FailureNotice.outage_id == down.id)).all()
    assert {(n.channel, n.detected_at, n.due_at) for n in notices} == {
        ("mail", sunday, jst(2026, 12, 14, 9)),
        ("webhook", sunday, jst(2026, 12, 14, 9)),
    }
    assert deliver(session, smtp_inbox, jst(2026, 12, 13, 16)) == ([], [])
    assert smtp_inbox.messages() == [] and hook.received == []
    sent, retrying = deliver(session, smtp_inbox, jst(2026, 12, 14, 9))
    assert len(sent) == 2 and retrying == []
    [mail] = smtp_inbox.messages()
    assert mail["To"] == "it@sakura.example"
    assert mail["Subject"] == f"【障害通知】本社 {FAILED} 応答なし"
    assert isinstance(mail, EmailMessage)  # parsed with the default policy
    text = mail.get_content()
    assert FAILED in text and "設置場所: 本社" in text
    assert "発生時刻: 2026-12-13 10:58 JST から" in text
    [(headers, raw)] = hook.received
    assert valid_signature(headers, raw)
    assert json.loads(raw)["serial"] == FAILED
    tampered = raw.replace(FAILED.encode(), b"Q2FY-XXXX-0001")
    assert not valid_signature(headers, tampered)
    assert deliver(session, smtp_inbox, jst(2026, 12, 14, 10)) == ([], [])  # each once


def test_a_wireless_failure_on_saturday_waits_for_monday_and_a_refusal_is_retried(
    session: Session, tmp_path: Path, hook: Hook, smtp_inbox: Inbox
) -> None:
    setup(session, tmp_path, hook)
    saturday = jst(2026, 12, 12, 10, 0)
    down = outage(session, AP, "wireless", saturday, saturday)
    webhook = session.exec(
        select(FailureNotice).where(
            FailureNotice.outage_id == down.id, FailureNotice.channel == "webhook"
        )
    ).one()
    assert webhook.due_at == jst(2026, 12, 14, 9)
    hook.answers = [500, 503]
    monday = jst(2026, 12, 14, 9)
    sent, retrying = deliver(session, smtp_inbox, monday)
    assert retrying == [webhook.id] and len(sent) == 1  # the mail went, the webhook did not
    session.refresh(webhook)
    assert (webhook.attempts, webhook.next_attempt_at) == (1, monday + timedelta(minutes=1))
    assert webhook.last_error and "500" in webhook.last_error
    assert deliver(session, smtp_inbox, monday + timedelta(seconds=30)) == ([], [])
    assert deliver(session, smtp_inbox, monday + timedelta(minutes=1)) == ([], [webhook.id])
    session.refresh(webhook)
    assert webhook.next_attempt_at == monday + timedelta(minutes=3)  # 1 + 2 minutes
    assert deliver(session, smtp_inbox, monday + timedelta(minutes=3)) == ([webhook.id], [])
    session.refresh(webhook)
    assert (webhook.attempts, webhook.sent_at) == (3, monday + timedelta(minutes=3))
    assert len(hook.received) == 3 and all(valid_signature(h, r) for h, r in hook.received)


def test_the_recovery_is_told_by_mail_and_signed_webhook_after_the_failure(
    session: Session, tmp_path: Path, hook: Hook, smtp_inbox: Inbox
) -> None:
    from monitoring.service import close_outage

    setup(session, tmp_path, hook)
    monday = jst(2026, 12, 14, 10, 0)
    down = outage(session, FAILED, "appliance", monday - timedelta(minutes=2), monday)
    assert down.id is not None
    assert len(deliver(session, smtp_inbox, monday)[0]) == 2
    back = jst(2026, 12, 14, 11, 30)
    close_outage(session=session, outage_id=down.id, ended_at=back, actor=SYSTEM, now=back)
    sent, retrying = deliver(session, smtp_inbox, back)
    assert len(sent) == 2 and retrying == []
    failure, recovery = smtp_inbox.messages()
    assert failure["Subject"] == f"【障害通知】本社 {FAILED} 応答なし"
    assert recovery["Subject"] == f"【復旧通知】本社 {FAILED} 応答復旧"
    assert isinstance(recovery, EmailMessage)
    assert "復旧時刻: 2026-12-14 11:30 JST" in recovery.get_content()
    events = [json.loads(raw)["event"] for _, raw in hook.received]
    assert events == ["outage.opened", "outage.closed"]
    assert all(valid_signature(h, r) for h, r in hook.received)
    assert datetime.fromisoformat(json.loads(hook.received[1][1])["ended_at"]) == back

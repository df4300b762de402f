"""/api/v1/contacts: where failure notices go (noc and admin only), in the API's dialect.

Rules (issue 11 follow-up): a webhook contact carries its HMAC signing secret, stored encrypted
and never echoed back (masked in every answer, absent from the audit); one error shape; lists
are `{total, limit, offset, items}` pages; every change audited; a removed contact gets no
more notices. The secret that was stored signs the notices (checked by recomputing the HMAC).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from core.audit import SYSTEM
from core.calendar import TOKYO
from core.models import AuditEntry
from core.settings import Settings
from monitoring.models import FailureNotice
from monitoring.service import open_outage
from tests.api.test_dialect import assert_error
from tests.conftest import bearer
from tests.service.rma_builders import FAILED, build_world

CUSTOMER = "株式会社さくら商事"
SIGNING = "whsec_Zq8x3p0L7mN2vB5k"
HOOK = "https://hooks.sakura.example/netkeep"


def test_contacts_are_added_listed_and_removed_with_the_secret_never_shown(
    app_client: TestClient,
    session: Session,
    tokens: dict[str, str],
    settings: Settings,
    tmp_path: Path,
) -> None:
    build_world(session, tmp_path)
    noc, viewer = bearer(tokens["noc"]), bearer(tokens["viewer"])
    mail = app_client.post(
        "/api/v1/contacts",
        json={"customer": CUSTOMER, "channel": "mail", "address": "it@sakura.example"},
        headers=noc,
    )
    assert mail.status_code == 201, mail.text
    assert (mail.json()["secret"], mail.json()["secret_name"]) == (None, None)
    hook = app_client.post(
        "/api/v1/contacts",
        json={"customer": CUSTOMER, "channel": "webhook", "address": HOOK, "secret": SIGNING},
        headers=noc,
    )
    assert hook.status_code == 201, hook.text
    assert hook.json()["secret"] == "********"
    assert SIGNING not in hook.text
    hook_id = hook.json()["id"]
    page = app_client.get(f"/api/v1/contacts?customer={CUSTOMER}&limit=1", headers=noc)
    assert page.status_code == 200
    body = page.json()
    assert set(body) == {"total", "limit", "offset", "items"}
    assert (body["total"], body["limit"], body["offset"], len(body["items"])) == (2, 1, 0, 1)
    second = app_client.get("/api/v1/contacts?limit=1&offset=1", headers=noc).json()["items"]
    assert [c["address"] for c in second] == [HOOK]
    assert SIGNING not in app_client.get(f"/api/v1/contacts/{hook_id}", headers=noc).text
    # Addresses of customers: not for every role.
    assert app_client.get("/api/v1/contacts", headers=viewer).status_code == 403
    refused = app_client.post(
        "/api/v1/contacts",
        json={"customer": CUSTOMER, "channel": "mail", "address": "x@y.example"},
        headers=viewer,
    )
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    # The stored secret signs the notice (an outage inside the window, sent by the job).
    now = datetime(2026, 12, 7, 10, 0, tzinfo=TOKYO)
    outage = open_outage(
        session=session,
        serial=FAILED,
        organization_id="537758",
        network_id=None,
        product_type="appliance",
        status="offline",
        started_at=now - timedelta(minutes=2),
        source="poll",
        actor=SYSTEM,
        now=now,
    )
    from core import secret_store
    from core.keys import installation_key
    from monitoring.delivery import prepare
    from monitoring.notices import SecretLookup

    cipher = installation_key(settings).fernet()
    lookup: SecretLookup = lambda c, n: secret_store.reveal(  # noqa: E731
        session=session, cipher=cipher, customer=c, name=n
    )
    [webhook_notice] = session.exec(
        select(FailureNotice).where(
            FailureNotice.outage_id == outage.id, FailureNotice.channel == "webhook"
        )
    ).all()
    assert webhook_notice.id is not None
    ready = prepare(session=session, notice_id=webhook_notice.id, secrets=lookup, now=now)
    assert ready is not None and ready.problem is None and ready.to == HOOK
    sent = dict(p.split("=", 1) for p in ready.headers["X-Netkeep-Signature"].split(","))
    expected = hmac.new(SIGNING.encode(), sent["t"].encode() + b"." + ready.raw, hashlib.sha256)
    assert hmac.compare_digest(sent["v1"], expected.hexdigest())
    assert json.loads(ready.raw)["serial"] == FAILED
    # Removed: gone from the list, its secret deleted, no notice for the next outage.
    gone = app_client.delete(f"/api/v1/contacts/{hook_id}", headers=noc)
    assert gone.status_code == 204
    assert app_client.get(f"/api/v1/contacts/{hook_id}", headers=noc).status_code == 404
    assert [
        c["channel"] for c in app_client.get("/api/v1/contacts", headers=noc).json()["items"]
    ] == ["mail"]
    assert lookup(CUSTOMER, f"notice-webhook-{hook_id}") is None
    again = app_client.delete(f"/api/v1/contacts/{hook_id}", headers=noc)
    assert again.status_code == 404 and again.json()["error"] == "not_found"
    audit = session.exec(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "notice_contact")
        .order_by(col(AuditEntry.id))
    ).all()
    assert [a.action for a in audit] == [
        "notice_contact.add",
        "notice_contact.add",
        "notice_contact.remove",
    ]
    assert all(SIGNING not in json.dumps([a.before, a.after], default=str) for a in audit)
    assert {a.actor for a in audit} == {"t-noc"}


def test_bad_contacts_are_refused_in_the_one_error_shape(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    admin = bearer(tokens["admin"])
    cases = [
        ({"customer": CUSTOMER, "channel": "webhook", "address": HOOK}, "secret"),
        (
            {"customer": CUSTOMER, "channel": "webhook", "address": HOOK, "secret": "short"},
            "secret",
        ),
        ({"customer": CUSTOMER, "channel": "mail", "address": "no-at-sign"}, "address"),
        (
            {"customer": CUSTOMER, "channel": "webhook", "address": "ftp://x", "secret": SIGNING},
            "address",
        ),
        ({"customer": CUSTOMER, "channel": "fax", "address": "03-1234"}, "channel"),
    ]
    for body, where in cases:
        answer = app_client.post("/api/v1/contacts", json=body, headers=admin)
        assert answer.status_code == 422, (body, answer.text)
        error = answer.json()
        assert_error(error, "validation_failed")
        assert any(where in p["location"] for p in error["problems"]), error
        assert SIGNING not in answer.text
    first = app_client.post(
        "/api/v1/contacts",
        json={"customer": CUSTOMER, "channel": "mail", "address": "it@sakura.example"},
        headers=admin,
    )
    assert first.status_code == 201
    twice = app_client.post(
        "/api/v1/contacts",
        json={"customer": CUSTOMER, "channel": "mail", "address": "it@sakura.example"},
        headers=admin,
    )
    assert twice.status_code == 409 and twice.json()["error"] == "conflict"

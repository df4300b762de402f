"""Sign-in throttling, stated here (the README's promise): 5 failed sign-ins of one account in
15 minutes lock it for 5 minutes; while locked every attempt — even with the right password —
is answered 429 with `Retry-After` and a message in the reader's language; the lock ends after
its time; a known and an unknown name are answered alike; a successful sign-in forgets the
account's failures; 30 failures from one address lock the address whatever names were tried;
every failure, lock-out and refusal is in the audit trail, never the password; the count lives
in the database, so a second API process sees the first's."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

import web.app
from api.app import create_app
from core.models import AuditEntry
from core.settings import Settings
from core.timeutil import utcnow
from tests.conftest import SessionReadPath
from tests.web.conftest import LOGIN_TOKEN, SharedSession

K = 5  # failures of one account that lock it (default settings)
ADDRESS_K = 30
LOCKED_JA = (
    "サインインの失敗が続いたため、一時的にサインインできません。5 分後にもう一度お試しください。"
)
LOCKED_EN = "Too many failed sign-ins: signing in is paused. Please try again in 5 minutes."


def attempt(client: TestClient, name: str, password: str) -> Any:
    """One try through the login form, as a browser not signed in."""
    client.cookies.delete("netkeep_session")
    form = client.get("/ui/login")
    found = LOGIN_TOKEN.search(form.text)
    assert found, form.text
    return client.post(
        "/ui/login",
        data={"name": name, "password": password, "login_token": found.group(1)},
        follow_redirects=False,
    )


def alert(answer: Any) -> str:
    found = re.search(r'role="alert"[^>]*>([^<]*)<', answer.text)
    assert found, answer.text
    return found.group(1)


def audit_actions(session: Session, name: str) -> list[str]:
    rows = session.exec(
        select(AuditEntry)
        .where(AuditEntry.entity_id == name, col(AuditEntry.action).startswith("web_sign_in."))
        .order_by(col(AuditEntry.id))
    ).all()
    return [r.action for r in rows]


def test_k_failures_lock_the_account_even_against_the_right_password(
    web_app: Any, web_account: Callable[..., tuple[str, str]], session: Session
) -> None:
    name, password = web_account("noc")
    with TestClient(web_app) as client:
        for _ in range(K - 1):
            assert attempt(client, name, "wrong-password-1").status_code == 401
        locking = attempt(client, name, "wrong-password-1")
        assert locking.status_code == 429
        assert locking.headers["retry-after"] == "300"
        assert alert(locking) == LOCKED_JA
        refused = attempt(client, name, password)  # the (K+1)th, with the right password
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 300
        assert "netkeep_session" not in refused.headers.get("set-cookie", "")
        client.cookies.set("netkeep_lang", "en")
        assert alert(attempt(client, name, password)) == LOCKED_EN
    actions = audit_actions(session, name)
    assert actions == [
        *["web_sign_in.failed"] * K,
        "web_sign_in.lockout",
        "web_sign_in.refused",
        "web_sign_in.refused",
    ]
    trail = " ".join(
        str(r.after) for r in session.exec(select(AuditEntry)).all() if r.entity_id == name
    )
    assert password not in trail and "wrong-password-1" not in trail


def test_the_lock_ends_after_its_time_and_the_right_password_signs_in(
    web_app: Any,
    web_account: Callable[..., tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, password = web_account("field")
    with TestClient(web_app) as client:
        for _ in range(K):
            attempt(client, name, "wrong-password-1")
        start = utcnow()
        monkeypatch.setattr(web.app, "utcnow", lambda: start + timedelta(minutes=4, seconds=50))
        assert attempt(client, name, password).status_code == 429
        monkeypatch.setattr(web.app, "utcnow", lambda: start + timedelta(minutes=5, seconds=1))
        assert attempt(client, name, password).status_code == 303


def test_a_successful_sign_in_forgets_the_accounts_failures(
    web_app: Any, web_account: Callable[..., tuple[str, str]]
) -> None:
    name, password = web_account("logistics")
    with TestClient(web_app) as client:
        for _ in range(K - 1):
            assert attempt(client, name, "wrong-password-1").status_code == 401
        assert attempt(client, name, password).status_code == 303
        for _ in range(K - 1):  # a fresh count: K-1 more failures still do not lock
            assert attempt(client, name, "wrong-password-1").status_code == 401
        assert attempt(client, name, password).status_code == 303


def test_an_unknown_name_is_answered_as_a_known_one(
    web_app: Any, web_account: Callable[..., tuple[str, str]]
) -> None:
    known, _password = web_account("noc")
    answers: dict[str, list[tuple[int, str | None, str]]] = {}
    with TestClient(web_app) as client:
        for name in (known, "no-such-account-here"):
            answers[name] = [
                (a.status_code, a.headers.get("retry-after"), alert(a))
                for a in (attempt(client, name, "wrong-password-1") for _ in range(K + 1))
            ]
    assert answers[known] == answers["no-such-account-here"]
    assert [status for status, _, _ in answers[known]] == [401] * (K - 1) + [429, 429]


def test_failures_from_one_address_lock_it_whatever_names_are_tried(
    web_app: Any, web_account: Callable[..., tuple[str, str]]
) -> None:
    name, password = web_account("admin")
    with TestClient(web_app) as client:
        for i in range(ADDRESS_K - 1):  # one failure per name: no account reaches its limit
            assert attempt(client, f"guess-{i}", "wrong-password-1").status_code == 401
        assert attempt(client, "guess-last", "wrong-password-1").status_code == 429
        assert attempt(client, name, password).status_code == 429  # from this address: refused


def test_a_second_api_process_sees_the_first_ones_count(
    web_app: Any,
    web_settings: Settings,
    engine: Any,
    session: Session,
    web_account: Callable[..., tuple[str, str]],
) -> None:
    """Two apps (two processes' state) over one database: failures on one lock the other."""
    other = create_app(web_settings, engine)
    other.api.state.session_factory = SharedSession(session)
    other.api.state.read_path = SessionReadPath(session)
    name, password = web_account("noc")
    with TestClient(web_app) as first, TestClient(other) as second:
        for i in range(K):
            client = first if i % 2 == 0 else second
            attempt(client, name, "wrong-password-1")
        assert attempt(second, name, password).status_code == 429
        assert attempt(first, name, password).status_code == 429

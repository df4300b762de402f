"""Web accounts (web/accounts.py) on both databases: who may be created, who signs in, what the
audit keeps (never a password or its hash), and that disabling or a new password ends sessions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from core.errors import AuthenticationFailed, Conflict, NotFound, ValidationFailed
from core.models import AuditEntry
from core.settings import Settings
from tests.web.conftest import WEB_ADMIN
from web import accounts
from web.models import WebAccount, WebSession
from web.session import live_session, start_session

PASSWORD = "correct horse battery"
NOW = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


def _audit(session: Session, name: str) -> list[AuditEntry]:
    return list(
        session.exec(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "web_account", AuditEntry.entity_id == name)
            .order_by(col(AuditEntry.id))
        )
    )


def test_an_account_is_created_with_a_lower_case_name_and_only_a_hash(session: Session) -> None:
    row = accounts.create_account(
        session=session, actor=WEB_ADMIN, name="  Sato.K ", password=PASSWORD, role="logistics"
    )
    assert (row.name, row.role, row.customer, row.locale) == ("sato.k", "logistics", None, "ja")
    assert PASSWORD not in row.password_hash and row.password_hash.startswith("$argon2id$")
    [entry] = _audit(session, "sato.k")
    assert entry.action == "web_account.create" and entry.actor == WEB_ADMIN.name
    stored = json.dumps(entry.after)
    assert PASSWORD not in stored and row.password_hash not in stored
    assert entry.after == {"name": "sato.k", "role": "logistics", "customer": None, "locale": "ja"}


def test_the_right_password_signs_in_whatever_the_case_of_the_name(session: Session) -> None:
    accounts.create_account(
        session=session, actor=WEB_ADMIN, name="tanaka", password=PASSWORD, role="noc"
    )
    assert accounts.verify_password(session=session, name="TANAKA", password=PASSWORD).name == (
        "tanaka"
    )


@pytest.mark.parametrize(
    ("name", "password"),
    [("tanaka", "wrong password!"), ("nobody", PASSWORD), ("tanaka", ""), ("", "")],
)
def test_a_wrong_name_or_password_fails_alike(session: Session, name: str, password: str) -> None:
    accounts.create_account(
        session=session, actor=WEB_ADMIN, name="tanaka", password=PASSWORD, role="noc"
    )
    with pytest.raises(AuthenticationFailed) as refused:
        accounts.verify_password(session=session, name=name, password=password)
    assert refused.value.message == (
        "the name or the password is wrong, or the account is disabled"
    )


def test_a_customer_account_names_its_customer_and_staff_do_not(session: Session) -> None:
    row = accounts.create_account(
        session=session,
        actor=WEB_ADMIN,
        name="aoba-it",
        password=PASSWORD,
        role="customer",
        customer="医療法人あおば会",
    )
    assert row.customer == "医療法人あおば会"
    with pytest.raises(ValidationFailed) as missing:
        accounts.create_account(
            session=session, actor=WEB_ADMIN, name="c2", password=PASSWORD, role="customer"
        )
    assert [p.location for p in missing.value.problems] == ["customer"]
    with pytest.raises(ValidationFailed) as extra:
        accounts.create_account(
            session=session,
            actor=WEB_ADMIN,
            name="s2",
            password=PASSWORD,
            role="field",
            customer="医療法人あおば会",
        )
    assert [p.location for p in extra.value.problems] == ["customer"]


def test_every_problem_is_told_at_once(session: Session) -> None:
    with pytest.raises(ValidationFailed) as bad:
        accounts.create_account(
            session=session,
            actor=WEB_ADMIN,
            name="has space",
            password="short",
            role="superuser",
            locale="fr",
        )
    assert sorted(p.location for p in bad.value.problems) == [
        "locale",
        "name",
        "password",
        "role",
    ]
    assert session.exec(select(WebAccount)).all() == []


def test_a_name_is_taken_whatever_its_case(session: Session) -> None:
    accounts.create_account(
        session=session, actor=WEB_ADMIN, name="suzuki", password=PASSWORD, role="field"
    )
    with pytest.raises(Conflict):
        accounts.create_account(
            session=session, actor=WEB_ADMIN, name="Suzuki", password=PASSWORD, role="noc"
        )


def _signed_in(session: Session, settings: Settings, name: str) -> str:
    account = accounts.get_account(session=session, name=name)
    token = start_session(session=session, account=account, settings=settings, now=NOW)
    session.flush()
    return token


def test_disabling_refuses_sign_in_and_ends_open_sessions(
    session: Session, settings: Settings
) -> None:
    accounts.create_account(
        session=session, actor=WEB_ADMIN, name="ito", password=PASSWORD, role="field"
    )
    token = _signed_in(session, settings, "ito")
    assert live_session(session=session, token=token, settings=settings, now=NOW) is not None
    accounts.disable_account(session=session, actor=WEB_ADMIN, name="ito", now=NOW)
    assert live_session(session=session, token=token, settings=settings, now=NOW) is None
    assert session.exec(select(WebSession)).all() == []
    with pytest.raises(AuthenticationFailed):
        accounts.verify_password(session=session, name="ito", password=PASSWORD)
    assert [e.action for e in _audit(session, "ito")] == [
        "web_account.create",
        "web_account.disable",
    ]


def test_a_new_password_replaces_the_old_and_ends_sessions(
    session: Session, settings: Settings
) -> None:
    accounts.create_account(
        session=session, actor=WEB_ADMIN, name="kato", password=PASSWORD, role="noc"
    )
    token = _signed_in(session, settings, "kato")
    accounts.set_password(session=session, actor=WEB_ADMIN, name="kato", password="another one!")
    assert live_session(session=session, token=token, settings=settings, now=NOW) is None
    with pytest.raises(AuthenticationFailed):
        accounts.verify_password(session=session, name="kato", password=PASSWORD)
    assert accounts.verify_password(session=session, name="kato", password="another one!")
    [entry] = [e for e in _audit(session, "kato") if e.action == "web_account.password"]
    assert "another one!" not in json.dumps(entry.after)
    with pytest.raises(NotFound):
        accounts.set_password(session=session, actor=WEB_ADMIN, name="x", password="long enough")


def test_a_session_ends_when_idle_or_too_old(session: Session, settings: Settings) -> None:
    # 480 idle minutes and 24 hours in all by default (issue 12).
    accounts.create_account(
        session=session, actor=WEB_ADMIN, name="abe", password=PASSWORD, role="noc"
    )
    token = _signed_in(session, settings, "abe")

    def live(at: datetime) -> bool:
        return live_session(session=session, token=token, settings=settings, now=at) is not None

    assert live(NOW + timedelta(minutes=479))
    assert live(NOW + timedelta(minutes=479 * 2))  # used at 479 min: idle counts from then
    assert not live(NOW + timedelta(minutes=479 * 3 + 2))  # 481 min idle
    fresh = _signed_in(session, settings, "abe")
    for minutes in range(0, 24 * 60, 400):  # kept in use, still ended after 24 hours
        assert live_session(
            session=session, token=fresh, settings=settings, now=NOW + timedelta(minutes=minutes)
        )
    assert (
        live_session(session=session, token=fresh, settings=settings, now=NOW + timedelta(hours=24))
        is None
    )


def test_ended_sessions_are_deleted_when_someone_signs_in(
    session: Session, settings: Settings
) -> None:
    accounts.create_account(
        session=session, actor=WEB_ADMIN, name="mori", password=PASSWORD, role="noc"
    )
    account = accounts.get_account(session=session, name="mori")
    old = start_session(session=session, account=account, settings=settings, now=NOW)
    kept = start_session(
        session=session, account=account, settings=settings, now=NOW + timedelta(hours=5)
    )
    session.flush()
    later = NOW + timedelta(hours=8, minutes=1)  # `old` idle 481 minutes, `kept` 181
    start_session(session=session, account=account, settings=settings, now=later)
    session.flush()
    assert live_session(session=session, token=old, settings=settings, now=later) is None
    assert live_session(session=session, token=kept, settings=settings, now=later) is not None
    assert len(session.exec(select(WebSession)).all()) == 2  # `old`'s row is gone

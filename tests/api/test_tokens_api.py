"""Tokens cannot lock the provider out; names are bounded and unique ignoring case; refusals
cost no write beyond one audit row per source and minute."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core import auth
from core.auth import Role
from core.errors import Conflict
from core.models import ApiToken, AuditEntry
from core.timeutil import utcnow
from tests.conftest import ADMIN, bearer


@pytest.mark.parametrize(
    "name", ["", " ", "a/b", "x" * 65, "nul\x00", "rlo\u202eevil", "tab\tname", " lead"]
)
def test_bad_token_names_are_422_and_store_nothing(
    app_client: TestClient, tokens: dict[str, str], session: Session, name: str
) -> None:
    answer = app_client.post(
        "/api/v1/tokens", json={"name": name, "role": "viewer"}, headers=bearer(tokens["admin"])
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == "validation_failed"
    assert name not in {row.name for row in session.exec(select(ApiToken))}


def test_a_64_character_name_is_taken_and_its_case_twin_is_409(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    h = bearer(tokens["admin"])
    name = "Desk-" + "x" * 59
    assert (
        app_client.post("/api/v1/tokens", json={"name": name, "role": "noc"}, headers=h).status_code
        == 201
    )
    twin = app_client.post("/api/v1/tokens", json={"name": name.upper(), "role": "noc"}, headers=h)
    assert twin.status_code == 409
    assert twin.json()["details"]["name"] == name


def test_names_ignore_case_beyond_ascii(app_client: TestClient, tokens: dict[str, str]) -> None:
    h = bearer(tokens["admin"])
    first = app_client.post("/api/v1/tokens", json={"name": "Straße-Ä", "role": "noc"}, headers=h)
    assert first.status_code == 201
    twin = app_client.post("/api/v1/tokens", json={"name": "STRASSE-ä", "role": "noc"}, headers=h)
    assert twin.status_code == 409


def test_revoking_ones_own_token_is_409_unless_forced(
    app_client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    h = bearer(tokens["admin"])
    issued = app_client.post("/api/v1/tokens", json={"name": "admin-2", "role": "admin"}, headers=h)
    own = app_client.delete("/api/v1/tokens/t-admin", headers=h)
    assert own.status_code == 409 and own.json()["details"]["reason"] == "own_token"
    assert app_client.get("/api/v1/tokens", headers=h).status_code == 200  # still works
    forced = app_client.delete("/api/v1/tokens/t-admin?force=true", headers=h)
    assert forced.status_code == 200 and forced.json()["revoked_at"] is not None
    assert app_client.get("/api/v1/tokens", headers=h).status_code == 401
    # Another admin may revoke it without force while it is not the last one.
    other = bearer(issued.json()["token"])
    assert app_client.delete("/api/v1/tokens/t-viewer", headers=other).status_code == 200


def test_the_last_live_admin_token_is_kept_unless_the_cli_forces(session: Session) -> None:
    auth.create_token(session=session, actor=ADMIN, name="only-admin", role=Role.ADMIN)
    for row in session.exec(select(ApiToken).where(ApiToken.role == "admin")).all():
        if row.name != "only-admin":
            row.revoked_at = utcnow()
            session.add(row)
    session.flush()
    cli = ADMIN.__class__(name="cli:operator", role="admin")
    with pytest.raises(Conflict) as refused:
        auth.revoke_token(session=session, actor=cli, name="only-admin", now=utcnow())
    assert refused.value.details["reason"] == "last_admin"
    row = auth.revoke_token(
        session=session, actor=cli, name="only-admin", now=utcnow(), allow_last_admin=True
    )
    assert row.revoked_at is not None


def test_a_second_live_admin_makes_revoking_the_first_plain(session: Session) -> None:
    for name in ("admin-a", "admin-b"):
        auth.create_token(session=session, actor=ADMIN, name=name, role=Role.ADMIN)
    for row in session.exec(select(ApiToken).where(ApiToken.role == "admin")).all():
        if row.name not in ("admin-a", "admin-b"):
            row.revoked_at = utcnow()
            session.add(row)
    session.flush()
    cli = ADMIN.__class__(name="cli:operator", role="admin")
    auth.revoke_token(session=session, actor=cli, name="admin-a", now=utcnow())
    with pytest.raises(Conflict):
        auth.revoke_token(session=session, actor=cli, name="admin-b", now=utcnow())


@pytest.mark.parametrize(("stored", "path"), [("a/b", "a/b"), ("", ""), ("x y", "x%20y")])
def test_every_stored_name_is_revocable_over_the_api(
    app_client: TestClient, tokens: dict[str, str], session: Session, stored: str, path: str
) -> None:
    """Names made before the rules (a slash, empty) can still be revoked."""
    session.add(
        ApiToken(name=stored, role="viewer", prefix="nk_old", token_hash="0" * 64, created_by="x")
    )
    session.commit()
    answer = app_client.delete(f"/api/v1/tokens/{path}", headers=bearer(tokens["admin"]))
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == stored and answer.json()["revoked_at"] is not None


def test_unknown_token_names_are_404(app_client: TestClient, tokens: dict[str, str]) -> None:
    answer = app_client.delete("/api/v1/tokens/nobody", headers=bearer(tokens["admin"]))
    assert answer.status_code == 404


def test_a_flood_of_bad_tokens_writes_one_audit_row(
    app_client: TestClient, session: Session
) -> None:
    before = len(session.exec(select(AuditEntry)).all())
    for i in range(25):
        assert app_client.get("/api/v1/devices", headers=bearer(f"nk_guess-{i}")).status_code == 401
    rows = session.exec(select(AuditEntry)).all()
    assert len(rows) == before + 1
    refused = [r for r in rows if r.action == "auth.refused"]
    assert [(r.outcome, r.after) for r in refused] == [
        ("unauthenticated", {"source": "testclient", "refused_since_previous_entry": 0})
    ]


def test_over_the_api_even_force_keeps_the_last_admin_token(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    """t-admin is the only admin: revoking itself with force would lock every admin out."""
    h = bearer(tokens["admin"])
    refused = app_client.delete("/api/v1/tokens/t-admin?force=true", headers=h)
    assert refused.status_code == 409 and refused.json()["details"]["reason"] == "last_admin"
    assert app_client.get("/api/v1/tokens", headers=h).status_code == 200


def test_the_database_refuses_a_case_twin_even_past_the_code(session: Session) -> None:
    """Two processes racing past the code's check still cannot hold "Ops" and "ops" at once."""
    session.add(
        ApiToken(name="Ops-Team", role="noc", prefix="nk_x", token_hash="a" * 64, created_by="t")
    )
    session.flush()
    session.add(
        ApiToken(name="ops-team", role="noc", prefix="nk_y", token_hash="b" * 64, created_by="t")
    )
    with pytest.raises(IntegrityError):
        session.flush()

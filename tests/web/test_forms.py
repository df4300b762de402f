"""Posted forms: the CSRF token is required (field or header), the same form posted twice does
its work once, a service's problems come back next to their fields, an expired sign-in changes
nothing. Fast: a TestClient, no browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from core.errors import Conflict, Problem, ValidationFailed
from core.models import AuditEntry
from tests.web import probe
from web.forms import (
    claim_submission,
    finish_submission,
    problems_by_field,
    release_submission,
)
from web.models import WebSession

FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')


@pytest.fixture
def probed(web_app: Any) -> Any:
    web_app.api.include_router(probe.router)
    return web_app


def notes(session: Session) -> list[str]:
    rows = session.exec(
        select(AuditEntry).where(AuditEntry.action == "probe.note").order_by(col(AuditEntry.id))
    )
    return [r.entity_id for r in rows]


def form_key(client: Any) -> str:
    found = FORM_KEY.search(client.get("/ui/probe/").text)
    assert found
    return found.group(1)


def test_a_post_without_this_sessions_csrf_token_is_refused_and_does_nothing(
    probed: Any, web_client: Callable[..., Any], session: Session
) -> None:
    client = web_client("logistics")
    other = web_client("logistics")
    for token in (None, "", "forged-token", other.csrf_token):
        data = {"text": "hello", "form_key": form_key(client)}
        if token is not None:
            data["csrf_token"] = token
        refused = client.post("/ui/probe/note", data=data, csrf=False, follow_redirects=False)
        assert refused.status_code == 403, token
        assert "text/html" in refused.headers["content-type"]
        assert "フォームの有効期限が切れました" in refused.text
    assert notes(session) == []
    del data["csrf_token"]
    assert client.post("/ui/probe/note", data=data, follow_redirects=False).status_code == 303
    assert notes(session) == ["hello"]  # the same form with the token: done


def test_the_token_may_come_in_the_header_htmx_sends(
    probed: Any, web_client: Callable[..., Any], session: Session
) -> None:
    client = web_client("logistics")
    answer = client.post(
        "/ui/probe/note",
        data={"text": "by header", "form_key": form_key(client)},
        headers={"X-CSRF-Token": client.csrf_token},
        csrf=False,
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert notes(session) == ["by header"]


def test_signing_out_needs_the_token_too(web_client: Callable[..., Any]) -> None:
    client = web_client("noc")
    assert client.post("/ui/logout", csrf=False, follow_redirects=False).status_code == 403
    assert client.get("/ui/noc/", follow_redirects=False).status_code == 200  # still signed in
    assert client.post("/ui/logout", follow_redirects=False).status_code == 303
    assert client.get("/ui/noc/", follow_redirects=False).status_code == 303


def test_the_same_form_posted_twice_does_its_work_once(
    probed: Any, web_client: Callable[..., Any], session: Session
) -> None:
    client = web_client("logistics")
    data = {"text": "double click", "form_key": form_key(client)}
    first = client.post("/ui/probe/note", data=data, follow_redirects=False)
    second = client.post("/ui/probe/note", data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert second.headers["location"] == first.headers["location"]
    assert notes(session) == ["double click"]
    again = client.post(
        "/ui/probe/note",
        data={"text": "double click", "form_key": form_key(client)},
        follow_redirects=False,
    )
    assert again.headers["location"] != first.headers["location"]  # a new form: new work
    assert notes(session) == ["double click", "double click"]


def test_another_accounts_form_key_is_refused(
    probed: Any, web_client: Callable[..., Any], session: Session
) -> None:
    mine, theirs = web_client("logistics"), web_client("admin")
    key = form_key(mine)
    assert mine.post("/ui/probe/note", data={"text": "a", "form_key": key}).status_code == 200
    taken = theirs.post("/ui/probe/note", data={"text": "b", "form_key": key})
    assert taken.status_code == 409
    assert notes(session) == ["a"]


def test_a_services_problems_come_back_next_to_their_field(
    probed: Any, web_client: Callable[..., Any], session: Session
) -> None:
    client = web_client("logistics")
    answer = client.post("/ui/probe/note", data={"text": "  ", "form_key": form_key(client)})
    assert answer.status_code == 422
    assert re.search(
        r'id="f-text"[^>]*aria-invalid="true"[^>]*aria-describedby="f-text-problems"', answer.text
    )
    assert re.search(r'id="f-text-problems"[^>]*>\s*<li>must not be empty</li>', answer.text)
    assert notes(session) == []


def test_problems_by_field_places_each_problem() -> None:
    failed = ValidationFailed(
        [
            Problem("too long", "body.name"),
            Problem("not a serial", "serial"),
            Problem("also bad", "serial"),
            Problem("nothing to do"),
        ]
    )
    assert problems_by_field(failed) == {
        "name": ["too long"],
        "serial": ["not a serial", "also bad"],
        "__all__": ["nothing to do"],
    }


def test_claiming_a_key_on_the_database(session: Session) -> None:
    assert claim_submission(session=session, key="k" * 20, account="a", scope="s") is None
    assert claim_submission(session=session, key="k" * 20, account="a", scope="s") == "/ui/"
    finish_submission(session=session, key="k" * 20, result_url="/ui/logistics/rma/7")
    assert claim_submission(session=session, key="k" * 20, account="a", scope="s") == (
        "/ui/logistics/rma/7"
    )
    with pytest.raises(Conflict):
        claim_submission(session=session, key="k" * 20, account="b", scope="s")
    with pytest.raises(ValidationFailed):
        claim_submission(session=session, key="", account="a", scope="s")
    release_submission(session=session, key="k" * 20)  # its work refused: may be sent again
    assert claim_submission(session=session, key="k" * 20, account="b", scope="s") is None


def _expire(session: Session, minutes: int) -> None:
    """Every session last used `minutes` ago (the idle limit is 480 minutes)."""
    for row in session.exec(select(WebSession)):
        row.last_seen = row.last_seen - timedelta(minutes=minutes)
        session.add(row)
    session.commit()


def test_an_expired_sign_in_sends_to_the_login_page_and_a_post_changes_nothing(
    probed: Any, web_client: Callable[..., Any], session: Session
) -> None:
    client = web_client("logistics")
    key = form_key(client)
    _expire(session, 481)
    page = client.get("/ui/logistics/?tab=stock", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/ui/login?next=/ui/logistics/%3Ftab%3Dstock"
    hx = client.get("/ui/logistics/", headers={"HX-Request": "true"}, follow_redirects=False)
    assert hx.status_code == 200 and hx.headers["HX-Redirect"].startswith("/ui/login?next=")
    posted = client.post(
        "/ui/probe/note", data={"text": "late", "form_key": key}, follow_redirects=False
    )
    assert posted.status_code == 303 and posted.headers["location"].startswith("/ui/login")
    assert notes(session) == []


def test_a_sign_in_just_inside_the_idle_limit_still_works(
    web_client: Callable[..., Any], session: Session
) -> None:
    client = web_client("field")
    _expire(session, 479)
    assert client.get("/ui/field/", follow_redirects=False).status_code == 200


def test_errors_under_ui_are_pages_and_the_api_keeps_json(
    web_client: Callable[..., Any],
) -> None:
    client = web_client("noc")
    missing = client.get("/ui/no-such-page")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "見つかりません。" in missing.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json()["error"] == "not_found"

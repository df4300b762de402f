"""The portal's pages without a browser: another customer's id is a 404 page on every portal
page (the matrix generated from the app's routes), staff get 403, forms need their CSRF token,
a double-submitted approval has one effect (both databases)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, col, select

from core.models import AuditEntry
from core.timeutil import utcnow
from survey.models import SurveyVersion
from tests.service.portal_builders import A, B, TwoTenants, two_tenants
from tests.web.test_portal_api import PARAM, fill, portal_routes

PORTAL_UI = "/ui/portal"
FORM = {"form_key": "k" * 16, "description": "ゲストSSIDに繋がらない"}


@pytest.fixture
def world(session: Session) -> TwoTenants:
    found = two_tenants(session, utcnow())
    session.commit()
    return found


@pytest.fixture
def asahi(web_client: Callable[..., Any], web_account: Callable[..., tuple[str, str]]) -> Any:
    return web_client(web_account("customer", customer=A, name="asahi-taro"))


@pytest.fixture
def hikari(web_client: Callable[..., Any], web_account: Callable[..., tuple[str, str]]) -> Any:
    return web_client(web_account("customer", customer=B, name="hikari-hanako"))


def _send(client: Any, method: str, path: str, **data: str) -> Any:
    if method == "POST":
        return client.post(path, data={**FORM, **data}, follow_redirects=False)
    return client.get(path, follow_redirects=False)


def test_the_matrix_covers_every_portal_page(web_client: Callable[..., Any]) -> None:
    client = web_client("noc")
    routes = list(portal_routes(client, PORTAL_UI))
    assert len(routes) >= 18, routes
    assert sum(1 for _, p in routes if PARAM.search(p)) >= 12


def test_another_customers_id_is_a_404_page_on_every_portal_page(
    world: TwoTenants, asahi: Any, hikari: Any, session: Session
) -> None:
    for client, other in ((asahi, world.b), (hikari, world.a)):
        for method, path in portal_routes(client, PORTAL_UI):
            if not PARAM.search(path):
                continue
            answer = _send(client, method, fill(path, other))
            assert answer.status_code == 404, f"{method} {path}: {answer.status_code}"
            assert other.customer not in answer.text
    versions = session.exec(select(SurveyVersion.status)).all()
    assert set(versions) == {"issued"}  # no refused approval changed anything


def test_the_customers_own_ids_are_found_on_every_portal_page(
    world: TwoTenants, asahi: Any
) -> None:
    for method, path in portal_routes(asahi, PORTAL_UI):
        if path.endswith("/pdf"):
            continue  # the test world's sheets have no issued PDF (see test_portal_api)
        answer = _send(asahi, method, fill(path, world.a))
        assert answer.status_code in (200, 303), f"{method} {path}: {answer.status_code}"


def test_lists_show_only_the_customers_own_records(world: TwoTenants, asahi: Any) -> None:
    b = world.b
    for method, path in portal_routes(asahi, PORTAL_UI):
        if method != "GET" or PARAM.search(path):
            continue
        text = asahi.get(path).text
        for mark in (B, b.serial, b.contract, f"RMA-{b.rma_id:06d}", "CR-BB-1"):
            assert mark not in text, f"{path} shows {mark}"


def test_staff_get_403_on_the_portal(world: TwoTenants, web_client: Callable[..., Any]) -> None:
    client = web_client("admin")
    for method, path in portal_routes(client, PORTAL_UI):
        answer = _send(client, method, fill(path, world.a))
        assert answer.status_code == 403, f"{method} {path}: {answer.status_code}"


def _approvals(session: Session) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).where(col(AuditEntry.action) == "survey.approve")))


def test_an_approval_without_the_csrf_token_is_refused_and_changes_nothing(
    world: TwoTenants, asahi: Any, session: Session
) -> None:
    path = f"{PORTAL_UI}/surveys/{world.a.survey_id}/versions/1/approve"
    answer = asahi.post(path, data=FORM, csrf=False, follow_redirects=False)
    assert answer.status_code == 403
    forged = asahi.post(
        path, data={**FORM, "csrf_token": "not-the-sessions"}, csrf=False, follow_redirects=False
    )
    assert forged.status_code == 403
    assert _approvals(session) == []


def test_a_double_submitted_approval_has_one_effect(
    world: TwoTenants, asahi: Any, session: Session
) -> None:
    path = f"{PORTAL_UI}/surveys/SV-{world.a.survey_id:06d}/versions/1/approve"
    first = asahi.post(path, data=FORM, follow_redirects=False)
    second = asahi.post(path, data=FORM, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(_approvals(session)) == 1
    page = asahi.get(first.headers["location"]).text
    assert "asahi-taro" in page  # who signed, shown in the completion-confirmation column


def test_an_empty_defect_report_re_renders_with_its_problem(world: TwoTenants, asahi: Any) -> None:
    path = f"{PORTAL_UI}/changes/{world.a.change_id}/defect"
    answer = asahi.post(path, data={**FORM, "description": "  "}, follow_redirects=False)
    assert answer.status_code == 422
    assert 'aria-invalid="true"' in answer.text and "describe the defect" in answer.text
    retried = asahi.post(path, data=FORM, follow_redirects=False)  # the same form, corrected
    assert retried.status_code == 303

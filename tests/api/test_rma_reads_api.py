"""The RMA reads served past FastAPI (`rma.read_path.hot_route`): the ORM view's JSON, the same
answer as the FastAPI route for every request (errors and refusals included), refusals audited;
a request the fast path does not take as given is left to FastAPI."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from core import auth
from core.auth import TokenRole
from core.models import AuditEntry
from rma import service as rma_service
from rma import views
from rma.read_path import hot_route
from rma.schemas import RmaOut, RmaPageOut
from tests.conftest import ADMIN, bearer
from tests.service.rma_builders import FAILED, SPARE, build_world, shipped_rma

API = "/api/v1/rmas"


def _orm_json(session: Session, rma_id: int) -> bytes:
    rma = rma_service.get_rma(session=session, rma_id=rma_id)
    return (
        RmaOut.of(
            rma,
            rma_service.charge_of(session=session, rma=rma),
            rma_service.reminders_of(session=session, rma=rma),
            rma_service.mismatches_of(session=session, rma=rma),
        )
        .model_dump_json()
        .encode()
    )


def test_the_hot_reads_answer_the_orm_views_json(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    rma_id = rma.id or 0
    viewer = bearer(tokens["viewer"])
    assert hot_route(f"{API}/{rma.number}", b"") is not None  # served past FastAPI
    for ref in (str(rma_id), rma.number, rma.number.lower()):
        response = app_client.get(f"{API}/{ref}", headers=viewer)
        assert response.status_code == 200
        assert response.content == _orm_json(session, rma_id)
        assert response.headers["content-type"] == "application/json"
    assert len(response.json()["reminders"]) == 3
    page = views.list_rmas(session=session, serial=SPARE, limit=20)
    expected = RmaPageOut(total=page.total, limit=20, offset=0, items=[RmaOut.of(page.items[0])])
    assert hot_route(API, f"serial={SPARE.lower()}&limit=20".encode()) is not None
    response = app_client.get(f"{API}?serial={SPARE.lower()}&limit=20", headers=viewer)
    assert response.status_code == 200
    assert response.content == expected.model_dump_json().encode()


REQUESTS = (
    f"{API}/1",
    f"{API}/RMA-000001",
    f"{API}/RMA-999999",  # not found
    f"{API}/SV-000001",  # another record's number
    f"{API}/0",  # no record has it
    f"{API}?serial={FAILED}",
    f"{API}?serial={FAILED}&status=shipped&limit=1&offset=0",
    f"{API}?serial={FAILED}&status=nonsense",
    f"{API}?serial={FAILED}&limit=0",
    f"{API}?serial={FAILED}&limit=1001",
    f"{API}?serial={FAILED}&limit=abc",
    f"{API}?serial={FAILED}&offset=-1",
    f"{API}?serial={FAILED}&serial={SPARE}",
    f"{API}?serial={FAILED}&extra=1",
    f"{API}?status=shipped",
)


@pytest.mark.parametrize("who", ["viewer", "customer", "forged", None])
def test_every_answer_is_the_fastapi_routes(
    app_client: TestClient,
    tokens: dict[str, str],
    session: Session,
    tmp_path: Path,
    who: str | None,
) -> None:
    build_world(session, tmp_path)
    shipped_rma(session)
    customer = auth.create_token(
        session=session, actor=ADMIN, name="t-cust", role=TokenRole.CUSTOMER, customer="さくら"
    ).token
    session.commit()
    token = {"viewer": tokens["viewer"], "customer": customer, "forged": "nk_forged"}.get(who or "")
    headers = bearer(token) if token else {}
    fastapi = TestClient(app_client.app.api)  # type: ignore[attr-defined]
    statuses = set()
    for url in REQUESTS:
        hot = app_client.get(url, headers=headers)
        plain = fastapi.get(url, headers=headers)
        assert (hot.status_code, hot.json()) == (plain.status_code, plain.json()), url
        statuses.add(hot.status_code)
    expected = {"viewer": {200, 404, 422}, "customer": {403, 422}, "forged": {401, 422}}
    assert statuses == expected.get(who or "", {401, 422})


def test_refusals_on_the_hot_reads_are_audited(
    app_client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    customer = auth.create_token(
        session=session, actor=ADMIN, name="t-cust", role=TokenRole.CUSTOMER, customer="さくら"
    ).token
    session.commit()
    anonymous = app_client.get(f"{API}/1")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert app_client.get(f"{API}/1", headers=bearer("nk_forged")).status_code == 401
    denied = app_client.get(f"{API}?serial={FAILED}", headers=bearer(customer))
    assert denied.status_code == 403 and denied.json()["error"] == "forbidden"
    refused = session.exec(select(AuditEntry).where(AuditEntry.action == "auth.refused")).all()
    assert sorted((r.outcome, r.actor, r.entity_id) for r in refused) == [
        ("denied", "t-cust", f"GET {API}"),
        ("unauthenticated", "unknown-token", f"GET {API}/1"),
    ]

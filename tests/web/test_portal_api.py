"""The portal API: customer tokens see only their own customer, every route answers another
customer's id with 404 (the matrix is generated from the app's routes), customer tokens get 403
on every staff route and staff tokens on every portal route (both databases)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import role_table
from core import auth
from core.auth import Role, TokenRole
from core.settings import Settings
from core.timeutil import utcnow
from survey.models import SurveyVersion
from survey.storage import store_blob
from tests.conftest import ADMIN, bearer
from tests.service.portal_builders import A, B, Tenant, TwoTenants, two_tenants

PORTAL_API = "/api/v1/portal"
PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


@dataclass(frozen=True)
class Portal:
    world: TwoTenants
    a_token: str
    b_token: str


@pytest.fixture
def portal(session: Session, settings: Settings) -> Portal:
    world = two_tenants(session, utcnow())
    pdf = b"%PDF-1.4 portal test sheet\n"
    digest = hashlib.sha256(pdf).hexdigest()
    store_blob(settings.survey_dir, "sheets", digest, "pdf", pdf)
    for tenant in (world.a, world.b):
        version = session.get(SurveyVersion, _version_id(session, tenant))
        assert version is not None
        version.pdf_sha256, version.pdf_size = digest, len(pdf)
        session.add(version)
    tokens = [
        auth.create_token(
            session=session, actor=ADMIN, name=name, role=TokenRole.CUSTOMER, customer=customer
        ).token
        for name, customer in (("asahi-api", A), ("hikari-api", B))
    ]
    session.commit()
    return Portal(world, *tokens)


def _version_id(session: Session, tenant: Tenant) -> int:
    from sqlmodel import select

    stmt = select(SurveyVersion.id).where(SurveyVersion.survey_id == tenant.survey_id)
    return int(session.exec(stmt).one() or 0)


def app_routes(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every route of the app with its full path, through included (nested) routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path_format, route
            continue
        included = getattr(route, "original_router", None)
        context = getattr(route, "include_context", None)
        if included is not None:
            yield from app_routes(included.routes, prefix + getattr(context, "prefix", ""))


def portal_routes(client: TestClient, under: str = PORTAL_API) -> Iterator[tuple[str, str]]:
    """Every (method, path) the app serves under `under`, from its route list."""
    for path, route in app_routes(client.app.api.routes):  # type: ignore[attr-defined]
        if path.startswith(under):
            for method in sorted(route.methods or ()):
                yield method, path


def ids_of(tenant: Tenant) -> dict[str, str]:
    """A tenant's record in each kind of path segment a portal route names."""
    return {
        "contracts": tenant.contract,
        "devices": tenant.serial,
        "rmas": f"RMA-{tenant.rma_id:06d}",
        "surveys": f"SV-{tenant.survey_id:06d}",
        "versions": str(tenant.version),
        "changes": str(tenant.change_id),
        "vpn-reports": str(tenant.report_id),
    }


def fill(path: str, tenant: Tenant) -> str:
    """The path with each parameter set to the tenant's record named by the segment before it;
    a route whose segment is not known fails here, so no new route escapes the matrix."""
    ids = ids_of(tenant)
    parts = path.split("/")
    for i, part in enumerate(parts):
        if PARAM.fullmatch(part):
            kind = parts[i - 1]
            assert kind in ids, f"{path}: add the tenants' ids for '{kind}' to the matrix"
            parts[i] = ids[kind]
    return "/".join(parts)


BODIES = {"defect": {"description": "ゲストSSIDに繋がらない"}}


def call(client: TestClient, method: str, path: str, token: str) -> tuple[int, str]:
    body = BODIES.get(path.rsplit("/", 1)[-1]) if method == "POST" else None
    response = client.request(method, path, headers=bearer(token), json=body)
    return response.status_code, response.text


def test_the_matrix_covers_every_portal_route(app_client: TestClient) -> None:
    routes = list(portal_routes(app_client))
    assert len(routes) >= 17
    assert {p for _, p in routes if PARAM.search(p)} and all(fill(p, _DUMMY) for _, p in routes)


_DUMMY = Tenant("x", "C-X", "Q2XX-XXXX-0001", 1, 1, 1, 1, 1)


def test_another_customers_id_answers_404_on_every_route(
    app_client: TestClient, portal: Portal
) -> None:
    world = portal.world
    for caller_token, other in ((portal.a_token, world.b), (portal.b_token, world.a)):
        for method, path in portal_routes(app_client):
            if not PARAM.search(path):
                continue
            status, text = call(app_client, method, fill(path, other), caller_token)
            assert status == 404, f"{method} {path}: {status} {text}"
            assert other.customer not in text  # the 404 says no more than an unknown id's
    # nothing was approved or answered by the refused calls
    assert (
        app_client.get(f"{PORTAL_API}/changes", headers=bearer(portal.b_token)).json()["items"][0][
            "status"
        ]
        == "notified"
    )


def test_the_customers_own_ids_pass_on_every_route(app_client: TestClient, portal: Portal) -> None:
    """The control of the matrix: the same paths with the caller's own ids are found."""
    for method, path in portal_routes(app_client):
        status, text = call(app_client, method, fill(path, portal.world.a), portal.a_token)
        assert status != 404 and status < 500, f"{method} {path}: {status} {text}"


def test_lists_hold_only_the_callers_records(app_client: TestClient, portal: Portal) -> None:
    b = portal.world.b
    for method, path in portal_routes(app_client):
        if method != "GET" or PARAM.search(path):
            continue
        response = app_client.get(path, headers=bearer(portal.a_token))
        assert response.status_code == 200, path
        body = response.json()
        assert body["total"] >= 1, path
        text = json.dumps(body, ensure_ascii=False)
        for mark in (B, b.serial, b.contract, f"RMA-{b.rma_id:06d}", "N_BB", "CR-BB-1"):
            assert mark not in text, f"{path} shows {mark}"


def test_a_customer_token_gets_403_on_every_staff_route(
    app_client: TestClient, portal: Portal
) -> None:
    routes = role_table.guarded_routes()
    assert len(routes) > 90
    for route in routes:
        path = "/api/v1" + PARAM.sub("1", route.path)
        response = app_client.request(route.method, path, headers=bearer(portal.a_token))
        assert response.status_code == 403, f"{route.method} {route.path}: {response.text}"


def test_staff_tokens_get_403_on_every_portal_route(
    app_client: TestClient, portal: Portal, tokens: dict[str, str]
) -> None:
    for role in ("admin", "noc", "viewer"):
        for method, path in portal_routes(app_client):
            status, text = call(app_client, method, fill(path, portal.world.a), tokens[role])
            assert status == 403, f"{role} {method} {path}: {status} {text}"


def test_no_token_is_401(app_client: TestClient) -> None:
    assert app_client.get(f"{PORTAL_API}/contracts").status_code == 401


def test_a_customer_token_names_its_customer(session: Session) -> None:
    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        auth.create_token(session=session, actor=ADMIN, name="c-none", role=TokenRole.CUSTOMER)
    with pytest.raises(ValidationFailed):
        auth.create_token(session=session, actor=ADMIN, name="n-c", role=Role.NOC, customer=A)


def test_approve_over_the_api_records_the_token_and_a_second_call_changes_nothing(
    app_client: TestClient, portal: Portal
) -> None:
    a = portal.world.a
    path = f"{PORTAL_API}/surveys/SV-{a.survey_id:06d}/versions/1/approve"
    first = app_client.post(path, headers=bearer(portal.a_token))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "approved" and body["approver_name"] == "asahi-api"
    assert body["approval_recorded_by"] == "customer:asahi-api"
    second = app_client.post(path, headers=bearer(portal.a_token))
    assert second.json() == body


def test_a_token_is_of_a_staff_role_or_a_customer_and_no_policy_rule_names_a_customer() -> None:
    from core.policy import POLICY

    assert {r.value for r in TokenRole} == {"admin", "noc", "field", "logistics", "viewer"} | {
        "customer"
    }
    assert {r.value for r in Role} == {r.value for r in TokenRole} - {"customer"}
    assert all("customer" not in {r.value for r in rule.roles} for rule in POLICY.values())

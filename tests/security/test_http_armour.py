"""The headers every response wears, the offline docs, and the Host check.

Expected, stated on their own: every response — JSON, HTML, CSV, PDF, PNG, SVG, errors from the
routes and from the middleware — says nosniff, refuses framing (X-Frame-Options DENY and CSP
frame-ancestors 'none'), sends no Referer and carries a CSP; an HTML page's CSP allows scripts
from this origin only; every /api response is `Cache-Control: no-store`; a Host outside the
allowed list is refused with 400 and never echoed.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.conftest import bearer
from tests.security.conftest import ClientFactory
from tests.service.helpers import import_csv, write_csv
from tests.service.survey_builders import build_survey

SERIAL = "Q2FY-HDRS-0001"


def assert_armoured(response: httpx.Response, *, api: bool) -> None:
    h = response.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"
    csp = h["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    if h.get("content-type", "").startswith("text/html"):
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
        assert "unsafe-eval" not in csp
    else:
        assert csp.startswith("default-src 'none'")
    if api:
        assert h["cache-control"] == "no-store"


@pytest.fixture
def world(app_client: TestClient, session: Session, tmp_path: Path) -> tuple[TestClient, int]:
    import_csv(session, write_csv(tmp_path, f"{SERIAL},MX67,,in_stock,,倉庫,,,,,2026-04-01,\n"))
    app_client.app.state.settings.survey_dir = tmp_path  # type: ignore[attr-defined]
    survey = build_survey(session, tmp_path)
    session.commit()
    assert survey.id is not None
    return app_client, survey.id


def test_every_response_class_is_armoured(
    world: tuple[TestClient, int], tokens: dict[str, str]
) -> None:
    client, sid = world
    h = bearer(tokens["admin"])
    cases = [
        ("GET", "/api/v1/devices", h, 200, "application/json"),
        ("GET", f"/api/v1/devices/{SERIAL}", h, 200, "application/json"),  # the lean hot path
        ("GET", "/api/v1/devices.csv", h, 200, "text/csv"),
        ("GET", f"/api/v1/surveys/{sid}/pdf", h, 200, "application/pdf"),
        ("GET", f"/api/v1/surveys/{sid}/floors/1F/coverage.png", h, 200, "image/png"),
        ("GET", f"/api/v1/surveys/{sid}/diagram.svg", h, 200, "image/svg+xml"),
        ("GET", "/api/v1/devices", {}, 401, "application/json"),
        ("GET", "/api/v1/devices/Q2FY-HDRS-9999", h, 404, "application/json"),
        ("POST", "/api/v1/tokens", h, 422, "application/json"),
        ("GET", "/healthz", {}, 200, "application/json"),
        ("GET", "/openapi.json", {}, 200, "application/json"),
    ]
    for method, path, headers, status, kind in cases:
        response = client.request(method, path, headers=headers)
        assert response.status_code == status, (path, response.text[:200])
        assert response.headers["content-type"].startswith(kind), path
        assert_armoured(response, api=path.startswith("/api/"))


def test_a_new_token_is_never_cached(app_client: TestClient, tokens: dict[str, str]) -> None:
    created = app_client.post(
        "/api/v1/tokens",
        json={"name": "hdr-test", "role": "viewer"},
        headers=bearer(tokens["admin"]),
    )
    assert created.status_code == 201 and created.json()["token"]
    assert created.headers["cache-control"] == "no-store"
    assert_armoured(created, api=True)


def test_middleware_errors_are_armoured_too(client_with: ClientFactory) -> None:
    client = client_with(max_body_bytes=100)
    too_big = client.post("/api/v1/surveys", content=b"x" * 101)
    assert too_big.status_code == 413
    assert_armoured(too_big, api=True)
    deep = client.post(
        "/api/v1/surveys",
        content=b"[" * 40 + b"]" * 40,
        headers={"content-type": "application/json"},
    )
    assert deep.status_code == 422
    assert_armoured(deep, api=True)
    host = client.get("/api/v1/devices", headers={"host": "evil.example"})
    assert host.status_code == 400
    assert_armoured(host, api=True)


EXTERNAL = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//""", re.IGNORECASE)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_nothing_from_elsewhere(app_client: TestClient, page: str) -> None:
    response = app_client.get(page)
    assert response.status_code == 200
    assert_armoured(response, api=False)
    html = response.text
    assert not EXTERNAL.search(html), "a CDN or other origin is referenced"
    assert "<script>" not in html, "an inline script would be blocked by the CSP"
    scripts = re.findall(r'<script src="([^"]+)"', html)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert scripts
    for asset in [*scripts, *styles]:
        served = app_client.get("/" + asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 1000 or asset.endswith("init.js")
        assert served.headers["x-content-type-options"] == "nosniff"
        kind = served.headers["content-type"]
        assert kind.startswith("text/javascript" if asset.endswith(".js") else "text/css"), kind


def test_swagger_init_reads_the_local_schema(app_client: TestClient) -> None:
    script = app_client.get("/docs/init.js").text
    assert 'new URL("openapi.json"' in script and "http" not in script


def test_a_foreign_host_is_refused_not_reflected(app_client: TestClient) -> None:
    # a trailing slash makes Starlette redirect, building the Location from the Host header
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example"):
        response = app_client.get(
            "/api/v1/devices/", headers={"host": host}, follow_redirects=False
        )
        assert response.status_code == 400, host
        assert "location" not in response.headers
        assert "evil" not in response.text


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8000", "[::1]:8000", "testserver"])
def test_local_hosts_are_served(app_client: TestClient, host: str) -> None:
    response = app_client.get("/healthz", headers={"host": host})
    assert response.status_code == 200


def test_hosts_from_the_settings_are_served(client_with: ClientFactory) -> None:
    client = client_with(allowed_hosts=["netkeep.example.jp"], api_host="10.1.2.3")
    for host in ("netkeep.example.jp", "10.1.2.3:8000", "localhost"):
        assert client.get("/healthz", headers={"host": host}).status_code == 200, host
    assert client.get("/healthz", headers={"host": "other.example.jp"}).status_code == 400

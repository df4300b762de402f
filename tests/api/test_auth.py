from fastapi.testclient import TestClient
from sqlmodel import Session, select

from core import auth
from core.auth import TokenRole
from core.models import ApiToken, AuditEntry
from tests.conftest import ADMIN, bearer


def test_health_and_docs_are_open(app_client: TestClient) -> None:
    assert app_client.get("/healthz").json()["status"] == "ok"
    assert app_client.get("/openapi.json").status_code == 200
    assert app_client.get("/docs").status_code == 200


def test_no_token_is_401_with_bearer_challenge(app_client: TestClient) -> None:
    response = app_client.get("/api/v1/devices")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthenticated"


def test_unknown_token_is_401_and_audited(app_client: TestClient, session: Session) -> None:
    response = app_client.get("/api/v1/devices", headers=bearer("nk_not-a-token"))
    assert response.status_code == 401
    refused = session.exec(select(AuditEntry).where(AuditEntry.action == "auth.refused")).all()
    assert [(r.outcome, r.entity_id) for r in refused] == [
        ("unauthenticated", "GET /api/v1/devices")
    ]


def test_wrong_role_is_403_and_audited(
    app_client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    response = app_client.put(
        "/api/v1/catalogue/MX67",
        json={"product_type": "appliance", "list_price_yen": 1},
        headers=bearer(tokens["viewer"]),
    )
    assert response.status_code == 403
    assert response.json()["details"]["allowed"] == ["admin"]
    entry = session.exec(select(AuditEntry).where(AuditEntry.outcome == "denied")).one()
    assert (entry.actor, entry.role, entry.entity_id) == (
        "t-viewer",
        "viewer",
        "PUT /api/v1/catalogue/MX67",
    )


def test_every_api_route_requires_a_token(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    open_paths = []
    for path, methods in spec["paths"].items():
        for method in methods:
            concrete = path.replace("{serial}", "Q2FY-AAAA-0001").replace("{number}", "C-1")
            concrete = concrete.replace("{model}", "MX67").replace("{name}", "x")
            for key in ("{rma_id}", "{id}", "{job_id}", "{request_id}", "{survey_id}"):
                concrete = concrete.replace(key, "1")
            response = app_client.request(method.upper(), concrete)
            if response.status_code != 401:
                open_paths.append((method, path, response.status_code))
    assert open_paths == [("get", "/healthz", 200)]


def test_token_admin_over_http(
    app_client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    created = app_client.post(
        "/api/v1/tokens", json={"name": "noc-desk", "role": "noc"}, headers=bearer(tokens["admin"])
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    row = session.exec(select(ApiToken).where(ApiToken.name == "noc-desk")).one()
    assert secret not in (row.token_hash, row.prefix) and row.role == "noc"
    listed = app_client.get("/api/v1/tokens", headers=bearer(tokens["admin"])).json()["items"]
    assert "token" not in listed[0] and {t["name"] for t in listed} >= {"noc-desk"}
    assert app_client.get("/api/v1/devices", headers=bearer(secret)).status_code == 200
    assert (
        app_client.delete("/api/v1/tokens/noc-desk", headers=bearer(tokens["admin"])).status_code
        == 200
    )
    assert app_client.get("/api/v1/devices", headers=bearer(secret)).status_code == 401
    audit_text = str([(e.before, e.after) for e in session.exec(select(AuditEntry))])
    assert secret not in audit_text


def test_request_id_is_echoed_and_recorded(
    app_client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    response = app_client.post(
        "/api/v1/tokens",
        json={"name": "field-1", "role": "field"},
        headers=bearer(tokens["admin"]) | {"X-Request-ID": "abc-123"},
    )
    assert response.headers["x-request-id"] == "abc-123"
    entry = session.exec(
        select(AuditEntry).where(
            AuditEntry.action == "token.create", AuditEntry.entity_id == "field-1"
        )
    ).one()
    assert entry.request_id == "abc-123" and entry.actor == "t-admin"


def test_the_hot_device_read_keeps_auth_audit_and_request_ids(
    app_client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    url = "/api/v1/devices/Q2FY-AAAA-0001"
    missing = app_client.get(url, headers=bearer(tokens["viewer"]) | {"X-Request-ID": "hot-1"})
    assert (missing.status_code, missing.headers["x-request-id"]) == (404, "hot-1")
    assert missing.json()["error"] == "not_found"
    anonymous = app_client.get(url)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert app_client.get(url, headers=bearer("nk_forged")).status_code == 401
    refused = session.exec(select(AuditEntry).where(AuditEntry.action == "auth.refused")).all()
    assert [(r.outcome, r.entity_id) for r in refused] == [("unauthenticated", f"GET {url}")]


def test_a_role_refused_on_the_hot_device_read_is_403_and_audited(
    app_client: TestClient, session: Session
) -> None:
    """The device read skips FastAPI's guards (`inventory.router.device_fast`): a token whose
    role may not read (a customer's) is refused there as on any route, and the refusal audited."""
    issued = auth.create_token(
        session=session, actor=ADMIN, name="acme-portal", role=TokenRole.CUSTOMER, customer="ACME"
    )
    session.commit()
    for _ in range(2):  # the second: its identity now cached
        response = app_client.get("/api/v1/devices/Q2FY-AAAA-0001", headers=bearer(issued.token))
        assert response.status_code == 403
        assert response.json()["error"] == "forbidden"
    entry = session.exec(select(AuditEntry).where(AuditEntry.outcome == "denied")).one()
    assert (entry.actor, entry.role, entry.entity_id) == (
        "acme-portal",
        "customer",
        "GET /api/v1/devices/Q2FY-AAAA-0001",
    )

"""Every bad value is a 4xx with a JSON error naming it; the OpenAPI says which statuses come."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.app import create_app
from core.settings import Settings
from inventory.models import Device
from tests.conftest import bearer
from tests.service.helpers import import_csv, write_csv

ID_MAX = 2**31 - 1  # PostgreSQL INTEGER, the id column on both databases


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/jobs/{}",
        "/api/v1/rmas/{}",
        "/api/v1/change-requests/{}",
        "/api/v1/surveys/{}",
        "/api/v1/vpn/builds/{}",
    ],
)
def test_ids_beyond_the_column_are_422_and_the_largest_is_a_plain_404(
    app_client: TestClient, tokens: dict[str, str], path: str
) -> None:
    h = bearer(tokens["viewer"])
    for too_big in (ID_MAX + 1, 2**63, 2**64 + 1):
        answer = app_client.get(path.format(too_big), headers=h)
        assert answer.status_code == 422, (too_big, answer.text)
        assert answer.json()["error"] == "validation_failed"
    assert app_client.get(path.format(0), headers=h).status_code == 422
    largest = app_client.get(path.format(ID_MAX), headers=h)
    assert largest.status_code == 404 and largest.json()["error"] == "not_found"


def test_a_page_offset_beyond_the_column_is_422(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    h = bearer(tokens["viewer"])
    assert app_client.get(f"/api/v1/rmas?offset={2**63}", headers=h).status_code == 422
    assert app_client.get(f"/api/v1/rmas?offset={ID_MAX}", headers=h).status_code == 200


@pytest.mark.parametrize(
    ("month", "status"),
    [
        ("0000-01", 422),
        ("0001-01", 422),
        ("1899-12", 422),
        ("1900-01", 200),
        ("2026-13", 422),
        ("2026-00", 422),
        ("2199-12", 200),
        ("2200-01", 422),
        ("9999-12", 422),
    ],
)
def test_charges_of_a_month_outside_1900_to_2199_are_422(
    app_client: TestClient, tokens: dict[str, str], month: str, status: int
) -> None:
    answer = app_client.get(
        "/api/v1/rmas/views/charges-this-month",
        params={"month": month},
        headers=bearer(tokens["viewer"]),
    )
    assert answer.status_code == status, answer.text
    if status == 422:
        assert answer.json()["problems"][0]["location"] == "query.month"


def test_a_device_note_of_null_is_422_and_an_empty_one_clears_it(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    import_csv(session, write_csv(tmp_path, "Q2FY-NULL-0001,MX67,,in_stock,,倉庫,,,,,,old\n"))
    session.commit()  # a savepoint, kept when the refused request rolls back
    h = bearer(tokens["admin"])
    url = "/api/v1/devices/Q2FY-NULL-0001"
    refused = app_client.patch(url, json={"notes": None}, headers=h)
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["location"] == "body.notes"
    device = session.exec(select(Device).where(Device.serial == "Q2FY-NULL-0001")).one()
    assert device.notes == "old"
    assert app_client.patch(url, json={"notes": ""}, headers=h).status_code == 200
    session.refresh(device)
    assert device.notes == ""


@pytest.mark.parametrize(
    "body",
    [b"{", b"[1, 2", b"\xff\xfe", b"null", b'{"serial": 1e999}', b'"just a string"'],
)
def test_malformed_bodies_are_422_with_the_json_error(
    app_client: TestClient, tokens: dict[str, str], body: bytes
) -> None:
    answer = app_client.post(
        "/api/v1/rmas",
        content=body,
        headers=bearer(tokens["noc"]) | {"Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    error = answer.json()
    assert error["error"] == "validation_failed" and error["problems"]


def test_every_integer_parameter_is_bounded_in_the_schema(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    unbounded = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            for parameter in operation.get("parameters", []):
                schemas = [parameter["schema"], *parameter["schema"].get("anyOf", [])]
                for schema in schemas:
                    if schema.get("type") == "integer" and "maximum" not in schema:
                        unbounded.append((method, path, parameter["name"]))
    assert unbounded == []


def _unbounded_integers(spec: dict[str, Any], schema: Any, where: str, seen: set[str]) -> list[str]:
    """Integer fields without a maximum anywhere inside `schema` (following $refs once)."""
    if not isinstance(schema, dict):
        return []
    ref = schema.get("$ref")
    if isinstance(ref, str):
        if ref in seen:
            return []
        seen.add(ref)
        return _unbounded_integers(
            spec, spec["components"]["schemas"][ref.split("/")[-1]], ref, seen
        )
    found = [where] if schema.get("type") == "integer" and "maximum" not in schema else []
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            found += _unbounded_integers(spec, part, where, seen)
    for name, part in schema.get("properties", {}).items():
        found += _unbounded_integers(spec, part, f"{where}.{name}", seen)
    found += _unbounded_integers(spec, schema.get("items"), f"{where}[]", seen)
    return found


def test_every_integer_in_a_request_body_is_bounded_in_the_schema(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    unbounded = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                unbounded += _unbounded_integers(
                    spec, media.get("schema"), f"{method} {path}", set()
                )
    assert unbounded == []


def _statuses(spec: dict[str, object], method: str, path: str) -> set[str]:
    paths = spec["paths"]
    assert isinstance(paths, dict)
    return set(paths[path][method]["responses"])


def test_the_openapi_lists_the_error_statuses_of_each_kind_of_route(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    # A secured read by id: no token, wrong role, no such job, not in a state to show, a bad id,
    # a busy database.
    assert _statuses(spec, "get", "/api/v1/jobs/{job_id}") == {
        "200", "401", "403", "404", "409", "422", "503"
    }  # fmt: skip
    # A secured write without parameters or body.
    assert _statuses(spec, "post", "/api/v1/rmas/sweep") == {"200", "401", "403", "409", "503"}
    # A write with a body and an id.
    assert _statuses(spec, "post", "/api/v1/rmas/{rma_id}/decide") == {
        "200", "400", "401", "403", "404", "409", "413", "422", "503"
    }  # fmt: skip
    # A write that calls the dashboard.
    assert "502" in _statuses(spec, "post", "/api/v1/inventory/reconcile")
    # The open health check.
    assert _statuses(spec, "get", "/healthz") == {"200", "503"}
    busy = spec["paths"]["/api/v1/rmas/sweep"]["post"]["responses"]["503"]
    assert "Retry-After" in busy["headers"]
    assert busy["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert spec["components"]["schemas"]["Error"]["required"] == [
        "error", "message", "problems", "details"
    ]  # fmt: skip


def test_unknown_routes_and_methods_answer_the_json_error(app_client: TestClient) -> None:
    missing = app_client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = app_client.put("/healthz")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"
    assert wrong.headers["allow"] == "GET"


def test_a_bug_answers_a_json_500_with_the_request_id_and_no_trace(settings: Settings) -> None:
    app = create_app(settings)

    def broken() -> None:
        raise RuntimeError("secret internals")

    app.api.add_api_route("/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/broken", headers={"X-Request-ID": "req-500"})
    assert answer.status_code == 500
    assert answer.json()["error"] == "internal_error"
    assert answer.json()["details"] == {"request_id": "req-500"}
    assert "secret internals" not in answer.text

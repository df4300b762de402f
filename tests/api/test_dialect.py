"""One API dialect: one error shape, one page envelope, numbers people see, documented statuses.

The rules are written out here from the README's API section, not read from the code: an error
is exactly `{"error": str, "message": str, "problems": [{"message", "location"}], "details": {}}`;
a list is `{"total", "limit", "offset", "items"}` over `limit` (1-1000, default 100) and `offset`.
"""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from core import auth
from core.auth import TokenRole
from core.settings import Settings
from tests.conftest import ADMIN, bearer
from tests.service.rma_builders import FAILED, build_world

ERROR_KEYS = {"error", "message", "problems", "details"}


def assert_error(body: Any, code: str) -> None:
    """The one error shape, every key present with its type."""
    assert isinstance(body, dict) and set(body) == ERROR_KEYS, body
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    assert isinstance(body["problems"], list)
    for problem in body["problems"]:
        assert set(problem) == {"message", "location"}, problem


@pytest.fixture
def spec(app_client: TestClient) -> dict[str, Any]:
    response = app_client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if path.startswith("/api/v1/")
    ]


def test_every_documented_error_response_is_the_one_error_object(spec: dict[str, Any]) -> None:
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == ERROR_KEYS and error["additionalProperties"] is False
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    wrong = [
        f"{method.upper()} {path} {status}"
        for method, path, op in operations(spec)
        for status, response in op["responses"].items()
        if int(status) >= 400
        and response.get("content", {}).get("application/json", {}).get("schema")
        != {"$ref": "#/components/schemas/Error"}
    ]
    assert wrong == []


def test_every_kind_of_error_answers_the_one_shape(
    app_client: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    admin = bearer(tokens["admin"])
    assert_error(app_client.get("/api/v1/no-such-thing", headers=admin).json(), "not_found")
    wrong_method = app_client.put("/healthz")
    assert wrong_method.status_code == 405
    assert_error(wrong_method.json(), "method_not_allowed")
    unauthenticated = app_client.get("/api/v1/devices")
    assert unauthenticated.status_code == 401
    assert_error(unauthenticated.json(), "unauthenticated")
    forbidden = app_client.post("/api/v1/rmas/sweep", headers=bearer(tokens["viewer"]))
    assert forbidden.status_code == 403
    assert_error(forbidden.json(), "forbidden")
    request_invalid = app_client.get("/api/v1/devices?limit=0", headers=admin)
    assert request_invalid.status_code == 422
    assert_error(request_invalid.json(), "validation_failed")
    assert request_invalid.json()["problems"][0]["location"] == "query.limit"
    body_invalid = app_client.post("/api/v1/rmas", json={"serial": 5}, headers=admin)
    assert body_invalid.status_code == 422
    assert_error(body_invalid.json(), "validation_failed")
    not_json = app_client.post(
        "/api/v1/rmas",
        content=b"{not json",
        headers={**admin, "content-type": "application/json"},
    )
    assert not_json.status_code in (400, 422)
    assert_error(not_json.json(), "validation_failed")
    missing = app_client.get("/api/v1/devices/Q2XX-0000-0000", headers=admin)
    assert missing.status_code == 404
    assert_error(missing.json(), "not_found")
    too_large = app_client.post(
        "/api/v1/rmas",
        content=b"x" * (settings.max_body_bytes + 1),
        headers={**admin, "content-type": "application/json"},
    )
    assert too_large.status_code == 413
    assert_error(too_large.json(), "payload_too_large")
    foreign_host = app_client.get("/healthz", headers={"host": "evil.example"})
    assert foreign_host.status_code == 400
    assert_error(foreign_host.json(), "bad_host")


PAGE_KEYS = {"total", "limit", "offset", "items"}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _ok_schema(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any] | None:
    for status in ("200", "201", "202"):
        content = op["responses"].get(status, {}).get("content", {})
        if "application/json" in content:
            return _resolve(spec, content["application/json"].get("schema", {}))
    return None


def list_routes(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Every GET that answers many of something: its body holds `items`, or is an array."""
    found = []
    for method, path, op in operations(spec):
        schema = _ok_schema(spec, op)
        many = schema is not None and (
            schema.get("type") == "array" or "items" in schema.get("properties", {})
        )
        if method == "get" and many and schema is not None:
            found.append((path, op, schema))
    return found


def test_every_list_is_paged_alike_with_the_same_parameters_and_envelope(
    spec: dict[str, Any],
) -> None:
    routes = list_routes(spec)
    assert {"/api/v1/jobs", "/api/v1/rmas", "/api/v1/devices", "/api/v1/vpn/events"} <= {
        path for path, _, _ in routes
    }
    for path, op, schema in routes:
        assert schema.get("type") == "object", f"{path} answers a bare list"
        assert set(schema["properties"]) == PAGE_KEYS, path
        assert set(schema["required"]) == PAGE_KEYS, path
        assert schema["properties"]["items"]["type"] == "array", path
        query = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
        assert {"limit", "offset"} <= set(query), path
        limit, offset = query["limit"]["schema"], query["offset"]["schema"]
        assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 1000, 100), path
        assert (offset["minimum"], offset["default"]) == (0, 0), path


def test_every_list_answers_its_page(
    app_client: TestClient, tokens: dict[str, str], spec: dict[str, Any], session: Session
) -> None:
    admin = bearer(tokens["admin"])
    customer = bearer(  # the portal's lists answer a customer's token only
        auth.create_token(
            session=session, actor=ADMIN, name="t-customer", role=TokenRole.CUSTOMER,
            customer="株式会社テスト",
        ).token
    )  # fmt: skip
    session.commit()
    app_client.post(  # something to list on more than one route
        "/api/v1/contracts",
        json={"number": "C-2099-0001", "customer": "株式会社テスト", "plan": "utm",
              "application_date": "2099-01-05"},
        headers=admin,
    )  # fmt: skip
    checked = 0
    for path, _, _ in list_routes(spec):
        if "{" in path:
            continue
        who = customer if path.startswith("/api/v1/portal/") else admin
        first = app_client.get(path, params={"limit": 1}, headers=who)
        assert first.status_code == 200, (path, first.text)
        body = first.json()
        assert set(body) == PAGE_KEYS, path
        assert (body["limit"], body["offset"]) == (1, 0), path
        assert len(body["items"]) == min(1, body["total"]), path
        past = app_client.get(path, params={"offset": body["total"]}, headers=who).json()
        assert (past["items"], past["total"], past["limit"]) == ([], body["total"], 100), path
        checked += 1
    assert checked >= 15
    contracts = app_client.get("/api/v1/contracts", headers=admin).json()
    assert contracts["total"] == 1 and contracts["items"][0]["number"] == "C-2099-0001"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("RMA-000004", 4), ("rma-4", 4), ("4", 4), ("RMA-2147483647", 2147483647)],
)
def test_the_number_people_see_names_the_record(given: str, expected: int) -> None:
    from core.bounds import record_number

    assert record_number(given, "RMA") == expected


@pytest.mark.parametrize("given", ["SV-000004", "RMA-0", "RMA-2147483648", "RMA-", "RMA-4x", "-4"])
def test_a_number_of_another_kind_or_out_of_range_is_refused(given: str) -> None:
    from core.bounds import record_number

    with pytest.raises(ValueError):
        record_number(given, "RMA")


def test_numbered_resources_answer_to_the_number_people_see(
    app_client: TestClient,
    tokens: dict[str, str],
    spec: dict[str, Any],
    session: Session,
    tmp_path: Path,
) -> None:
    build_world(session, tmp_path)
    admin = bearer(tokens["admin"])
    opened = app_client.post(
        "/api/v1/rmas",
        json={"serial": FAILED, "symptom": "電源が入らない", "reporter": "総務 田中"},
        headers=admin,
    )
    assert opened.status_code == 201, opened.text
    number, rma_id = opened.json()["number"], opened.json()["id"]
    assert number == f"RMA-{rma_id:06d}"
    by_number = app_client.get(f"/api/v1/rmas/{number}", headers=admin)
    assert by_number.status_code == 200 and by_number.json()["id"] == rma_id
    assert app_client.get(f"/api/v1/rmas/{rma_id}", headers=admin).json()["number"] == number
    decided = app_client.post(
        f"/api/v1/rmas/{number}/decide", json={"replace": True}, headers=admin
    )
    assert decided.status_code == 200, decided.text
    wrong_kind = app_client.get("/api/v1/rmas/SV-000001", headers=admin)
    assert wrong_kind.status_code == 422
    assert_error(wrong_kind.json(), "validation_failed")
    assert wrong_kind.json()["problems"][0]["location"] == "path.rma_id"
    missing = app_client.get("/api/v1/rmas/RMA-999999", headers=admin)
    assert missing.status_code == 404
    assert_error(missing.json(), "not_found")
    survey = app_client.get("/api/v1/surveys/SV-000001", headers=admin)
    assert survey.status_code == 404 and "1" in survey.json()["message"]
    # every route of these resources takes both forms, as the OpenAPI says
    for method, path, op in operations(spec):
        for param in op.get("parameters", []):
            if param["in"] == "path" and param["name"] in ("rma_id", "survey_id"):
                assert param["schema"]["type"] == "string", (method, path)
                assert "000004" in param["schema"]["examples"][0], (method, path)


def test_a_body_of_optional_fields_may_be_left_out(
    app_client: TestClient,
    tokens: dict[str, str],
    spec: dict[str, Any],
    session: Session,
    tmp_path: Path,
) -> None:
    optional_bodies = []
    for method, path, op in operations(spec):
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            schema = _resolve(spec, body["schema"])
            if not schema.get("required"):
                optional_bodies.append(f"{method.upper()} {path}")
                assert not op["requestBody"].get("required"), f"{method} {path}"
    assert "POST /api/v1/rmas/{rma_id}/reserve" in optional_bodies
    build_world(session, tmp_path)
    admin = bearer(tokens["admin"])
    rma = app_client.post(
        "/api/v1/rmas",
        json={"serial": FAILED, "symptom": "電源断", "reporter": "総務"},
        headers=admin,
    ).json()["number"]
    app_client.post(f"/api/v1/rmas/{rma}/decide", json={"replace": True}, headers=admin)
    reserved = app_client.post(f"/api/v1/rmas/{rma}/reserve", headers=admin)  # no body at all
    assert reserved.status_code == 200, reserved.text
    assert reserved.json()["status"] == "replacement_reserved"
    unpaid = app_client.post("/api/v1/contracts/C-NONE/initial-fee-paid", headers=admin)
    assert unpaid.status_code == 404  # the body was not asked for; the contract is unknown


def test_the_dialect_is_stated_once_in_the_openapi(spec: dict[str, Any]) -> None:
    description = spec["info"]["description"]
    for rule in ("{error, message, problems, details}", "{total, limit, offset, items}",
                 "RMA-000004", "Asia/Tokyo"):  # fmt: skip
        assert rule in description

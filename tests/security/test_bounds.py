"""Requests are bounded before any work starts: body size, JSON shape, strings.

Limits as stated in the settings: a body of at most `max_body_bytes` (default 10 MiB), JSON at
most `max_json_depth` (32) containers deep and free of lone surrogates; names and free text as in
core.fields (the length of their column; no control, format or bidi characters in names).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from core.models import AuditEntry
from tests.conftest import bearer
from tests.security.conftest import ClientFactory

SURVEY = {
    "customer": "株式会社みなと",
    "site": "本社",
    "surveyor": "田中",
    "survey_date": "2026-11-02",
}


def audit_rows(session: Session) -> int:
    return session.exec(select(func.count()).select_from(AuditEntry)).one()


# --- the global body limit -----------------------------------------------------------------


def test_a_declared_oversized_body_is_refused_before_auth_or_route(
    client_with: ClientFactory, session: Session
) -> None:
    client = client_with(max_body_bytes=2000)
    before = audit_rows(session)
    refused = client.post(
        "/api/v1/surveys", content=b"{" + b" " * 2000 + b"}", headers=bearer("not-a-token")
    )
    assert refused.status_code == 413
    assert refused.json()["error"] == "payload_too_large"
    assert refused.json()["details"]["limit_bytes"] == 2000
    assert audit_rows(session) == before  # not even the refused token was looked at


def test_the_limit_itself_is_accepted(client_with: ClientFactory, tokens: dict[str, str]) -> None:
    client = client_with(max_body_bytes=2000)
    body = json.dumps({**SURVEY, "address": ""}).encode()
    padded = body[:-1] + b" " * (2000 - len(body)) + b"}"
    assert len(padded) == 2000
    created = client.post(
        "/api/v1/surveys",
        content=padded,
        headers={**bearer(tokens["field"]), "content-type": "application/json"},
    )
    assert created.status_code == 201, created.text
    over = client.post(
        "/api/v1/surveys",
        content=padded + b" ",
        headers={**bearer(tokens["field"]), "content-type": "application/json"},
    )
    assert over.status_code == 413


def test_a_streamed_body_without_length_is_counted(
    client_with: ClientFactory, tokens: dict[str, str]
) -> None:
    client = client_with(max_body_bytes=10_000)

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000

    refused = client.post(
        "/api/v1/sheets/validate",
        content=chunks(),
        headers={**bearer(tokens["viewer"]), "content-type": "multipart/form-data; boundary=b"},
    )
    assert "content-length" not in refused.request.headers
    assert refused.status_code == 413
    assert refused.json()["error"] == "payload_too_large"


def test_a_50_mb_body_is_refused_in_well_under_a_second(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    body = b"a: [" + b"1," * (25 * 2**20) + b"1]\n"
    started = time.perf_counter()
    refused = app_client.post(
        "/api/v1/sheets/validate",
        files={"file": ("big.yaml", body, "application/yaml")},
        headers=bearer(tokens["viewer"]),
    )
    assert refused.status_code == 413
    assert time.perf_counter() - started < 1.0


# --- JSON shape ------------------------------------------------------------------------------


def test_json_depth_32_passes_the_guard_and_33_is_refused(app_client: TestClient) -> None:
    headers = {"content-type": "application/json"}
    ok = app_client.post("/api/v1/surveys", content=b"[" * 32 + b"]" * 32, headers=headers)
    assert "nested deeper" not in ok.text  # reaches validation (and its own 401/422)
    deep = app_client.post("/api/v1/surveys", content=b"[" * 33 + b"]" * 33, headers=headers)
    assert deep.status_code == 422
    assert deep.json()["problems"][0]["message"] == "JSON nested deeper than 32 levels"
    very = app_client.post(
        "/api/v1/surveys", content=b"[" * 100_000 + b"]" * 100_000, headers=headers
    )
    assert very.status_code == 422


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"customer": "\\ud800x"}', "body.customer"),
        (b'{"ssids": [{"name": "\\udfff"}]}', "body.ssids[0].name"),
        (b'{"\\ud83d": 1}', "body"),
    ],
)
def test_a_lone_surrogate_is_a_422_not_a_500(
    app_client: TestClient, tokens: dict[str, str], body: bytes, where: str
) -> None:
    response = app_client.post(
        "/api/v1/surveys",
        content=body,
        headers={**bearer(tokens["field"]), "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["problems"][0]["location"] == where


def test_a_proper_surrogate_pair_is_just_an_emoji(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    body = json.dumps({**SURVEY, "address": "本社 \ud83c\udfe2"}, ensure_ascii=True).encode()
    created = app_client.post(
        "/api/v1/surveys",
        content=body,
        headers={**bearer(tokens["field"]), "content-type": "application/json"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["address"] == "本社 🏢"


# --- strings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"customer": "さくら\u202e商事"},  # right-to-left override
        {"site": "本社\x00"},  # NUL
        {"surveyor": "田中\u200b"},  # zero-width space
        {"customer": "   "},
        {"customer": "あ" * 121},
        {"address": "x" * 201},
    ],
)
def test_names_are_bounded_and_visible(
    app_client: TestClient, tokens: dict[str, str], changes: dict[str, str]
) -> None:
    response = app_client.post(
        "/api/v1/surveys", json={**SURVEY, **changes}, headers=bearer(tokens["field"])
    )
    assert response.status_code == 422, response.text


def test_a_long_note_is_refused_at_its_column_limit(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    h = bearer(tokens["noc"])
    url = "/api/v1/rmas"
    ok = {"serial": "Q2FY-NOPE-0001", "reporter": "山田", "symptom": "電源断\n" + "あ" * 1996}
    refused = app_client.post(url, json={**ok, "symptom": ok["symptom"] + "あ"}, headers=h)
    assert refused.status_code == 422
    assert app_client.post(url, json=ok, headers=h).status_code == 404  # valid; serial unknown

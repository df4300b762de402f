"""Abuse of every route that takes a body, found in the OpenAPI so a new route cannot escape.

Each operation with a multipart body (an upload) gets a 50 MB file, a file name climbing out of
its folder and a file of invalid UTF-8; each operation with a JSON body gets a 50 MB body, JSON
nested 10,000 deep and bytes that are not UTF-8. Always as admin (past every guard). The rule:
413 for the size, 422 (or another 4xx with an error body) for the rest — never a 5xx — and
nothing written outside the var directory. The RSS bound of a real server under the same abuse is
tests/security/test_rss_bound.py (640 MiB, in the full form).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.reliability.test_role_matrix import filled

FIFTY_MB = 50 * 2**20
NAMES = ("../../../../tmp/nk-escape.yaml", "..\\..\\nk-escape.yaml", "/etc/nk-escape.yaml")


def bodies(openapi: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(method, url) of the operations taking multipart and taking JSON."""
    uploads, jsons = [], []
    for template, methods in openapi["paths"].items():
        if not template.startswith("/api/v1/") or template.startswith("/api/v1/tokens"):
            continue
        for method, spec in methods.items():
            content = spec.get("requestBody", {}).get("content", {})
            url = filled(template, spec.get("parameters", []))
            if "multipart/form-data" in content:
                uploads.append((method.upper(), url))
            if "application/json" in content:
                jsons.append((method.upper(), url))
    return uploads, jsons


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_body_route_refuses_abuse_with_a_4xx(
    app_client: TestClient,
    tokens: dict[str, str],
    tmp_path: Path,
    figure: Callable[[str, Any], None],
) -> None:
    uploads, jsons = bodies(app_client.get("/openapi.json").json())
    assert len(uploads) >= 5 and len(jsons) >= 20
    admin = bearer(tokens["admin"])
    big = b"x" * FIFTY_MB
    answers: Counter[int] = Counter()
    wrong: list[str] = []

    def check(
        method: str, url: str, what: str, expected: set[int], json: bool = False, **kwargs: Any
    ) -> None:
        headers = {**admin, "content-type": "application/json"} if json else admin
        response = app_client.request(method, url, headers=headers, **kwargs)
        answers[response.status_code] += 1
        ok = response.status_code in expected or (
            413 not in expected and 400 <= response.status_code < 500 and response.content
        )
        if response.status_code >= 500 or not ok:
            wrong.append(f"{method} {url} {what}: {response.status_code} {response.text[:200]}")

    for method, url in uploads:
        check(method, url, "50 MB file", {413}, files={"file": ("big.yaml", big, "text/yaml")})
        for name in NAMES:
            check(method, url, name, {422}, files={"file": (name, b"site: {}\n", "text/yaml")})
        bad = b"site:\n  name: \xff\xfe\xc3\x28\n"
        check(method, url, "invalid UTF-8", {422}, files={"file": ("bad.yaml", bad, "text/yaml")})
    deep = b"[" * 10_000 + b"]" * 10_000
    for method, url in jsons:
        check(method, url, "50 MB JSON", {413}, json=True, content=big)
        check(method, url, "deep JSON", {422}, json=True, content=deep)
        check(method, url, "not UTF-8", {422}, json=True, content=b'{"a": "\xff"}')
    escaped = [p for p in (Path("/tmp/nk-escape.yaml"), Path("/etc/nk-escape.yaml")) if p.exists()]
    figure("upload_routes", len(uploads))
    figure("json_routes", len(jsons))
    figure("answers", {str(k): v for k, v in sorted(answers.items())})
    figure("wrong", len(wrong) + len(escaped))
    assert escaped == []
    assert wrong == [], "\n".join(wrong)
    assert not any(re.match(r"5\d\d", str(k)) for k in answers)

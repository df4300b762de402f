"""Role matrix: every operation of netkeep's OpenAPI × no token / bad token / each role.

The expectations come from the documentation, not from the code: the README's role table says
which roles may perform each operation and lists the endpoints of every operation but `read`
("every other GET"). Each operation of /openapi.json is called with no token (401), a malformed
and an unknown token (401), and a token of each role: 403 when the table refuses the role, else
past the guard (neither 401 nor 403) — and never a 5xx. A route the table does not list can only
be a GET (then it is `read`); any other fails here, so a new route cannot escape the matrix. The
table's `customer` column is a customer token's (bound to a customer): its one ✓ is the `portal`
row, which lists every /api/v1/portal/… route — so a customer token is refused (403) everywhere
else, and every staff token on the portal.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.app import create_app
from core import auth
from core.auth import TokenRole
from core.settings import Settings
from sandbox.server import SandboxServer
from tests.conftest import ADMIN, SessionReadPath, bearer

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `(?P<op>[\w.]+)` \|")
ENDPOINT = re.compile(r"`(?P<method>[A-Z]+) (?P<path>/[^`]*)`")
PREFIX = "/api/v1"


def documented() -> tuple[list[str], dict[str, set[str]], dict[tuple[str, str], str]]:
    """(roles, roles allowed per operation, operation per listed endpoint) from the README."""
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- role-table:begin")
    lines = text[start:].splitlines()[1:]
    head = [cell.strip() for cell in lines[0].strip("|").split("|")]
    roles = head[2:-1]
    allowed: dict[str, set[str]] = {}
    endpoints: dict[tuple[str, str], str] = {}
    for line in lines[2:]:
        found = ROW.match(line)
        if not found:
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        allowed[found["op"]] = {r for r, mark in zip(roles, cells[2:-1], strict=True) if mark}
        for ep in ENDPOINT.finditer(cells[-1]):
            path = re.sub(r":\w+}", "}", ep["path"])  # Starlette's {name:path} is {name}
            endpoints[(ep["method"], path)] = found["op"]
    return roles, allowed, endpoints


def filled(path: str, parameters: list[dict[str, Any]]) -> str:
    """The path with each parameter given a value of its type that names nothing."""
    kinds = {p["name"]: p.get("schema", {}).get("type") for p in parameters if p["in"] == "path"}
    for name, kind in kinds.items():
        path = path.replace("{" + name + "}", "987654" if kind == "integer" else "NK-NONE-0000")
    return path


@pytest.fixture
def client(
    sandbox: SandboxServer, engine: Engine, session: Session, tmp_path: Path
) -> Iterator[TestClient]:
    """The app on the rolled-back session, its dashboard the sandbox (never the internet)."""
    settings = Settings(
        database_url=str(engine.url),
        var_dir=tmp_path / "var",
        meraki_base_url=sandbox.base_url,
        meraki_api_key=sandbox.api_key,
        _env_file=None,
    )
    app = create_app(settings, engine)
    app.state.session_factory = lambda: __import__("contextlib").nullcontext(session)
    app.state.read_path = SessionReadPath(session)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


# The guard does not depend on the dialect: SQLite only (the concurrency section has PostgreSQL).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_operation_answers_each_caller_as_the_role_table_documents(
    client: TestClient,
    session: Session,
    tokens: dict[str, str],
    figure: Callable[[str, Any], None],
) -> None:
    customer = auth.create_token(
        session=session,
        actor=ADMIN,
        name="t-customer",
        role=TokenRole.CUSTOMER,
        customer="Matrix Customer",
    )
    session.commit()
    tokens = {**tokens, TokenRole.CUSTOMER.value: customer.token}
    roles, allowed, endpoints = documented()
    assert set(roles) == set(tokens), "the README's roles are the roles tokens are issued for"
    assert "read" in allowed and len(endpoints) > 40
    # the README's portal promise, stated here: the customer's only, no staff role
    assert allowed["portal"] == {"customer"}
    assert all("customer" not in who for op, who in allowed.items() if op != "portal")
    openapi = client.get("/openapi.json").json()
    callers: dict[str, dict[str, str]] = {
        "none": {},
        "malformed": {"Authorization": "Bearer"},
        "unknown": bearer("nk_" + "0" * 40),
        **{role: bearer(tokens[role]) for role in roles},
    }
    wrong: list[str] = []
    seen: Counter[str] = Counter()
    listed_seen = set()
    for template, methods in openapi["paths"].items():
        if not template.startswith(PREFIX):
            continue
        for method, spec in methods.items():
            method = method.upper()
            key = (method, template[len(PREFIX) :])
            operation = endpoints.get(key, "read" if method == "GET" else None)
            if template.startswith(f"{PREFIX}/portal/") and operation != "portal":
                wrong.append(f"{method} {template}: a portal route missing from the portal row")
                continue
            if operation is None:
                wrong.append(f"{method} {template}: not in the README's role table")
                continue
            listed_seen.add(key)
            url = filled(template, spec.get("parameters", []))
            for caller, headers in callers.items():
                status = client.request(method, url, headers=headers).status_code
                seen[f"{status // 100}xx"] += 1
                if caller in ("none", "malformed", "unknown"):
                    expected = "401"
                    ok = status == 401
                elif caller in allowed[operation]:
                    expected = "past the guard"
                    ok = status not in (401, 403) and status < 500
                else:
                    expected = "403"
                    ok = status == 403
                if status >= 500 or not ok:
                    wrong.append(f"{method} {url} as {caller}: {status}, documented {expected}")
    missing = sorted(set(endpoints) - listed_seen)
    operations = sum(1 for t, ms in openapi["paths"].items() if t.startswith(PREFIX) for _ in ms)
    figure("operations", operations)
    figure("calls", sum(seen.values()))
    figure("by_class", dict(sorted(seen.items())))
    figure("mismatches", len(wrong) + len(missing))
    assert missing == [], f"endpoints the README lists but the API lacks: {missing}"
    assert wrong == []

"""Schemathesis against netkeep's own OpenAPI, in process, with an admin token, bounded.

Each operation of /openapi.json gets `max_examples` requests drawn from its schema
(derandomized: 3 in the short form, 25 in the full one), and every answer is checked: no server
error (5xx), and every documented answer conforming to its response schema. The app runs on a
SQLite file holding the demo's data, its dashboard the sandbox. The token routes are left out:
the fuzzer would revoke its own token (tests/api/test_tokens_api.py covers them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app
from core.db import make_engine
from core.settings import Settings
from netkeep.demo import load_demo
from sandbox.server import SandboxServer

SHORT, FULL = 3, 25


@pytest.fixture
def fuzzed(tmp_path: Path, sandbox_server: SandboxServer) -> tuple[Any, str]:
    """The schema of a live app on the demo's data, and the admin token to send."""
    url = f"sqlite:///{tmp_path / 'netkeep.db'}"
    token = load_demo(url).admin_token
    settings_ = Settings(
        database_url=url,
        var_dir=tmp_path / "var",
        meraki_base_url=sandbox_server.base_url,
        meraki_api_key=sandbox_server.api_key,
        _env_file=None,
    )
    app = create_app(settings_, make_engine(url))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return schema.include(path_regex=r"^/api/v1/").exclude(path_regex=r"^/api/v1/tokens"), token


def test_no_server_error_and_every_answer_as_documented(
    fuzzed: tuple[Any, str],
    full: bool,
    figure: Callable[[str, Any], None],
) -> None:
    schema, token = fuzzed
    headers = {"Authorization": f"Bearer {token}"}
    checks = [not_a_server_error, response_schema_conformance]
    calls: Counter[str] = Counter()
    found: dict[str, str] = {}
    operations = [op.ok() for op in schema.get_all_operations()]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=FULL if full else SHORT,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
        )
        def one(case: Any) -> None:
            response = case.call(headers=headers)
            calls[f"{response.status_code // 100}xx"] += 1
            case.validate_response(response, checks=checks)

        try:
            one()
        except Exception as exc:  # every failing operation is listed, then the test fails
            found[operation.label] = f"{type(exc).__name__}: {str(exc)[:600]}"
    figure("operations", len(operations))
    figure("examples_each", FULL if full else SHORT)
    figure("calls", dict(sorted(calls.items())))
    figure("failing_operations", len(found))
    assert found == {}, "\n".join(f"{k}: {v}" for k, v in found.items())

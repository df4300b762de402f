"""Roles as the business has them: one policy, the guards and the README generated from it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api import role_table
from core.auth import Role
from core.policy import Operation, may
from tests.conftest import bearer


def test_the_readme_role_table_is_the_one_generated_from_the_policy() -> None:
    text = role_table.README.read_text(encoding="utf-8")
    assert role_table.BEGIN in text and role_table.END in text
    table = role_table.role_table(role_table.guarded_routes(), role_table.portal_routes())
    regenerated = role_table.with_table(text, table)
    assert regenerated == text, "README.md drifted from core/policy.py: run `make roles`"


def test_the_portal_row_is_the_customers_only_and_lists_every_portal_route() -> None:
    table = role_table.role_table(role_table.guarded_routes(), role_table.portal_routes())
    lines = table.splitlines()
    head = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert head[2:-1] == ["admin", "noc", "field", "logistics", "viewer", "customer"]
    rows = {line.split(" | ")[0].strip("| `"): line.split(" | ") for line in lines[2:]}
    assert rows["portal"][2:8] == ["", "", "", "", "", "✓"]
    assert all(cells[7] == "" for op, cells in rows.items() if op != "portal")
    # some of the portal's routes, written out: its reads, the approval and the acceptance
    for route in (
        "`GET /portal/contracts`",
        "`GET /portal/vpn-reports/{report_id}/report.pdf`",
        "`POST /portal/surveys/{survey_id}/versions/{number}/approve`",
        "`POST /portal/changes/{request_id}/accept`",
        "`POST /portal/changes/{request_id}/defect`",
    ):
        assert route in rows["portal"][-1]


def test_the_table_marks_who_may_plan() -> None:
    routes = role_table.guarded_routes()
    table = role_table.role_table(routes)
    row = next(line for line in table.splitlines() if line.startswith("| `provisioning.plan`"))
    # admin, noc, field plan; logistics and viewer do not (columns in Role order)
    assert row.split(" | ")[2:7] == ["✓", "✓", "✓", "", ""]


def test_every_api_route_is_guarded_by_exactly_one_policy_operation() -> None:
    routes = role_table.guarded_routes()
    assert len(routes) > 90
    unguarded = [f"{r.method} {r.path}" for r in routes if len(r.operations) != 1]
    assert unguarded == []


def test_reads_are_gets_and_gets_are_reads_except_tokens_secrets_and_doctor() -> None:
    for route in role_table.guarded_routes():
        is_read = route.operations == (Operation.READ,)
        # doctor: admin and NOC only; notice contacts (customers' addresses, webhook secrets'
        # names): NOC and admin only (issue 11)
        if route.path in ("/tokens", "/secrets", "/doctor", "/contacts", "/contacts/{contact_id}"):
            assert not is_read
        else:
            assert is_read == (route.method == "GET"), f"{route.method} {route.path}"


# The business's rules, written out rather than read back from the table.
VIEWER_REFUSED = [Operation.PROVISIONING_PLAN, Operation.PROVISIONING_APPLY, Operation.VPN_CHECK]


@pytest.mark.parametrize(
    ("role", "operation", "allowed"),
    [
        (Role.VIEWER, Operation.READ, True),
        *[(Role.VIEWER, op, False) for op in VIEWER_REFUSED],
        (Role.VIEWER, Operation.SHEET_VALIDATE, False),
        (Role.LOGISTICS, Operation.PROVISIONING_PLAN, False),
        (Role.FIELD, Operation.PROVISIONING_PLAN, True),
        (Role.NOC, Operation.DOCTOR, True),  # issue 20: doctor is for admin and NOC
        (Role.FIELD, Operation.DOCTOR, False),
        (Role.VIEWER, Operation.DOCTOR, False),
        (Role.NOC, Operation.PROVISIONING_PLAN, True),
        (Role.FIELD, Operation.SURVEY_APPROVE, False),
        (Role.NOC, Operation.SURVEY_APPROVE, True),
        (Role.FIELD, Operation.CHANGE_ACCEPT, False),
        (Role.FIELD, Operation.DEVICE_EDIT, True),
        (Role.FIELD, Operation.SECRET_MANAGE, False),
        (Role.NOC, Operation.SECRET_MANAGE, True),
        (Role.LOGISTICS, Operation.CONTRACT_RETURN, True),
        ("nobody", Operation.READ, False),
    ],
)
def test_the_policy_says_who_may(role: Role | str, operation: Operation, allowed: bool) -> None:
    assert may(role, operation) is allowed


@pytest.mark.parametrize("role", ["viewer", "logistics"])
@pytest.mark.parametrize("path", ["/api/v1/plans", "/api/v1/sheets/validate", "/api/v1/jobs"])
def test_viewer_and_logistics_may_not_plan_validate_or_apply(
    app_client: TestClient, tokens: dict[str, str], role: str, path: str
) -> None:
    files = {"file": ("site.yaml", b"format: netkeep-sheet/1\n", "application/x-yaml")}
    response = app_client.post(path, files=files, headers=bearer(tokens[role]))
    assert response.status_code == 403, response.text


def test_field_may_not_record_the_customers_survey_approval(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    body = {"approver_name": "顧客 太郎", "approved_on": "2026-05-01", "signature_ref": "scan-1"}
    response = app_client.post(
        "/api/v1/surveys/1/versions/1/approve", json=body, headers=bearer(tokens["field"])
    )
    assert response.status_code == 403


def test_field_may_verify_a_device_it_may_edit(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    response = app_client.post(
        "/api/v1/devices/Q2XX-NONE-0001/verify", headers=bearer(tokens["field"])
    )
    assert response.status_code == 404  # past the guard: the serial is unknown


def _calls(dependant: Any) -> set[Any]:
    found = {dependant.call}
    for child in dependant.dependencies:
        found |= _calls(child)
    return found


def test_no_route_a_viewer_may_call_reaches_the_dashboard() -> None:
    from api.app import api_routers
    from api.deps import get_dashboard
    from provisioning.router import get_provisioning_dashboard

    spenders = {get_dashboard, get_provisioning_dashboard}
    checked = 0
    for router in api_routers():
        for route in router.routes:
            if not isinstance(route, APIRoute):
                continue
            (guard,) = role_table.guards_of(route.dependant)
            if may(Role.VIEWER, guard.operation):
                checked += 1
                assert not _calls(route.dependant) & spenders, route.path
            elif route.path == "/plans":
                assert _calls(route.dependant) & spenders  # the check can see a spender
    assert checked > 40

"""The change-request API: roles, 409 with allowed states, 422 with stored problems, the flow."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from provisioning.sheet_io import load_sheet
from sandbox.server import SandboxServer
from tests.conftest import bearer
from tests.service.test_provisioning_apply import apply, dashboard_for
from tests.unit.changes.builders import (
    ENV,
    Inbox,
    as_bytes,
    build_contracts,
    change_raw,
    link_site,
    smtp_inbox_fixture,  # noqa: F401  (the smtp_inbox fixture)
)
from tests.unit.provisioning.sheets import EXAMPLE_ENV, EXAMPLES

API = "/api/v1/change-requests"


def submit(client: TestClient, token: str, raw: dict[str, Any]) -> Any:
    return client.post(
        API,
        files={"file": ("cr.yaml", as_bytes(raw), "application/x-yaml")},
        data={"notice_email": "soumu@sakura.example.jp"},
        headers=bearer(token),
    )


def test_roles_conflicts_and_problems(
    app_client: TestClient, tokens: dict[str, str], session: Session, monkeypatch: Any
) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    build_contracts(session)
    assert submit(app_client, tokens["viewer"], change_raw()).status_code == 403
    made = submit(app_client, tokens["field"], change_raw())
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    assert made.json()["status"] == "validated"
    denied = app_client.post(f"{API}/{rid}/approve", json={}, headers=bearer(tokens["field"]))
    assert denied.status_code == 403
    assert app_client.get(f"{API}/{rid}", headers=bearer(tokens["viewer"])).json()["status"] == (
        "validated"
    )
    wrong = app_client.post(
        f"{API}/{rid}/accept",
        json={"accepted_by": "x", "evidence": "scan"},
        headers=bearer(tokens["noc"]),
    )
    assert wrong.status_code == 409
    assert wrong.json()["details"]["allowed"] == ["approved", "cancelled", "rejected"]
    ok = app_client.post(f"{API}/{rid}/approve", json={}, headers=bearer(tokens["noc"]))
    assert (ok.status_code, ok.json()["approved_by"]) == (200, "t-noc")
    sunday = app_client.post(
        f"{API}/{rid}/schedule",
        json={"at": "2030-01-06T10:00:00+09:00"},
        headers=bearer(tokens["noc"]),
    )
    assert sunday.status_code == 422 and "Sunday" in sunday.json()["problems"][0]["message"]
    bad = change_raw()
    bad["devices"] = [{"serial": "Q2FY-ZZZZ-0009", "model": "MX67"}]
    stored = submit(app_client, tokens["noc"], bad)
    assert stored.status_code == 422
    body = stored.json()
    assert body["problems"][0]["location"] == "devices[0].serial"
    assert "Q2FY-ZZZZ-0009" in body["problems"][0]["message"]
    kept = app_client.get(
        f"{API}/{body['details']['request']['id']}", headers=bearer(tokens["viewer"])
    )
    assert kept.json()["problems"] == body["problems"] and kept.json()["status"] == "submitted"
    events = app_client.get(f"{API}/{rid}/events", headers=bearer(tokens["viewer"])).json()["items"]
    assert [e["action"] for e in events] == [
        "submitted",
        "validated",
        "approved",
        "schedule_refused",
    ]


def test_flow_over_http_with_emergency_apply_notice_and_sweep(
    app_client: TestClient,
    tokens: dict[str, str],
    session: Session,
    sandbox: SandboxServer,
    smtp_inbox: Inbox,
    monkeypatch: Any,
) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    build_contracts(session)
    job = apply(
        session, dashboard_for(sandbox), load_sheet(EXAMPLES / "utm.yaml", environ=EXAMPLE_ENV)
    )
    link_site(session, job.network_id)
    app = app_client.app
    settings = app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"smtp_host": smtp_inbox.host, "smtp_port": smtp_inbox.port}
    )
    app.state.settings = settings  # type: ignore[attr-defined]
    app.state.provisioning_dashboard = MerakiProvisioning(  # type: ignore[attr-defined]
        build_sdk(api_key=sandbox.api_key, base_url=sandbox.base_url, maximum_retries=8),
        organization_id="537758",
    )
    noc = bearer(tokens["noc"])
    rid = submit(app_client, tokens["field"], change_raw()).json()["id"]
    app_client.post(f"{API}/{rid}/approve", json={}, headers=noc)
    # whenever the suite runs: an emergency "now" is allowed in or out of hours
    sched = app_client.post(
        f"{API}/{rid}/schedule", json={"emergency_reason": "障害対応"}, headers=noc
    )
    assert sched.status_code == 200, sched.text
    done = app_client.post(f"{API}/{rid}/apply", headers=noc)
    assert done.status_code == 200, done.text
    out = done.json()
    assert out["status"] == "notified" and out["journal_url"] == f"/api/v1/jobs/{out['job_id']}"
    notices = app_client.get(f"{API}/{rid}/notices", headers=bearer(tokens["viewer"])).json()[
        "items"
    ]
    assert [n["to"] for n in notices] == ["soumu@sakura.example.jp"]
    assert len(smtp_inbox.messages()) == 1
    swept = app_client.post(f"{API}/sweep", json={"now": out["acceptance_due_at"]}, headers=noc)
    assert swept.json() == {"accepted": [rid]}
    assert app_client.post(
        f"{API}/sweep", json={"now": out["acceptance_due_at"]}, headers=noc
    ).json() == {"accepted": []}
    assert app_client.get(f"{API}/{rid}", headers=noc).json()["status"] == "accepted"


def test_an_excel_change_request_is_accepted_like_yaml(
    app_client: TestClient,
    tokens: dict[str, str],
    session: Session,
    monkeypatch: Any,
    tmp_path: Any,
) -> None:
    from provisioning.excel import write_workbook

    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    build_contracts(session)
    sheet = load_sheet(EXAMPLES / "change_request.yaml", environ=EXAMPLE_ENV | ENV)
    workbook = write_workbook(sheet, tmp_path / "cr.xlsx")
    made = app_client.post(
        API,
        files={"file": ("cr.xlsx", workbook.read_bytes(), "application/vnd.ms-excel")},
        data={"notice_email": "soumu@sakura.example.jp"},
        headers=bearer(tokens["field"]),
    )
    assert made.status_code == 201, made.text
    from_yaml = submit(app_client, tokens["field"], change_raw()).json()
    assert made.json()["status"] == from_yaml["status"] == "validated"
    assert made.json()["sheet_filename"] == "cr.xlsx" and made.json()["problems"] == []
    keys = ("customer", "requester", "request_date", "site_name", "site_plan", "summary")
    assert {k: made.json()[k] for k in keys} == {k: from_yaml[k] for k in keys}
    assert made.json()["number"] != from_yaml["number"] or made.json()["id"] != from_yaml["id"]


def test_a_request_is_addressed_by_its_sheet_number_or_id(
    app_client: TestClient, tokens: dict[str, str], session: Session, monkeypatch: Any
) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    build_contracts(session)
    made = submit(app_client, tokens["field"], change_raw()).json()
    number, rid, viewer = made["number"], made["id"], bearer(tokens["viewer"])
    assert number and not number.isdigit()
    by_number = app_client.get(f"{API}/{number}", headers=viewer)
    assert by_number.status_code == 200 and by_number.json()["id"] == rid
    events = app_client.get(f"{API}/{number}/events", headers=viewer).json()
    assert events["total"] >= 1
    approved = app_client.post(f"{API}/{number}/approve", headers=bearer(tokens["noc"]))
    assert approved.status_code == 200 and approved.json()["status"] == "approved"  # no body
    assert app_client.get(f"{API}/CR-NONE-0000", headers=viewer).status_code == 404
    assert app_client.get(f"{API}/{number}").status_code == 401  # nothing looked up first
    twin = submit(app_client, tokens["field"], change_raw()).json()
    assert twin["number"] == number
    ambiguous = app_client.get(f"{API}/{number}", headers=viewer)
    assert ambiguous.status_code == 409
    assert f"{rid}, {twin['id']}" in ambiguous.json()["message"]
    assert app_client.get(f"{API}/{twin['id']}", headers=viewer).json()["id"] == twin["id"]

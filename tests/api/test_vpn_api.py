"""/api/v1/vpn: roles, checks, builds with revert, users, reports with PDF/CSV, events."""

from __future__ import annotations

import io

import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from dashboard.meraki import MerakiDashboard
from sandbox.server import SandboxServer
from tests.conftest import bearer
from tests.unit.vpn.world import (
    CUSTOMER,
    KOBE,
    OSAKA,
    TOKYO,
    contracts,
    load,
    provisioning_dashboard,
)

BUILD = {
    "sites": [
        {"network_id": TOKYO, "role": "hub"},
        {"network_id": OSAKA, "role": "spoke", "hubs": [{"network_id": TOKYO}]},
    ],
    "users": [{"network_id": OSAKA, "email": "ken@sakura.example.jp", "name": "高橋健"}],
}


@pytest.fixture
def api(app_client: TestClient, session: Session, sandbox: SandboxServer) -> TestClient:
    load(sandbox)
    contracts(session)
    state = app_client.app.state  # type: ignore[attr-defined]
    state.dashboard = MerakiDashboard(
        api_key=sandbox.api_key, base_url=sandbox.base_url, maximum_retries=1, retry_wait=0
    )
    state.provisioning_dashboard = provisioning_dashboard(sandbox)
    state.settings = state.settings.model_copy(update={"vpn_accept_documentation_ips": True})
    return app_client


@pytest.mark.parametrize(
    ("role", "check", "build", "report", "read"),
    [
        ("admin", 201, 201, 201, 200),
        ("noc", 201, 201, 201, 200),
        ("field", 201, 403, 403, 200),
        ("viewer", 403, 403, 403, 200),
        ("logistics", 403, 403, 403, 200),
    ],
)
def test_roles(
    api: TestClient,
    tokens: dict[str, str],
    role: str,
    check: int,
    build: int,
    report: int,
    read: int,
) -> None:
    auth = bearer(tokens[role])
    assert (
        api.post("/api/v1/vpn/checks", json={"network_ids": [TOKYO]}, headers=auth).status_code
        == check
    )
    assert api.post("/api/v1/vpn/builds", json=BUILD, headers=auth).status_code == build
    assert api.post("/api/v1/vpn/reports", headers=auth).status_code == report
    for path in ("checks", "builds", "reports", "events", "users"):
        assert api.get(f"/api/v1/vpn/{path}", headers=auth).status_code == read
    assert api.get("/api/v1/vpn/checks").status_code == 401


def test_check_build_revert_and_report_downloads(
    api: TestClient, tokens: dict[str, str], sandbox: SandboxServer
) -> None:
    noc = bearer(tokens["noc"])
    checks = api.post(
        "/api/v1/vpn/checks", json={"network_ids": [TOKYO, KOBE]}, headers=noc
    ).json()["items"]
    assert [c["eligible"] for c in checks] == [False, False]
    kobe = api.get(f"/api/v1/vpn/checks/{checks[1]['id']}", headers=noc).json()
    assert "wan_cgnat" in [r["code"] for r in kobe["reasons"]]

    refused = api.post(
        "/api/v1/vpn/builds", json={"sites": [{"network_id": KOBE, "role": "hub"}]}, headers=noc
    )
    assert refused.status_code == 422 and KOBE in refused.json()["message"]

    built = api.post("/api/v1/vpn/builds", json=BUILD, headers=noc)
    assert built.status_code == 201, built.text
    body = built.json()
    [secret] = body["one_time_passwords"]
    assert secret["email"] == "ken@sakura.example.jp" and secret["password"]
    assert any("shared secret" in n for n in body["notes"])
    assert len(body["jobs"]) == 2
    assert [c["job_id"] for c in body["changes"]] == body["jobs"]
    for job_id in body["jobs"]:
        job = api.get(f"/api/v1/jobs/{job_id}", headers=noc).json()
        assert job["status"] == "done" and job["sheet_kind"] == "change_request"
    again = api.get(f"/api/v1/vpn/builds/{body['id']}", headers=noc).json()
    assert again["one_time_passwords"] == [] and secret["password"] not in str(again)
    users = api.get("/api/v1/vpn/users", headers=noc).json()["items"]
    assert [u["email"] for u in users] == ["ken@sakura.example.jp"]

    reverted = api.post(f"/api/v1/vpn/builds/{body['id']}/revert", headers=noc)
    assert reverted.status_code == 200 and reverted.json()["status"] == "reverted"
    sdk = sandbox.dashboard_api()
    assert sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(OSAKA)["mode"] == "none"
    assert sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(TOKYO)["mode"] == "none"
    assert api.post(f"/api/v1/vpn/builds/{body['id']}/revert", headers=noc).status_code == 409

    api.post("/api/v1/vpn/builds", json=BUILD, headers=noc)
    report = api.post("/api/v1/vpn/reports", headers=noc).json()
    assert report["site_count"] == 2
    full = api.get(f"/api/v1/vpn/reports/{report['id']}", headers=noc).json()
    assert {s["network_id"] for s in full["sites"]} == {TOKYO, OSAKA}
    pdf = api.get(
        f"/api/v1/vpn/reports/{report['id']}/report.pdf", params={"customer": CUSTOMER}, headers=noc
    )
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "VPN接続状況報告書" in text and "東京本社" in text and "203.0.113.10" in text
    csv = api.get(f"/api/v1/vpn/reports/{report['id']}/report.csv", headers=noc)
    assert csv.content.startswith("\ufeff".encode()) and "大阪支店" in csv.content.decode("utf-8")
    assert api.get("/api/v1/vpn/reports/999999", headers=noc).status_code == 404


def test_user_without_email_is_refused_by_name(api: TestClient, tokens: dict[str, str]) -> None:
    answer = api.post(
        "/api/v1/vpn/users",
        json={"users": [{"network_id": OSAKA, "email": "", "name": "伊藤三郎"}]},
        headers=bearer(tokens["admin"]),
    )
    assert answer.status_code == 422
    assert "伊藤三郎" in str(answer.json()["problems"])
    assert api.get("/api/v1/vpn/users", headers=bearer(tokens["admin"])).json()["items"] == []

"""Secrets of sheets sent over the network: never the server's environment, no PSK oracle.

Issue 19: a field token wrote the server's Meraki API key into a Wi-Fi password by uploading a
sheet with `psk: env:NETKEEP_MERAKI_API_KEY`, and a viewer told right from wrong PSK guesses
with `POST /plans`. Here every upload path refuses `env:` (422 at the cell, nothing about the
server's variables, nothing sent), sheets name netkeep's own secrets (`secret:NAME`), and a plan
says "set" or "unchanged since netkeep set it" whatever the dashboard holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from core.models import AuditEntry, NamedSecret
from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from sandbox.server import SandboxServer
from tests.conftest import bearer
from tests.service.helpers import seed_demo_inventory
from tests.service.test_provisioning_apply import approved_survey
from tests.unit.changes.builders import as_bytes, build_contracts, change_raw
from tests.unit.provisioning.sheets import EXAMPLES

API = "/api/v1"


@pytest.fixture
def stock(session: Session) -> None:
    """The example sheets' units are the demo's stock (the inventory is checked at plan time)."""
    seed_demo_inventory(session)


API_KEY = "server-meraki-api-key-0123456789"
CUSTOMER = "医療法人あおば会"
STORED = {
    "AOBA_RADIUS_SECRET": "radius-held-by-netkeep",
    "AOBA_DEVICE_PSK": "device-psk-held-by-netkeep",
    "AOBA_GUEST_PSK": "guest-psk-held-by-netkeep",
}
REFUSAL = "env: references are read only from sheets run locally"


def _wireless(device_psk: str, others: str = "literal") -> str:
    """The example wireless sheet with the device SSID's PSK as given."""
    raw = yaml.safe_load((EXAMPLES / "wireless.yaml").read_text(encoding="utf-8"))
    ssids = raw["ssids"]
    if others == "literal":
        ssids[0]["radiusServers"][0]["secret"] = "radius-literal-1"
        ssids[2]["psk"] = "guest-literal-123"
    ssids[1]["psk"] = device_psk
    return yaml.safe_dump(raw, allow_unicode=True)


def _file(text: str, name: str = "wireless.yaml") -> tuple[str, bytes, str]:
    return (name, text.encode("utf-8"), "application/x-yaml")


def _writes(sandbox: SandboxServer) -> int:
    operations: dict[str, Any] = sandbox.admin.counters()["operations"]
    return sum(int(v.get("count", 0)) for k, v in operations.items() if not k.startswith("GET"))


@pytest.fixture
def over_sandbox(app_client: TestClient, sandbox: SandboxServer) -> TestClient:
    sdk = build_sdk(api_key=sandbox.api_key, base_url=sandbox.base_url)
    app_client.app.state.provisioning_dashboard = MerakiProvisioning(  # type: ignore[attr-defined]
        sdk, organization_id="537758"
    )
    return app_client


def test_env_reference_in_any_upload_is_422_at_its_cell_and_nothing_is_sent(
    over_sandbox: TestClient,
    tokens: dict[str, str],
    sandbox: SandboxServer,
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NETKEEP_MERAKI_API_KEY", API_KEY)
    approved_survey(session, tmp_path)  # the survey gate would not stop it
    build_contracts(session)
    field = bearer(tokens["field"])
    sandbox.admin.reset_counters()
    networks_before = sandbox.dashboard_api().organizations.getOrganizationNetworks("537758")
    for reference in ("env:NETKEEP_MERAKI_API_KEY", "env:PATH", "env:NO_SUCH_VARIABLE_AT_ALL"):
        sheet = _file(_wireless(reference))
        answers = [
            over_sandbox.post(f"{API}/sheets/validate", files={"file": sheet}, headers=field),
            over_sandbox.post(f"{API}/plans", files={"file": sheet}, headers=field),
            over_sandbox.post(f"{API}/jobs", files={"file": sheet}, headers=field),
            over_sandbox.post(f"{API}/rollouts", files=[("files", sheet)], headers=field),
        ]
        for answer in answers:
            assert answer.status_code == 422, answer.text
            (problem,) = answer.json()["problems"]
            assert problem["location"].endswith("ssids[1].psk")
            assert REFUSAL in problem["message"]
            for telling in ("not set", "characters", reference.removeprefix("env:"), API_KEY):
                assert telling not in answer.text
    change = change_raw()
    change["ssids"] = [{"number": 3, "name": "X", "authMode": "psk", "psk": "env:PATH"}]
    stored = over_sandbox.post(
        f"{API}/change-requests",
        files={"file": ("cr.yaml", as_bytes(change), "application/x-yaml")},
        data={"notice_email": "soumu@sakura.example.jp"},
        headers=field,
    )
    assert stored.status_code == 422, stored.text
    (psk,) = [p for p in stored.json()["problems"] if p["location"] == "ssids[0].psk"]
    assert REFUSAL in psk["message"] and "/usr" not in stored.text
    assert _writes(sandbox) == 0
    after = sandbox.dashboard_api().organizations.getOrganizationNetworks("537758")
    assert after == networks_before


def test_site_check_over_the_api_cannot_name_a_server_variable(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    body = {
        "host": "192.0.2.1",
        "device_type": "cisco_ios",
        "site": "x",
        "username": "u",
        "password_env": "NETKEEP_MERAKI_API_KEY",
    }
    answer = app_client.post(f"{API}/site-checks", json=body, headers=bearer(tokens["field"]))
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["location"] == "password_env"


def _put_secrets(client: TestClient, token: str) -> None:
    for name, value in STORED.items():
        answer = client.put(
            f"{API}/secrets/{CUSTOMER}/{name}", json={"value": value}, headers=bearer(token)
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["reference"] == f"secret:{name}" and value not in answer.text


def test_named_secrets_are_set_by_noc_used_by_sheets_and_never_shown(
    stock: None,
    over_sandbox: TestClient,
    tokens: dict[str, str],
    sandbox: SandboxServer,
    session: Session,
    tmp_path: Path,
) -> None:
    refused = over_sandbox.put(
        f"{API}/secrets/{CUSTOMER}/X", json={"value": "v"}, headers=bearer(tokens["field"])
    )
    assert refused.status_code == 403
    assert over_sandbox.get(f"{API}/secrets", headers=bearer(tokens["viewer"])).status_code == 403
    _put_secrets(over_sandbox, tokens["noc"])
    listed = over_sandbox.get(f"{API}/secrets", headers=bearer(tokens["noc"]))
    assert sorted(s["name"] for s in listed.json()["items"]) == sorted(STORED)
    rows = session.exec(select(NamedSecret)).all()
    audit = session.exec(select(AuditEntry).where(AuditEntry.entity_type == "named_secret")).all()
    for value in STORED.values():
        assert value not in listed.text
        assert all(value not in r.ciphertext for r in rows)
        assert all(value not in str(a.after) for a in audit)

    approved_survey(session, tmp_path)
    text = (EXAMPLES / "wireless.yaml").read_text(encoding="utf-8")
    text = text.replace("{env: AOBA_RADIUS_SECRET}", "secret:AOBA_RADIUS_SECRET")
    text = text.replace("env:AOBA_DEVICE_PSK", "secret:AOBA_DEVICE_PSK")
    text = text.replace("{env: AOBA_GUEST_PSK}", "{secret: AOBA_GUEST_PSK}")
    field = bearer(tokens["field"])
    applied = over_sandbox.post(f"{API}/jobs", files={"file": _file(text)}, headers=field)
    assert applied.status_code == 201, applied.text
    assert applied.json()["status"] == "done"
    ssid = sandbox.dashboard_api().wireless.getNetworkWirelessSsid(applied.json()["network_id"], 1)
    assert ssid["psk"] == STORED["AOBA_DEVICE_PSK"]

    other = text.replace("customer: 医療法人あおば会", "customer: 別の会社")
    wrong = over_sandbox.post(f"{API}/plans", files={"file": _file(other)}, headers=field)
    assert wrong.status_code == 422
    assert "netkeep holds no secret" in wrong.json()["problems"][0]["message"]


def test_a_plan_is_no_psk_oracle(
    stock: None,
    over_sandbox: TestClient,
    tokens: dict[str, str],
    sandbox: SandboxServer,
    session: Session,
    tmp_path: Path,
) -> None:
    field, viewer = bearer(tokens["field"]), bearer(tokens["viewer"])
    right, wrong = "device-psk-right-1", "device-psk-wrong-2"
    approved_survey(session, tmp_path)
    applied = over_sandbox.post(
        f"{API}/jobs", files={"file": _file(_wireless(right))}, headers=field
    )
    assert applied.status_code == 201 and applied.json()["status"] == "done", applied.text
    network = applied.json()["network_id"]
    assert over_sandbox.post(
        f"{API}/plans", files={"file": _file(_wireless(wrong))}, headers=viewer
    ).status_code == 403  # fmt: skip

    def device_psk(guess: str) -> str:
        answer = over_sandbox.post(
            f"{API}/plans", files={"file": _file(_wireless(guess))}, headers=field
        )
        assert answer.status_code == 200, answer.text
        status: str = answer.json()["secrets"]["ssid/1:psk"]
        return status

    assert device_psk(right) == "unchanged since netkeep set it"
    assert device_psk(wrong) == "set"
    # someone changes the PSK on the dashboard, outside netkeep: a plan does not learn it
    sdk = sandbox.dashboard_api()
    sdk.wireless.updateNetworkWirelessSsid(network, 1, psk=wrong)
    assert device_psk(wrong) == "set"
    assert device_psk(right) == "unchanged since netkeep set it"

"""`POST /jobs/{id}/rollback` with `delete_network`, and `POST /jobs/{id}/resume` for rollbacks."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from sandbox.server import SandboxServer
from tests.conftest import bearer
from tests.service.helpers import seed_demo_inventory
from tests.unit.provisioning.sheets import EXAMPLES

API = "/api/v1"


@pytest.fixture(autouse=True)
def _stock(session: Session) -> None:
    """The example sheets' units are the demo's stock (the inventory is checked at plan time)."""
    seed_demo_inventory(session)


SITE = "さくら商事 本社"


def test_rollback_leaves_or_deletes_the_network_the_job_created(
    app_client: TestClient, tokens: dict[str, str], sandbox: SandboxServer
) -> None:
    sdk = build_sdk(api_key=sandbox.api_key, base_url=sandbox.base_url)
    app_client.app.state.provisioning_dashboard = MerakiProvisioning(  # type: ignore[attr-defined]
        sdk, organization_id="537758"
    )
    noc = bearer(tokens["noc"])
    sheet = {"file": ("utm.yaml", (EXAMPLES / "utm.yaml").read_bytes(), "application/x-yaml")}
    job = app_client.post(f"{API}/jobs", files=sheet, headers=noc).json()
    assert job["status"] == "done"

    kept = app_client.post(f"{API}/jobs/{job['id']}/rollback", headers=noc)
    assert kept.status_code == 201, kept.text
    assert kept.json()["status"] == "done" and "left in place" in kept.json()["not_restorable"][0]
    names = [n["name"] for n in sdk.organizations.getOrganizationNetworks("537758")]
    assert SITE in names

    refused = app_client.post(f"{API}/jobs/{job['id']}/resume", headers=noc)
    assert refused.status_code == 409 and "SHEET" in refused.json()["message"]
    again = app_client.post(f"{API}/jobs/{kept.json()['id']}/resume", headers=noc)
    assert again.status_code == 200 and again.json()["status"] == "done"

    gone = app_client.post(
        f"{API}/jobs/{job['id']}/rollback", json={"delete_network": True}, headers=noc
    )
    assert gone.status_code == 201, gone.text
    assert (gone.json()["status"], gone.json()["verify_diff"]) == ("done", [])
    names = [n["name"] for n in sdk.organizations.getOrganizationNetworks("537758")]
    assert SITE not in names

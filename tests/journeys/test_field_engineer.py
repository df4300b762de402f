"""Field engineer: settings sheet → plan → apply (verified) → rollback, on the demo, doctor clean.

The sheet is the shipped `provisioning/examples/utm.yaml`: a new UTM site of 株式会社さくら商事
with the demo's checked spare MX67 Q2FY-AAAA-0002 (in stock, in the demo organization, in no
network). Once applied the unit is deployed in the new network; once rolled back it is stock again.
"""

from __future__ import annotations

from pathlib import Path

from tests.journeys.conftest import Journey

EXAMPLES = Path(__file__).resolve().parents[2] / "provisioning" / "examples"
UTM = EXAMPLES / "utm.yaml"
UNIT = "Q2FY-AAAA-0002"
SITE = "さくら商事 本社"
CUSTOMER = "株式会社さくら商事"


def _network_of(journey: Journey, serial: str) -> str | None:
    """Where the dashboard has the unit (its organization inventory: every claimed unit)."""
    sdk = journey.sandbox.dashboard_api()
    [unit] = [
        d
        for d in sdk.organizations.getOrganizationInventoryDevices("537758", total_pages=-1)
        if d["serial"] == serial
    ]
    network: str | None = unit.get("networkId")
    return network


def test_field_engineer_over_the_cli(journey: Journey) -> None:
    j = journey
    assert "valid settings sheet" in j.cli("sheet", "validate", str(UTM))
    planned = j.cli_json("plan", str(UTM))
    assert planned["network_id"] is None  # a new site: the network is created
    assert planned["estimate"]["calls"] == 14

    applied = j.cli_json("apply", str(UTM), "--yes")
    assert applied["status"] == "done", applied
    network = _network_of(j, UNIT)
    assert network is not None
    shown = j.cli_json("job", "show", str(applied["id"]))
    assert [s["status"] for s in shown["journal"]] == ["done"] * len(shown["journal"])
    assert shown["journal"][-1]["action"] == "verify"  # the writes were read back

    device = j.cli_json("inventory", "show", UNIT)["device"]
    assert (device["status"], device["network_id"], device["customer"], device["site"]) == (
        "deployed",
        network,
        CUSTOMER,
        SITE,
    )
    assert "no changes" in j.cli("plan", str(UTM))

    back = j.cli("rollback", str(applied["id"]))
    assert "done" in back
    assert _network_of(j, UNIT) is None  # the claimed unit left the network
    device = j.cli_json("inventory", "show", UNIT)["device"]
    assert (device["status"], device["network_id"], device["customer"]) == ("in_stock", None, None)
    j.finish()


def test_field_engineer_over_the_api(journey: Journey) -> None:
    j = journey
    field = j.cli("token", "create", "--role", "field", "--name", "field-tanaka").split()
    token = next(t for t in field if t.startswith("nk_"))
    sheet = {"file": ("utm.yaml", UTM.read_bytes(), "application/x-yaml")}

    assert j.http("POST", "/sheets/validate", token=token, files=sheet)["kind"] == "settings"
    planned = j.http("POST", "/plans", token=token, files=sheet)
    assert planned["network_id"] is None and planned["estimate"]["calls"] == 14
    job = j.http("POST", "/jobs", token=token, files=sheet, status=201)
    assert job["status"] == "done" and job["journal"][-1]["action"] == "verify"
    network = _network_of(j, UNIT)
    assert network is not None
    device = j.http("GET", f"/devices/{UNIT}", token=token)
    assert (device["status"], device["network_id"], device["customer"]) == (
        "deployed",
        network,
        CUSTOMER,
    )
    assert j.http("POST", "/plans", token=token, files=sheet)["changes"] == []

    back = j.http("POST", f"/jobs/{job['id']}/rollback", token=token, status=201)
    assert back["status"] == "done" and back["rollback_of"] == job["id"]
    assert _network_of(j, UNIT) is None
    device = j.http("GET", f"/devices/{UNIT}", token=token)
    assert (device["status"], device["network_id"]) == ("in_stock", None)
    j.finish()

"""One unit's life across the domains: provisioned, changed, failed and replaced, then rolled back.

The field engineer sets up さくら商事 本社 from `provisioning/examples/utm.yaml` with the spare
MX67 Q2FY-AAAA-0002; the NOC changes that site by a change request (it targets the network the
inventory links the site's unit to, never a new one); the unit fails and logistics replaces it
with the other spare, Q2FY-AAAA-0003, swapped into the same network; at last the original apply
is rolled back. The doctor checks every step: one truth about each unit throughout.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import yaml

from tests.journeys.conftest import Journey

EXAMPLES = Path(__file__).resolve().parents[2] / "provisioning" / "examples"
FIRST, SECOND = "Q2FY-AAAA-0002", "Q2FY-AAAA-0003"
SITE = "さくら商事 本社"


def _inventory(j: Journey) -> dict[str, str | None]:
    sdk = j.sandbox.dashboard_api()
    found = sdk.organizations.getOrganizationInventoryDevices("537758", total_pages=-1)
    return {d["serial"]: d.get("networkId") for d in found}


def test_a_unit_provisioned_changed_replaced_and_rolled_back(journey: Journey) -> None:
    j = journey
    applied = j.cli_json("apply", str(EXAMPLES / "utm.yaml"), "--yes")
    assert applied["status"] == "done", applied
    network = _inventory(j)[FIRST]
    assert network is not None
    networks_before = len(j.sandbox.dashboard_api().organizations.getOrganizationNetworks("537758"))

    change = yaml.safe_load((EXAMPLES / "change_request.yaml").read_text("utf-8"))
    change["site"]["name"] = SITE  # the site as the inventory now knows it
    change["request"]["id"] = "CR-2027-0001"
    sheet = j.folder / "cr.yaml"
    sheet.write_text(yaml.safe_dump(change, allow_unicode=True), "utf-8")
    rid = str(
        j.cli_json("change", "submit", str(sheet), "--notice-email", "soumu@sakura.example.jp")[
            "id"
        ]
    )
    j.cli("change", "approve", rid, actor="noc-suzuki")
    j.cli("change", "schedule", rid, "--emergency", "回線切替に合わせて", actor="noc-suzuki")
    assert j.cli_json("change", "apply", rid, actor="noc-suzuki")["status"] == "notified"
    vlan = j.sandbox.dashboard_api().appliance.getNetworkApplianceVlan(network, "20")
    assert vlan["dhcpLeaseTime"] == "1 hour"
    assert (
        len(j.sandbox.dashboard_api().organizations.getOrganizationNetworks("537758"))
        == networks_before
    )

    rma = str(
        j.cli_json("rma", "open", FIRST, "--symptom", "電源断", "--reporter", "総務 田中")["id"]
    )
    j.cli("rma", "decide", rma, "--replace", actor="noc-suzuki")
    j.cli("rma", "reserve", rma, "--serial", SECOND, actor="logi-sato")
    j.cli("rma", "ship", rma, "--courier", "ヤマト運輸", "--tracking", "1", actor="logi-sato")
    j.cli("rma", "swap", rma, actor="logi-sato")
    placed = _inventory(j)
    assert (placed[FIRST], placed[SECOND]) == (None, network)
    j.cli(
        "rma", "pickup", rma, "--date", "2027-01-14", "--courier", "ヤマト運輸", actor="logi-sato"
    )
    j.clock.set(j.clock() + timedelta(days=3))
    j.cli("rma", "receive", rma, FIRST, actor="logi-sato")
    unit = j.cli_json("inventory", "show", SECOND)["device"]
    assert (unit["status"], unit["network_id"], unit["site"]) == ("deployed", network, SITE)

    j.cli("rollback", str(applied["id"]))  # the unit it claimed has left the network already
    j.finish()

"""The sandbox's monitoring operations through the real SDK: change history, webhook servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import meraki
import pytest

from sandbox.server import SandboxServer

ORG = "537758"
URL = "https://hooks.example.jp/meraki"


def test_webhook_servers_are_per_network_and_never_show_the_secret(
    sandbox: SandboxServer,
) -> None:
    nets = sandbox.dashboard_api().networks
    for net in ("N_demo_tokyo", "N_demo_osaka"):
        created = nets.createNetworkWebhooksHttpServer(net, name="nk", url=URL, sharedSecret="x1")
        assert "sharedSecret" not in created
    tokyo = nets.getNetworkWebhooksHttpServers("N_demo_tokyo")
    assert [(s["url"], s["networkId"]) for s in tokyo] == [(URL, "N_demo_tokyo")]
    nets.deleteNetworkWebhooksHttpServer("N_demo_tokyo", tokyo[0]["id"])
    assert nets.getNetworkWebhooksHttpServers("N_demo_tokyo") == []
    assert [s["url"] for s in nets.getNetworkWebhooksHttpServers("N_demo_osaka")] == [URL]
    with pytest.raises(meraki.APIError) as again:
        nets.createNetworkWebhooksHttpServer("N_demo_osaka", name="nk", url=URL)
    assert again.value.status == 400


def test_change_history_follows_the_admin_status_calls(sandbox: SandboxServer) -> None:
    orgs = sandbox.dashboard_api().organizations
    before = datetime.now(UTC) - timedelta(seconds=1)
    sandbox.admin.set_device_status("Q2FY-AAAA-0001", "offline")
    sandbox.admin.set_device_status("Q3AJ-DDDD-0001", "offline")
    sandbox.admin.set_device_status("Q2FY-AAAA-0001", "online")
    unchanged = sandbox.admin.set_device_status("Q2FY-AAAA-0001", "online")
    assert unchanged["changed"] is False
    rows = orgs.getOrganizationDevicesAvailabilitiesChangeHistory(
        ORG, total_pages="all", perPage=3, t0=before.isoformat()
    )
    moves = [
        (r["device"]["serial"], r["details"]["old"][0]["value"], r["details"]["new"][0]["value"])
        for r in rows
    ]
    assert moves == [
        ("Q2FY-AAAA-0001", "online", "offline"),
        ("Q3AJ-DDDD-0001", "online", "offline"),
        ("Q2FY-AAAA-0001", "offline", "online"),
    ]
    wireless = orgs.getOrganizationDevicesAvailabilitiesChangeHistory(
        ORG, productTypes=["wireless"], t0=before.isoformat()
    )
    assert [r["device"]["serial"] for r in wireless] == ["Q3AJ-DDDD-0001"]
    statuses = {
        a["serial"]: a["status"]
        for a in orgs.getOrganizationDevicesAvailabilities(ORG, total_pages="all")
    }
    assert (statuses["Q2FY-AAAA-0001"], statuses["Q3AJ-DDDD-0001"]) == ("online", "offline")
    with pytest.raises(meraki.APIError) as too_old:
        orgs.getOrganizationDevicesAvailabilitiesChangeHistory(
            ORG, t0=(datetime.now(UTC) - timedelta(days=32)).isoformat()
        )
    assert too_old.value.status == 400

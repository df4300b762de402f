"""What netkeep sends direct has no batch operation; what it batches has one (issue 13 #6).

The SDK's batch module (`sandbox.spec.sdk.catalog`, read from `meraki/api/batch/`) is the
reference: the six appliance settings netkeep writes one call each (L3 rules, port forwarding,
1:1 NAT, content filtering, IPS, anti-malware) have no batch helper, and the site-to-site VPN,
which netkeep batches, has one.
"""

from __future__ import annotations

from provisioning.batching import DIRECT_KINDS, NET
from sandbox.spec.sdk import catalog


def _resource(kind: str) -> str:
    if kind.startswith("security") or kind == "contentFiltering":
        return f"{NET}/appliance/{kind}"
    return f"{NET}/appliance/firewall/{kind}"


def test_what_netkeep_sends_direct_has_no_batch_operation() -> None:
    found = catalog()
    assert {
        "l3FirewallRules",
        "portForwardingRules",
        "oneToOneNatRules",
        "contentFiltering",
        "security/intrusion",
        "security/malware",
    } == DIRECT_KINDS
    for kind in DIRECT_KINDS:
        assert found.find_batch(_resource(kind), "update") is None, kind


def test_the_batch_claim_and_the_vpn_update_are_batch_operations() -> None:
    found = catalog()
    assert found.find_batch(f"{NET}/devices/claim", "claim") is not None
    assert found.find_batch(f"{NET}/devices/remove", "remove") is not None
    assert found.find_batch(f"{NET}/appliance/vpn/siteToSiteVpn", "update") is not None
    assert found.find_batch(f"{NET}/devices", "claim") is None  # netkeep's old form

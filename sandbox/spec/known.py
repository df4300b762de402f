"""Known places where netkeep's own requests break the published operations (issue 13).

The sandbox still accepts these so the rest of the suite keeps running, records them in its
request log, and ``tests/contract/spec`` fails both when a new mismatch appears and when one of
these no longer occurs (then delete the entry). Each entry says why it is wrong.
"""

from __future__ import annotations

_CREATE_ONLY_ON_UPDATE = (
    "issue 13 #3: only updateNetworkApplianceVlan accepts it; create the VLAN, then update it"
)

_WAN_NULL = (
    "issue 13 #5: the specification types it a string/integer, not nullable;"
    " omit the static fields when usingStaticIp is false, and vlan when untagged"
)

NETKEEP_KNOWN_BODY_MISMATCHES: dict[tuple[str, str], str] = {
    ("createNetworkApplianceVlan", "dnsNameservers"): _CREATE_ONLY_ON_UPDATE,
    ("createNetworkApplianceVlan", "fixedIpAssignments"): _CREATE_ONLY_ON_UPDATE,
    ("createNetworkApplianceVlan", "reservedIpRanges"): _CREATE_ONLY_ON_UPDATE,
    ("updateDeviceManagementInterface", "wan1.staticIp"): _WAN_NULL,
    ("updateDeviceManagementInterface", "wan1.staticSubnetMask"): _WAN_NULL,
    ("updateDeviceManagementInterface", "wan1.staticGatewayIp"): _WAN_NULL,
    ("updateDeviceManagementInterface", "wan1.vlan"): _WAN_NULL,
    ("createNetworkWirelessRfProfile", "fiveGhzSettings.minBitrate"): (
        "the 5 GHz minBitrate is an integer in the specification; netkeep sends a float (12.0)"
    ),
    ("updateNetworkApplianceFirewallL7FirewallRules", "rules[].value"): (
        "issue 13 #5: an L7 rule's value is a string in the specification (netkeep sends an"
        " object {id, name} for application/applicationCategory rules)"
    ),
}
"""(operationId, field) -> reason."""

NETKEEP_KNOWN_BATCH_MISMATCHES: dict[tuple[str, str], str] = {
    ("/networks/{networkId}/devices", "claim"): (
        "issue 13 #1: the batchable claim is resource /networks/{networkId}/devices/claim,"
        " operation 'claim' (the SDK's batch helper claimNetworkDevices)"
    ),
    ("/networks/{networkId}/devices", "remove"): (
        "same as the claim: the batchable removal is resource /networks/{networkId}/devices/remove,"
        " operation 'remove' (the SDK's batch helper removeNetworkDevices)"
    ),
}
"""(resource template, batch operation) netkeep batches that the SDK's batch module lacks."""

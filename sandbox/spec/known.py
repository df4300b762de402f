"""Known places where netkeep's own requests break the published operations (issue 13).

The sandbox still accepts these so the rest of the suite keeps running, records them in its
request log, and ``tests/contract/spec`` fails both when a new mismatch appears and when one of
these no longer occurs (then delete the entry). Each entry says why it is wrong.
"""

from __future__ import annotations

_CREATE_ONLY_ON_UPDATE = (
    "issue 13 #3: only updateNetworkApplianceVlan accepts it; create the VLAN, then update it"
)

NETKEEP_KNOWN_BODY_MISMATCHES: dict[tuple[str, str], str] = {
    ("createNetworkApplianceVlan", "dnsNameservers"): _CREATE_ONLY_ON_UPDATE,
    ("createNetworkApplianceVlan", "fixedIpAssignments"): _CREATE_ONLY_ON_UPDATE,
    ("createNetworkApplianceVlan", "reservedIpRanges"): _CREATE_ONLY_ON_UPDATE,
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

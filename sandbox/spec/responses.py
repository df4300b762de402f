"""Answers the real clients read, described by hand from the published operations (v1.42-v1.44).

Only what netkeep and the SDK read is listed; objects stay open (newer API versions add
fields). ``required`` fields must be present and non-null; ``typed`` fields, when present and
not null (the dashboard answers unset fields with null), must have the documented JSON type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.spec.validate import type_ok


@dataclass(frozen=True)
class Answer:
    """The documented shape of one operation's successful answer."""

    many: bool = False
    """The answer is an array of such objects."""
    required: dict[str, str] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    """The documented success status when it is not the usual one (e.g. 207)."""


Fields = dict[str, dict[str, str]]

_NETWORK: Fields = {
    "required": {"id": "string", "organizationId": "string", "name": "string"},
    "typed": {"productTypes": "array", "timeZone": "string", "tags": "array", "url": "string"},
}
_VLAN: Fields = {
    "required": {"id": "string", "name": "string", "subnet": "string", "applianceIp": "string"},
    "typed": {
        "interfaceId": "string", "mask": "integer", "dhcpHandling": "string",
        "dhcpLeaseTime": "string", "fixedIpAssignments": "object", "reservedIpRanges": "array",
        "dnsNameservers": "string", "dhcpOptions": "array", "dhcpRelayServerIps": "array",
    },
}  # fmt: skip
_BATCH = Answer(
    required={
        "id": "string", "organizationId": "string", "confirmed": "boolean",
        "synchronous": "boolean", "status": "object", "actions": "array",
    },
)  # fmt: skip
_DEVICE: Fields = {
    "required": {"serial": "string", "model": "string", "mac": "string"},
    "typed": {"name": "string", "networkId": "string", "tags": "array", "address": "string"},
}
_RULES = Answer(required={"rules": "array"})


def _ans(fields: Fields, many: bool = False) -> Answer:
    return Answer(many, fields["required"], fields.get("typed", {}))


ANSWERS: dict[str, Answer] = {
    "getOrganizationNetworks": _ans(_NETWORK, many=True),
    "createOrganizationNetwork": _ans(_NETWORK),
    "getNetwork": _ans(_NETWORK),
    "getNetworkApplianceVlans": _ans(_VLAN, many=True),
    "getNetworkApplianceVlan": _ans(_VLAN),
    "createNetworkApplianceVlan": _ans(_VLAN),
    "updateNetworkApplianceVlan": _ans(_VLAN),
    "createOrganizationActionBatch": _BATCH,
    "getOrganizationActionBatch": _BATCH,
    "getNetworkDevices": _ans(_DEVICE, many=True),
    "getDevice": _ans(_DEVICE),
    "updateDevice": _ans(_DEVICE),
    "getOrganizationInventoryDevices": Answer(
        many=True,
        required={"serial": "string", "model": "string", "mac": "string"},
        typed={"networkId": "string", "productType": "string", "claimedAt": "string"},
    ),
    "getNetworkApplianceFirewallL3FirewallRules": _RULES,
    "updateNetworkApplianceFirewallL3FirewallRules": _RULES,
    "getNetworkApplianceFirewallL7FirewallRules": _RULES,
    "updateNetworkApplianceFirewallL7FirewallRules": _RULES,
    "getNetworkApplianceVpnSiteToSiteVpn": Answer(
        required={"mode": "string"}, typed={"hubs": "array", "subnets": "array"}
    ),
    "getNetworkWirelessSsids": Answer(
        many=True,
        required={"number": "integer", "name": "string", "enabled": "boolean"},
        typed={"authMode": "string", "encryptionMode": "string", "ipAssignmentMode": "string"},
    ),
    "getDeviceManagementInterface": Answer(typed={"wan1": "object", "wan2": "object"}),
    "getNetworkApplianceVlansSettings": Answer(required={"vlansEnabled": "boolean"}),
    "createOrganizationInventoryDevicesSwapsBulk": Answer(
        required={"jobId": "string", "swaps": "array"}, status=207
    ),
    "getOrganizationInventoryDevicesSwapsBulk": Answer(
        required={"jobId": "string", "swaps": "array"}
    ),
}
"""operationId -> documented answer."""


def answer_problems(operation_id: str, body: Any, status: int | None = None) -> list[str]:
    """How an answer differs from the documented shape (empty when it matches or is unlisted)."""
    shape = ANSWERS.get(operation_id)
    if shape is None:
        return []
    if status is not None and shape.status is not None and status != shape.status:
        return [f"{operation_id}: answered {status}, documented {shape.status}"]
    if shape.many:
        if not isinstance(body, list):
            return [f"{operation_id}: the answer must be an array"]
        items = body
    else:
        items = [body]
    found: list[str] = []
    for index, item in enumerate(items):
        where = f"{operation_id}[{index}]" if shape.many else operation_id
        if not isinstance(item, dict):
            found.append(f"{where}: must be an object")
            continue
        for name, kind in shape.required.items():
            if item.get(name) is None:
                found.append(f"{where}: '{name}' is missing")
            elif not type_ok(kind, item[name]):
                found.append(f"{where}: '{name}' must be of type {kind}")
        for name, kind in shape.typed.items():
            if item.get(name) is not None and not type_ok(kind, item[name]):
                found.append(f"{where}: '{name}' must be of type {kind}")
    return found

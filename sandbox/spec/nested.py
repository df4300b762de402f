"""Shapes of the nested objects netkeep sends, which the SDK documents only as ``(object)``.

Written by hand from the published operation descriptions (developer.cisco.com/meraki/api-v1,
v1.42-v1.44): each names the fields and types the dashboard documents for that object, and
nothing else. An object listed here is closed (a property it does not document is refused)
unless marked open (only the listed properties are checked).
Keys: (operationId, top-level body field). Types as in ``sdk.JSON_TYPES``; ``enum`` lists the
documented values.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def _obj(**properties: Schema) -> Schema:
    return {"type": "object", "properties": properties}


def _open(**properties: Schema) -> Schema:
    """An object whose listed properties are checked, others left to newer API versions."""
    return {"type": "object", "properties": properties, "open": True}


def _arr(items: Schema) -> Schema:
    return {"type": "array", "items": items}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}

_WAN = _obj(
    wanEnabled={"type": "string", "enum": ["disabled", "enabled", "not configured"]},
    usingStaticIp=BOOL,
    staticIp=STR,
    staticGatewayIp=STR,
    staticSubnetMask=STR,
    staticDns=_arr(STR),
    vlan=INT,
)

_L3_RULE = _obj(
    comment=STR,
    policy={"type": "string", "enum": ["allow", "deny"]},
    protocol={"type": "string", "enum": ["any", "icmp", "icmp6", "tcp", "udp"]},
    srcPort=STR,
    srcCidr=STR,
    destPort=STR,
    destCidr=STR,
    syslogEnabled=BOOL,
)

_L7_RULE = _obj(
    policy={"type": "string", "enum": ["deny"]},
    type={
        "type": "string",
        "enum": [
            "application",
            "applicationCategory",
            "blockedCountries",
            "host",
            "ipRange",
            "port",
        ],
    },
    value=STR,
)

NUM: Schema = {"type": "number"}
_FIVE = _open(maxPower=INT, minPower=INT, minBitrate=INT, channelWidth=STR, rxsop=INT)
_TWO_FOUR = _open(maxPower=INT, minPower=INT, minBitrate=NUM, axEnabled=BOOL, rxsop=INT)

_SUBNET = _obj(localSubnet=STR, useVpn=BOOL)
_HUB = _obj(hubId=STR, useDefaultRoute=BOOL)

NESTED: dict[tuple[str, str], Schema] = {
    ("updateDeviceManagementInterface", "wan1"): _WAN,
    ("updateDeviceManagementInterface", "wan2"): _WAN,
    ("updateNetworkApplianceFirewallL3FirewallRules", "rules"): _arr(_L3_RULE),
    ("updateNetworkApplianceFirewallL7FirewallRules", "rules"): _arr(_L7_RULE),
    ("updateNetworkApplianceVpnSiteToSiteVpn", "hubs"): _arr(_HUB),
    ("updateNetworkApplianceVpnSiteToSiteVpn", "subnets"): _arr(_SUBNET),
    ("updateNetworkApplianceVlan", "reservedIpRanges"): _arr(_obj(start=STR, end=STR, comment=STR)),
    ("claimNetworkDevices", "serials"): _arr(STR),
    ("createNetworkWirelessRfProfile", "fiveGhzSettings"): _FIVE,
    ("createNetworkWirelessRfProfile", "twoFourGhzSettings"): _TWO_FOUR,
    ("updateNetworkWirelessRfProfile", "fiveGhzSettings"): _FIVE,
    ("updateNetworkWirelessRfProfile", "twoFourGhzSettings"): _TWO_FOUR,
}

"""Small valid sheets per plan, as raw dicts, for tests to break one rule at a time."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[3] / "provisioning" / "examples"
EXAMPLE_ENV = {
    "AOBA_RADIUS_SECRET": "radius-s3cret-value",
    "AOBA_DEVICE_PSK": "device-key-2025-xyz",
    "AOBA_GUEST_PSK": "welcome-aoba-2025",
}

_UTM: dict[str, Any] = {
    "format": "netkeep-sheet/1",
    "kind": "settings",
    "site": {"name": "本社", "plan": "utm", "customer": "株式会社テスト"},
    "devices": [{"serial": "Q2FY-AAAA-0002", "model": "MX67", "name": "本社-MX67"}],
    "vlans": [
        {"id": 10, "name": "業務", "subnet": "192.168.10.0/24", "applianceIp": "192.168.10.1"},
        {"id": 20, "name": "来客", "subnet": "192.168.20.0/24", "applianceIp": "192.168.20.1"},
        {"id": 30, "name": "カメラ", "subnet": "192.168.30.0/24", "applianceIp": "192.168.30.1"},
    ],
    "l3FirewallRules": [{"policy": "deny", "protocol": "tcp", "destPort": "23"}],
    "l7FirewallRules": [{"type": "host", "value": "example.com"}],
    "portForwardingRules": [
        {
            "name": "NVR",
            "lanIp": "192.168.30.10",
            "protocol": "tcp",
            "publicPort": "8443",
            "localPort": "443",
        }
    ],
    "oneToOneNatRules": [
        {"name": "Web", "publicIp": "203.0.113.11", "lanIp": "192.168.10.50"},
    ],
    "contentFiltering": {"blockedUrlCategories": ["meraki:contentFiltering/category/C7"]},
    "intrusion": {"mode": "prevention"},
    "malware": {"mode": "enabled"},
}

_WIRELESS: dict[str, Any] = {
    "format": "netkeep-sheet/1",
    "kind": "settings",
    "site": {"name": "クリニック", "plan": "wireless"},
    "devices": [{"serial": "Q3AJ-DDDD-0002", "model": "MR36"}],
    "ssids": [
        {"number": 0, "name": "STAFF", "authMode": "psk", "psk": "correct-horse-9"},
        {"number": 1, "name": "GUEST", "authMode": "open"},
    ],
    "rfProfiles": [{"name": "標準"}],
}


def utm() -> dict[str, Any]:
    """A valid UTM settings sheet."""
    return copy.deepcopy(_UTM)


def router() -> dict[str, Any]:
    """A valid router settings sheet."""
    raw = utm()
    raw["site"]["plan"] = "router"
    raw["devices"][0] = {"serial": "Q2KY-BBBB-0001", "model": "MX68"}
    for key in ("contentFiltering", "intrusion", "malware"):
        del raw[key]
    return raw


def wireless() -> dict[str, Any]:
    """A valid wireless settings sheet."""
    return copy.deepcopy(_WIRELESS)


def change_request() -> dict[str, Any]:
    """A valid change request on the UTM site."""
    return {
        "format": "netkeep-sheet/1",
        "kind": "change_request",
        "request": {
            "id": "CR-1",
            "customer": "株式会社テスト",
            "requester": "山田",
            "date": "2025-06-02",
        },
        "site": {"name": "本社", "plan": "utm"},
        "l7FirewallRules": [],
    }

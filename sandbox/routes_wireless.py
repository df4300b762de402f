"""Wireless endpoints (SSIDs, RF profiles) and Meraki authentication users."""

from __future__ import annotations

import copy
from typing import Any

from sandbox import defaults
from sandbox.access import merge, require_fields, require_product, settings_of
from sandbox.router import Call, Reply, Router, bad_request, not_found
from sandbox.state import Record, SandboxState

router = Router()

NET = "/networks/{networkId}/wireless"
WIRELESS = defaults.ProductType.WIRELESS

AUTH_MODES = (
    "open",
    "open-enhanced",
    "psk",
    "open-with-radius",
    "open-with-nac",
    "8021x-meraki",
    "8021x-nac",
    "8021x-radius",
    "8021x-google",
    "8021x-entra",
    "8021x-localradius",
    "ipsk-with-radius",
    "ipsk-without-radius",
    "ipsk-with-nac",
    "ipsk-with-radius-easy-psk",
)
SSID_FIXED = frozenset({"number"})


def _ssid(st: SandboxState, call: Call) -> Record:
    cfg = require_product(st, call.params["networkId"], WIRELESS)
    try:
        number = int(call.params["number"])
    except ValueError:
        number = -1
    if not 0 <= number <= 14:
        raise not_found(f"SSID {call.params['number']}")
    return cfg["ssids"][number]  # type: ignore[no-any-return]


@router.add("GET", NET + "/ssids")
def list_ssids(st: SandboxState, call: Call) -> Reply:
    """The 15 SSID slots."""
    return Reply(require_product(st, call.params["networkId"], WIRELESS)["ssids"])


@router.add("GET", NET + "/ssids/{number}")
def get_ssid(st: SandboxState, call: Call) -> Reply:
    """One SSID slot."""
    return Reply(_ssid(st, call))


@router.add("PUT", NET + "/ssids/{number}")
def update_ssid(st: SandboxState, call: Call) -> Reply:
    """Configure an SSID slot; PSK auth needs an 8-63 character passphrase."""
    current = _ssid(st, call)
    body = call.obj()
    updated = copy.deepcopy(current)
    for key, value in body.items():
        if key not in SSID_FIXED:
            updated[key] = value
    if "name" in body and not str(body["name"]).strip():
        raise bad_request("'name' must not be empty")
    if updated["authMode"] not in AUTH_MODES:
        raise bad_request(f"'authMode' must be one of: {', '.join(AUTH_MODES)}")
    if updated["authMode"] == "psk":
        psk = updated.get("psk")
        if not isinstance(psk, str) or not 8 <= len(psk) <= 63:
            raise bad_request("'psk' must be 8 to 63 characters when authMode is psk")
        updated.setdefault("encryptionMode", "wpa")
        updated.setdefault("wpaEncryptionMode", "WPA2 only")
    else:
        for key in ("psk", "encryptionMode", "wpaEncryptionMode"):
            updated.pop(key, None)
    if "vlanId" in body:
        updated["useVlanTagging"] = True
    current.clear()
    current.update(updated)
    return Reply(current)


# --- RF profiles --------------------------------------------------------------------------------

RF_DEFAULTS: dict[str, Any] = {
    "clientBalancingEnabled": True,
    "minBitrateType": "band",
    "apBandSettings": {"bandOperationMode": "dual", "bandSteeringEnabled": True},
    "twoFourGhzSettings": {
        "maxPower": 30,
        "minPower": 5,
        "minBitrate": 11,
        "validAutoChannels": [1, 6, 11],
        "axEnabled": True,
        "rxsop": None,
    },
    "fiveGhzSettings": {
        "maxPower": 30,
        "minPower": 8,
        "minBitrate": 12,
        "validAutoChannels": [
            36,
            40,
            44,
            48,
            52,
            56,
            60,
            64,
            100,
            104,
            108,
            112,
            116,
            120,
            124,
            128,
            132,
            136,
            140,
            144,
            149,
            153,
            157,
            161,
            165,
        ],
        "channelWidth": "auto",
        "rxsop": None,
    },
}
RF_KEYS = frozenset(
    {
        "name",
        "bandSelectionType",
        "clientBalancingEnabled",
        "minBitrateType",
        "apBandSettings",
        "twoFourGhzSettings",
        "fiveGhzSettings",
        "sixGhzSettings",
        "transmission",
        "perSsidSettings",
        "isIndoorDefault",
        "isOutdoorDefault",
    }
)


def _rf_profiles(st: SandboxState, call: Call) -> dict[str, Record]:
    return require_product(st, call.params["networkId"], WIRELESS)[  # type: ignore[no-any-return]
        "rfProfiles"
    ]


def _rf_or_404(st: SandboxState, call: Call) -> Record:
    profile = _rf_profiles(st, call).get(call.params["rfProfileId"])
    if profile is None:
        raise not_found(f"RF profile {call.params['rfProfileId']}")
    return profile


def _check_rf(profile: Record, others: list[Record]) -> None:
    if profile["bandSelectionType"] not in ("ap", "ssid"):
        raise bad_request("'bandSelectionType' must be ap or ssid")
    if any(o["name"] == profile["name"] for o in others):
        raise bad_request(f"RF profile name {profile['name']!r} has already been taken")


@router.add("GET", NET + "/rfProfiles")
def list_rf_profiles(st: SandboxState, call: Call) -> Reply:
    """RF profiles of a network."""
    return Reply(list(_rf_profiles(st, call).values()))


@router.add("POST", NET + "/rfProfiles")
def create_rf_profile(st: SandboxState, call: Call) -> Reply:
    """Create an RF profile (name and bandSelectionType required)."""
    profiles = _rf_profiles(st, call)
    body = call.obj()
    require_fields(body, "name", "bandSelectionType")
    profile: Record = {
        "id": str(st.new_id()),
        "networkId": call.params["networkId"],
        **copy.deepcopy(RF_DEFAULTS),
    }
    merge(profile, body, RF_KEYS)
    _check_rf(profile, list(profiles.values()))
    profiles[profile["id"]] = profile
    return Reply(profile, 201)


@router.add("GET", NET + "/rfProfiles/{rfProfileId}")
def get_rf_profile(st: SandboxState, call: Call) -> Reply:
    """One RF profile."""
    return Reply(_rf_or_404(st, call))


@router.add("PUT", NET + "/rfProfiles/{rfProfileId}")
def update_rf_profile(st: SandboxState, call: Call) -> Reply:
    """Update an RF profile."""
    profile = copy.deepcopy(_rf_or_404(st, call))
    merge(profile, call.obj(), RF_KEYS)
    others = [p for p in _rf_profiles(st, call).values() if p["id"] != profile["id"]]
    _check_rf(profile, others)
    _rf_profiles(st, call)[profile["id"]] = profile
    return Reply(profile)


@router.add("DELETE", NET + "/rfProfiles/{rfProfileId}")
def delete_rf_profile(st: SandboxState, call: Call) -> Reply:
    """Delete an RF profile that no AP uses."""
    profile = _rf_or_404(st, call)
    users = [
        d["serial"]
        for d in st.devices.values()
        if d["radioSettings"] and d["radioSettings"]["rfProfileId"] == profile["id"]
    ]
    if users:
        raise bad_request(f"RF profile {profile['id']} is in use by {', '.join(users)}")
    del _rf_profiles(st, call)[profile["id"]]
    return Reply(None, 204)


# --- Meraki auth users --------------------------------------------------------------------------

ACCOUNT_TYPES = ("802.1X", "Client VPN", "Guest")
USERS = "/networks/{networkId}/merakiAuthUsers"


def _users(st: SandboxState, call: Call) -> dict[str, Record]:
    return settings_of(st, call.params["networkId"])["merakiAuthUsers"]  # type: ignore[no-any-return]


def _user_or_404(st: SandboxState, call: Call) -> Record:
    user = _users(st, call).get(call.params["merakiAuthUserId"])
    if user is None:
        raise not_found(f"Meraki auth user {call.params['merakiAuthUserId']}")
    return user


def _authorizations(st: SandboxState, call: Call, account_type: str, raw: Any) -> list[Record]:
    if not isinstance(raw, list) or not raw:
        raise bad_request("'authorizations' must be a non-empty array")
    net = st.networks[call.params["networkId"]]
    if account_type == "Client VPN" and defaults.ProductType.APPLIANCE not in net["productTypes"]:
        raise bad_request("Client VPN users need a network with an appliance")
    result = []
    for item in raw:
        if not isinstance(item, dict):
            raise bad_request("each authorization must be an object")
        auth: Record = {
            "expiresAt": item.get("expiresAt", "Never"),
            "authorizedByName": "Sandbox API",
            "authorizedByEmail": "api@sandbox",
            "authorizedZone": "Client VPN",
        }
        if account_type != "Client VPN":
            number = item.get("ssidNumber")
            if not isinstance(number, int) or not 0 <= number <= 14:
                raise bad_request("'ssidNumber' (0-14) is required for 802.1X and Guest users")
            auth["ssidNumber"] = number
            auth["authorizedZone"] = st.network_settings[net["id"]]["ssids"][number]["name"]
        result.append(auth)
    return result


def _user_view(user: Record) -> Record:
    return {k: v for k, v in user.items() if k != "password"}


@router.add("GET", USERS)
def list_auth_users(st: SandboxState, call: Call) -> Reply:
    """Meraki auth users of a network."""
    return Reply([_user_view(u) for u in _users(st, call).values()])


@router.add("POST", USERS)
def create_auth_user(st: SandboxState, call: Call) -> Reply:
    """Authorize a user (email unique per network)."""
    users = _users(st, call)
    body = call.obj()
    require_fields(body, "email", "authorizations")
    account_type = body.get("accountType", "802.1X")
    if account_type not in ACCOUNT_TYPES:
        raise bad_request(f"'accountType' must be one of: {', '.join(ACCOUNT_TYPES)}")
    if any(u["email"] == body["email"] for u in users.values()):
        raise bad_request(f"User {body['email']} already exists in this network")
    if not body.get("isAdmin") and (not body.get("name") or not body.get("password")):
        raise bad_request("'name' and 'password' are required for a user who is not an admin")
    user_id = f"aGlkZGVu{st.new_id()}"
    user: Record = {
        "id": user_id,
        "email": body["email"],
        "name": body.get("name"),
        "createdAt": defaults.iso(call.now),
        "accountType": account_type,
        "isAdmin": bool(body.get("isAdmin", False)),
        "authorizations": _authorizations(st, call, account_type, body["authorizations"]),
        "password": body.get("password"),
    }
    users[user_id] = user
    return Reply(_user_view(user), 201)


@router.add("GET", USERS + "/{merakiAuthUserId}")
def get_auth_user(st: SandboxState, call: Call) -> Reply:
    """One Meraki auth user."""
    return Reply(_user_view(_user_or_404(st, call)))


@router.add("PUT", USERS + "/{merakiAuthUserId}")
def update_auth_user(st: SandboxState, call: Call) -> Reply:
    """Change name, password or authorizations."""
    user = _user_or_404(st, call)
    body = call.obj()
    auths = (
        _authorizations(st, call, user["accountType"], body["authorizations"])
        if "authorizations" in body
        else user["authorizations"]
    )
    merge(user, body, frozenset({"name", "password"}))
    user["authorizations"] = auths
    return Reply(_user_view(user))


@router.add("DELETE", USERS + "/{merakiAuthUserId}")
def delete_auth_user(st: SandboxState, call: Call) -> Reply:
    """Deauthorize a user."""
    _user_or_404(st, call)
    del _users(st, call)[call.params["merakiAuthUserId"]]
    return Reply(None, 204)

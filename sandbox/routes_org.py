"""Organizations, networks, inventory, licenses and organization-wide status listings."""

from __future__ import annotations

import copy
import re
from typing import Any

from sandbox import defaults
from sandbox.access import (
    attach_device,
    detach_device,
    merge,
    network_or_404,
    org_or_404,
    require_fields,
)
from sandbox.router import ApiError, Call, Reply, Router, bad_request, paginate
from sandbox.state import Record, SandboxState

router = Router()

ORG = "/organizations/{organizationId}"


@router.add("GET", "/organizations")
def list_organizations(st: SandboxState, call: Call) -> Reply:
    """All organizations the key can see (all of them in the sandbox)."""
    return paginate(call, list(st.organizations.values()), lambda o: str(o["id"]), 9000, 9000)


@router.add("GET", ORG)
def get_organization(st: SandboxState, call: Call) -> Reply:
    """One organization."""
    return Reply(org_or_404(st, call.params["organizationId"]))


# --- networks ---------------------------------------------------------------------------------


def _org_networks(st: SandboxState, org_id: str) -> list[Record]:
    return [n for n in st.networks.values() if n["organizationId"] == org_id]


@router.add("GET", ORG + "/networks")
def list_networks(st: SandboxState, call: Call) -> Reply:
    """Networks of an organization, paged, filterable by productTypes and tags."""
    org_id = org_or_404(st, call.params["organizationId"])["id"]
    nets = _org_networks(st, org_id)
    if products := call.q_list("productTypes"):
        nets = [n for n in nets if set(products) & set(n["productTypes"])]
    if tags := call.q_list("tags"):
        want_all = call.q("tagsFilterType") == "withAllTags"
        test = all if want_all else any
        nets = [n for n in nets if test(t in n["tags"] for t in tags)]
    return paginate(call, nets, lambda n: str(n["id"]), 1000, 100000)


def _validate_network_fields(body: dict[str, Any]) -> None:
    if "productTypes" in body:
        types = body["productTypes"]
        if not isinstance(types, list) or not types:
            raise bad_request("'productTypes' must be a non-empty array")
        unknown = [t for t in types if t not in defaults.NETWORK_PRODUCT_TYPES]
        if unknown:
            raise bad_request(f"Unsupported product type(s): {', '.join(map(str, unknown))}")
    if "tags" in body and not isinstance(body["tags"], list):
        raise bad_request("'tags' must be an array of strings")


def _name_taken(st: SandboxState, org_id: str, name: str, except_id: str | None = None) -> bool:
    return any(n["name"] == name and n["id"] != except_id for n in _org_networks(st, org_id))


@router.add("POST", ORG + "/networks")
def create_network(st: SandboxState, call: Call) -> Reply:
    """Create a network; names are unique within an organization."""
    org_id = org_or_404(st, call.params["organizationId"])["id"]
    body = call.obj()
    require_fields(body, "name", "productTypes")
    _validate_network_fields(body)
    if _name_taken(st, org_id, body["name"]):
        raise bad_request("Name has already been taken")
    prefix = "L_" if len(body["productTypes"]) > 1 else "N_"
    net_id = f"{prefix}{6468220000000 + st.new_id()}"
    record = defaults.network(
        net_id,
        org_id,
        body["name"],
        list(body["productTypes"]),
        body.get("timeZone") or "America/Los_Angeles",
        list(body.get("tags") or []),
        body.get("notes") or "",
    )
    st.networks[net_id] = record
    st.network_settings[net_id] = defaults.network_settings()
    if source := body.get("copyFromNetworkId"):
        src = network_or_404(st, source)
        st.network_settings[net_id] = copy.deepcopy(st.network_settings[src["id"]])
    return Reply(record, 201)


@router.add("GET", "/networks/{networkId}")
def get_network(st: SandboxState, call: Call) -> Reply:
    """One network (carries organizationId, which the SDK's smart flow reads)."""
    return Reply(network_or_404(st, call.params["networkId"]))


@router.add("PUT", "/networks/{networkId}")
def update_network(st: SandboxState, call: Call) -> Reply:
    """Rename, retag, move time zone or set notes."""
    net = network_or_404(st, call.params["networkId"])
    body = call.obj()
    _validate_network_fields(body)
    if "name" in body and _name_taken(st, net["organizationId"], body["name"], net["id"]):
        raise bad_request("Name has already been taken")
    merge(net, body, frozenset({"name", "timeZone", "tags", "notes", "enrollmentString"}))
    return Reply(net)


@router.add("DELETE", "/networks/{networkId}")
def delete_network(st: SandboxState, call: Call) -> Reply:
    """Delete a network; its devices return to the inventory unassigned."""
    net = network_or_404(st, call.params["networkId"])
    for dev in st.devices.values():
        if dev["networkId"] == net["id"]:
            detach_device(st, dev)
    del st.networks[net["id"]]
    del st.network_settings[net["id"]]
    return Reply(None, 204)


# --- inventory --------------------------------------------------------------------------------


def inventory_item(dev: Record) -> Record:
    """A device as the inventory listing shows it."""
    keys = (
        "mac",
        "serial",
        "name",
        "model",
        "networkId",
        "orderNumber",
        "claimedAt",
        "licenseExpirationDate",
        "tags",
        "productType",
        "countryCode",
    )
    return {**{k: dev[k] for k in keys}, "details": []}


def org_devices(st: SandboxState, org_id: str) -> list[Record]:
    """Every device claimed into an organization."""
    return [d for d in st.devices.values() if d["organizationId"] == org_id]


def _filter_devices(devs: list[Record], call: Call) -> list[Record]:
    if serials := call.q_list("serials"):
        devs = [d for d in devs if d["serial"] in serials]
    if net_ids := call.q_list("networkIds"):
        devs = [
            d
            for d in devs
            if d["networkId"] in net_ids or (d["networkId"] is None and "null" in net_ids)
        ]
    if models := call.q_list("models"):
        devs = [d for d in devs if d["model"] in models]
    if products := call.q_list("productTypes"):
        devs = [d for d in devs if d["productType"] in products]
    if statuses := call.q_list("statuses"):
        devs = [d for d in devs if d["status"] in statuses]
    return devs


@router.add("GET", ORG + "/inventory/devices")
def list_inventory(st: SandboxState, call: Call) -> Reply:
    """Inventory, paged by serial, filterable by usedState, search, serials, networkIds ..."""
    devs = _filter_devices(
        org_devices(st, org_or_404(st, call.params["organizationId"])["id"]), call
    )
    used = call.q("usedState")
    if used == "used":
        devs = [d for d in devs if d["networkId"]]
    elif used == "unused":
        devs = [d for d in devs if not d["networkId"]]
    if search := call.q("search"):
        s = search.lower()
        devs = [
            d for d in devs if s in d["serial"].lower() or s in d["mac"] or s in d["model"].lower()
        ]
    return paginate(call, [inventory_item(d) for d in devs], lambda d: str(d["serial"]))


@router.add("GET", ORG + "/devices")
def list_org_devices(st: SandboxState, call: Call) -> Reply:
    """Devices in the organization's networks (getOrganizationDevices), paged by serial."""
    from sandbox.routes_devices import device_view

    org_id = org_or_404(st, call.params["organizationId"])["id"]
    devs = _filter_devices([d for d in org_devices(st, org_id) if d["networkId"]], call)
    return paginate(call, [device_view(d) for d in devs], lambda d: str(d["serial"]))


@router.add("GET", ORG + "/wireless/rfProfiles/assignments/byDevice")
def list_rf_assignments(st: SandboxState, call: Call) -> Reply:
    """Each access point in a network with the RF profile assigned to it (null: none)."""
    org_id = org_or_404(st, call.params["organizationId"])["id"]
    aps = [
        d
        for d in org_devices(st, org_id)
        if d["networkId"] and d["productType"] == defaults.ProductType.WIRELESS
    ]
    items = []
    for dev in _filter_devices(aps, call):
        profile_id = (dev.get("radioSettings") or {}).get("rfProfileId")
        profiles = st.network_settings[dev["networkId"]].get("rfProfiles") or {}
        profile = profiles.get(str(profile_id)) if profile_id is not None else None
        items.append(
            {
                "serial": dev["serial"],
                "name": dev["name"],
                "model": dev["model"],
                "mac": dev["mac"],
                "network": {"id": dev["networkId"]},
                "rfProfile": None
                if profile is None
                else {
                    "id": profile["id"],
                    "name": profile["name"],
                    "isIndoorDefault": bool(profile.get("isIndoorDefault")),
                    "isOutdoorDefault": bool(profile.get("isOutdoorDefault")),
                },
            }
        )
    return paginate(call, items, lambda d: str(d["serial"]))


@router.add("GET", ORG + "/inventory/devices/{serial}")
def get_inventory_device(st: SandboxState, call: Call) -> Reply:
    """One inventory device."""
    org_id = org_or_404(st, call.params["organizationId"])["id"]
    dev = st.devices.get(call.params["serial"])
    if dev is None or dev["organizationId"] != org_id:
        raise ApiError(404, f"Device {call.params['serial']} not found in inventory")
    return Reply(inventory_item(dev))


def claim_serial(st: SandboxState, org_id: str, serial: str, call: Call) -> Record:
    """Claim one serial into an organization, or 400 naming the serial."""
    existing = st.devices.get(serial)
    if existing is not None:
        if existing["organizationId"] == org_id:
            raise bad_request(f"Device with serial {serial} is already claimed")
        raise bad_request(f"Device with serial {serial} is claimed by another organization")
    old = st.warehouse.pop(serial, None)
    if old is not None:
        model, mac = old["model"], old["mac"]
    elif re.match(defaults.SERIAL_PATTERN, serial):
        model, mac = defaults.SERIAL_PREFIX_MODEL.get(serial[:4], "MR36"), None
    else:
        raise bad_request(f"Invalid serial {serial}")
    dev = defaults.device(serial, model, org_id, call.now, mac=mac)
    st.devices[serial] = dev
    lic_id = str(st.new_id())
    st.licenses[lic_id] = defaults.license_for(lic_id, dev, call.now)
    st.device_licenses[serial] = lic_id
    return dev


@router.add("POST", ORG + "/inventory/claim")
def claim_into_inventory(st: SandboxState, call: Call) -> Reply:
    """Claim serials (orders and licenses are accepted and echoed) into the inventory."""
    org_id = org_or_404(st, call.params["organizationId"])["id"]
    body = call.obj()
    serials = body.get("serials") or []
    if not (serials or body.get("orders") or body.get("licenses")):
        raise bad_request("Must specify at least one of 'serials', 'orders' or 'licenses'")
    errors = []
    for serial in serials:
        try:
            claim_serial(st, org_id, serial, call)
        except ApiError as err:
            errors.extend(err.messages)
    if errors:
        raise ApiError(400, *errors)
    return Reply(
        {
            "orders": body.get("orders") or [],
            "serials": serials,
            "licenses": body.get("licenses") or [],
        }
    )


@router.add("POST", ORG + "/inventory/release")
def release_from_inventory(st: SandboxState, call: Call) -> Reply:
    """Release unassigned devices from the organization."""
    org_id = org_or_404(st, call.params["organizationId"])["id"]
    serials = call.obj().get("serials") or []
    if not serials:
        raise bad_request("'serials' must be specified")
    for serial in serials:
        dev = st.devices.get(serial)
        if dev is None or dev["organizationId"] != org_id:
            raise bad_request(f"Device {serial} is not in this organization's inventory")
        if dev["networkId"]:
            raise bad_request(f"Device {serial} is in network {dev['networkId']}; remove it first")
    for serial in serials:
        dev = st.devices.pop(serial)
        st.warehouse[serial] = {"model": dev["model"], "mac": dev["mac"]}
        for lic in st.licenses_of(serial):
            del st.licenses[str(lic["id"])]
        st.device_licenses.pop(serial, None)
    return Reply({"serials": serials})


# --- statuses and licenses ----------------------------------------------------------------------


def _networked(st: SandboxState, call: Call) -> list[Record]:
    org_id = org_or_404(st, call.params["organizationId"])["id"]
    return _filter_devices([d for d in org_devices(st, org_id) if d["networkId"]], call)


def _wan1(dev: Record) -> Record:
    wan: Record = dev["managementInterface"].get("wan1") or {}
    return wan


@router.add("GET", ORG + "/devices/statuses")
def list_device_statuses(st: SandboxState, call: Call) -> Reply:
    """Status of every device that is in a network."""
    items = []
    for d in _networked(st, call):
        wan = _wan1(d)
        static = bool(wan.get("usingStaticIp"))
        items.append(
            {
                "name": d["name"],
                "serial": d["serial"],
                "mac": d["mac"],
                "publicIp": defaults.public_ip(d),
                "networkId": d["networkId"],
                "status": d["status"],
                "lastReportedAt": defaults.iso(call.now),
                "productType": d["productType"],
                "model": d["model"],
                "tags": d["tags"],
                "lanIp": wan.get("staticIp") or d["lanIp"],
                "gateway": wan.get("staticGatewayIp") or "192.168.128.1",
                "ipType": "static" if static else "dhcp",
                "primaryDns": (wan.get("staticDns") or ["8.8.8.8"])[0],
                "secondaryDns": None,
            }
        )
    return paginate(call, items, lambda i: str(i["serial"]))


@router.add("GET", ORG + "/devices/availabilities")
def list_device_availabilities(st: SandboxState, call: Call) -> Reply:
    """Availability of every networked device."""
    items = [
        {
            "mac": d["mac"],
            "name": d["name"],
            "network": {"id": d["networkId"]},
            "productType": d["productType"],
            "serial": d["serial"],
            "status": d["status"],
            "tags": d["tags"],
        }
        for d in _networked(st, call)
    ]
    return paginate(call, items, lambda i: str(i["serial"]))


@router.add("GET", ORG + "/uplinks/statuses")
def list_uplink_statuses(st: SandboxState, call: Call) -> Reply:
    """WAN uplink status of networked appliances, derived from their management interface."""
    items = []
    for d in _networked(st, call):
        if d["productType"] != defaults.ProductType.APPLIANCE:
            continue
        uplinks = []
        for name in ("wan1", "wan2"):
            wan = d["managementInterface"].get(name) or {}
            unused_wan2 = name == "wan2" and not wan.get("usingStaticIp")
            if wan.get("wanEnabled") == "disabled" or unused_wan2:
                continue
            uplinks.append(
                {
                    "interface": name,
                    "status": "active" if d["status"] == "online" else "failed",
                    "ip": wan.get("staticIp") or "10.0.0.2",
                    "gateway": wan.get("staticGatewayIp") or "10.0.0.1",
                    "publicIp": defaults.public_ip(d) if name == "wan1" else None,
                    "primaryDns": "8.8.8.8",
                    "secondaryDns": None,
                    "ipAssignedBy": "static" if wan.get("usingStaticIp") else "dhcp",
                }
            )
        items.append(
            {
                "networkId": d["networkId"],
                "serial": d["serial"],
                "model": d["model"],
                "lastReportedAt": defaults.iso(call.now),
                "highAvailability": {"enabled": False, "role": "primary"},
                "uplinks": uplinks,
            }
        )
    return paginate(call, items, lambda i: str(i["serial"]))


@router.add("GET", ORG + "/licenses")
def list_licenses(st: SandboxState, call: Call) -> Reply:
    """Per-device licenses, filterable by deviceSerial, networkId and state."""
    org_id = org_or_404(st, call.params["organizationId"])["id"]
    owned = {d["serial"] for d in org_devices(st, org_id)}
    lics = [lic for lic in st.licenses.values() if lic["deviceSerial"] in owned]
    for name in ("deviceSerial", "networkId", "state"):
        if (value := call.q(name)) is not None:
            lics = [lic for lic in lics if lic[name] == value]
    return paginate(call, lics, lambda lic: str(lic["id"]))


@router.add("POST", "/networks/{networkId}/devices/claim")
def claim_network_devices(st: SandboxState, call: Call) -> Reply:
    """Claim serials into a network (claiming into the org inventory first if needed)."""
    net = network_or_404(st, call.params["networkId"])
    serials = call.obj().get("serials")
    if not isinstance(serials, list) or not serials:
        raise bad_request("'serials' must be a non-empty array")
    errors = []
    for serial in serials:
        dev = st.devices.get(serial)
        if dev is None:
            try:
                dev = claim_serial(st, net["organizationId"], serial, call)
            except ApiError as err:
                errors.extend(err.messages)
                continue
        if dev["organizationId"] != net["organizationId"]:
            errors.append(f"Device with serial {serial} is claimed by another organization")
        elif dev["networkId"] is not None:
            errors.append(
                f"Device with serial {serial} is already claimed in network {dev['networkId']}"
            )
        elif dev["productType"] not in net["productTypes"]:
            errors.append(
                f"Device {serial} ({dev['model']}) is not supported by network "
                f"{net['id']} (product types: {', '.join(net['productTypes'])})"
            )
    if errors:
        raise ApiError(400, *errors)
    for serial in serials:
        attach_device(st, st.devices[serial], net["id"])
    return Reply({"serials": serials, "errors": []})


@router.add("POST", "/networks/{networkId}/devices/remove")
def remove_network_device(st: SandboxState, call: Call) -> Reply:
    """Remove one device from a network; it stays in the inventory."""
    net = network_or_404(st, call.params["networkId"])
    serial = call.obj().get("serial")
    dev = st.devices.get(str(serial))
    if dev is None or dev["networkId"] != net["id"]:
        raise bad_request(f"Device {serial} is not in network {net['id']}")
    detach_device(st, dev)
    return Reply(None, 204)


@router.add("GET", "/networks/{networkId}/devices")
def list_network_devices(st: SandboxState, call: Call) -> Reply:
    """Devices of a network."""
    from sandbox.routes_devices import device_view

    net = network_or_404(st, call.params["networkId"])
    return Reply([device_view(d) for d in st.devices.values() if d["networkId"] == net["id"]])

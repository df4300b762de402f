"""Reading sheets from YAML or Excel, writing them as YAML, and the plan-facing dashboard view."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from core.errors import Problem, ValidationFailed
from provisioning.domain import sorted_subnets
from provisioning.sheet_model import (
    ANY,
    Device,
    L3FirewallRule,
    OneToOneNatRule,
    PortForwardingRule,
    RfProfile,
    Sheet,
    SheetSecret,
    SiteToSiteVpn,
    Ssid,
    Vlan,
    dashboard_value,
    secret_fingerprint,
    sheet_to_raw,
)
from provisioning.validation import SheetSource, validate_sheet

YAML_SUFFIXES = frozenset({".yaml", ".yml"})
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})


MAX_YAML_NODES = 100_000  # a full wireless sheet is a few hundred; aliases count as expanded


def _safe_load_bounded(text: str, name: str) -> object:
    """`yaml.safe_load`, refusing a document that expands past MAX_YAML_NODES values.

    Anchors and aliases are legal YAML, but an alias of an alias of a list ("billion laughs")
    makes a small file describe billions of values; the composed tree is counted, aliases
    expanded, before any Python object is built.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        stack: list[yaml.Node] = [node]
        seen = 0
        while stack:
            current = stack.pop()
            seen += 1
            if seen > MAX_YAML_NODES:
                raise ValidationFailed(
                    [Problem(f"more than {MAX_YAML_NODES:,} values (aliases expanded)", name)]
                )
            if isinstance(current, yaml.SequenceNode):
                stack.extend(current.value)
            elif isinstance(current, yaml.MappingNode):
                for key, value in current.value:
                    stack.extend((key, value))
        return loader.construct_document(node)
    finally:
        loader.dispose()


def parse_yaml(text: str, name: str = "sheet") -> tuple[object, SheetSource]:
    """Parse YAML text; a syntax error becomes ValidationFailed at its line and column."""
    try:
        raw = _safe_load_bounded(text, name)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{name}, line {mark.line + 1}, column {mark.column + 1}" if mark else name
        detail = error.problem or str(error)
        raise ValidationFailed([Problem(f"YAML syntax error: {detail}", where)]) from None
    except yaml.YAMLError as error:
        raise ValidationFailed([Problem(f"YAML syntax error: {error}", name)]) from None
    except RecursionError:
        raise ValidationFailed([Problem("YAML nested too deeply", name)]) from None
    return raw, SheetSource(name=name)


def read_sheet(path: str | Path) -> tuple[object, SheetSource]:
    """The raw data of a YAML or Excel sheet and where each value came from."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix in YAML_SUFFIXES:
        try:
            text = file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            problem = Problem(f"the file is not UTF-8 text (byte {error.start})", file.name)
            raise ValidationFailed([problem], f"{file.name}: {problem.message}") from None
        return parse_yaml(text, file.name)
    if suffix in EXCEL_SUFFIXES:
        from provisioning.excel import read_workbook

        return read_workbook(file)
    raise ValidationFailed(
        [
            Problem(
                f"{file.suffix or 'no suffix'} is not a sheet; use .yaml, .yml or .xlsx", file.name
            )
        ]
    )


def load_sheet(
    path: str | Path,
    *,
    environ: Mapping[str, str] | None = None,
    allow_env: bool = True,
    secrets: Callable[[str, str], str | None] | None = None,
    organizations: Collection[str] | None = None,
) -> Sheet:
    """Load and validate a sheet, raising ValidationFailed with every problem found.

    A sheet that came over the network is loaded with `allow_env=False`; `secrets` resolves
    its ``secret:NAME`` references; `organizations` are those it may name (see `validate_sheet`).
    """
    raw, source = read_sheet(path)
    sheet, problems = validate_sheet(
        raw,
        source,
        environ=environ,
        allow_env=allow_env,
        secrets=secrets,
        organizations=organizations,
    )
    if sheet is None:
        raise ValidationFailed(problems, f"{Path(path).name}: {len(problems)} problem(s) found")
    return sheet


def dump_yaml(sheet: Sheet, *, reveal_secrets: bool = False) -> str:
    """The sheet as YAML; env-referenced secrets stay references, others are masked by default."""
    return yaml.safe_dump(
        sheet_to_raw(sheet, reveal_secrets=reveal_secrets),
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
    )


# --- the plan-facing view: dashboard resources and field names, secrets as fingerprints -------


def _dash(value: StrEnum) -> str:
    return dashboard_value(value)


def _any(text: str) -> str:
    return "Any" if text == ANY else text


def _secret(secret: SheetSecret | None, key: bytes) -> str | None:
    return None if secret is None else secret_fingerprint(secret, key)


def _device(device: Device) -> dict[str, Any]:
    body: dict[str, Any] = {"name": device.name, "tags": device.tags, "address": device.address}
    if device.management_interface:
        wan = device.management_interface.wan1
        fields: dict[str, Any] = {"usingStaticIp": wan.using_static_ip, "vlan": wan.vlan}
        if wan.using_static_ip:  # the static fields only when static, never as nulls
            fields |= {
                "staticIp": wan.static_ip,
                "staticSubnetMask": wan.static_subnet_mask,
                "staticGatewayIp": wan.static_gateway_ip,
                "staticDns": wan.static_dns,
            }
        body["managementInterface"] = {"wan1": {k: v for k, v in fields.items() if v is not None}}
    if device.rf_profile:
        body["radio"] = {"rfProfile": device.rf_profile}
    return body


def _vlan(vlan: Vlan) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": vlan.id,
        "name": vlan.name,
        "subnet": vlan.subnet,
        "applianceIp": vlan.appliance_ip,
        "dhcpHandling": _dash(vlan.dhcp_handling),
        "dhcpLeaseTime": str(vlan.dhcp_lease_time),
        "dnsNameservers": "\n".join(vlan.dns_nameservers),
        "reservedIpRanges": [r.model_dump(by_alias=True) for r in vlan.reserved_ip_ranges],
        "fixedIpAssignments": {
            mac: fixed.model_dump(by_alias=True) for mac, fixed in vlan.fixed_ip_assignments.items()
        },
    }
    if vlan.dhcp_relay_server_ips:
        body["dhcpRelayServerIps"] = vlan.dhcp_relay_server_ips
    return body


def _l3(rule: L3FirewallRule) -> dict[str, Any]:
    return {
        "comment": rule.comment,
        "policy": str(rule.policy),
        "protocol": str(rule.protocol),
        "srcCidr": _any(rule.src_cidr),
        "srcPort": _any(rule.src_port),
        "destCidr": _any(rule.dest_cidr),
        "destPort": _any(rule.dest_port),
        "syslogEnabled": rule.syslog_enabled,
    }


def _forward(rule: PortForwardingRule) -> dict[str, Any]:
    return rule.model_dump(mode="json", by_alias=True)


def _nat(rule: OneToOneNatRule) -> dict[str, Any]:
    return rule.model_dump(mode="json", by_alias=True)


def _ssid(ssid: Ssid, key: bytes) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": ssid.name,
        "enabled": ssid.enabled,
        "authMode": str(ssid.auth_mode),
        "ipAssignmentMode": _dash(ssid.ip_assignment_mode),
        "useVlanTagging": ssid.use_vlan_tagging,
        "bandSelection": _dash(ssid.band_selection),
        "visible": ssid.visible,
    }
    if ssid.wpa_encryption_mode is not None:
        body["encryptionMode"] = "wpa"
        body["wpaEncryptionMode"] = _dash(ssid.wpa_encryption_mode)
    if ssid.psk is not None:
        body["psk"] = _secret(ssid.psk, key)
    if ssid.radius_servers:
        body["radiusServers"] = [
            {"host": s.host, "port": s.port, "secret": _secret(s.secret, key)}
            for s in ssid.radius_servers
        ]
    if ssid.default_vlan_id is not None:
        body["defaultVlanId"] = ssid.default_vlan_id
    return body


def _site_to_site(vpn: SiteToSiteVpn) -> dict[str, Any]:
    """Hubs only for a spoke (in preference order); subnets only when the sheet names them."""
    body: dict[str, Any] = {
        "mode": str(vpn.mode),
        "hubs": [
            {"hubId": h.hub_id, "useDefaultRoute": h.use_default_route} for h in vpn.hubs or []
        ]
        if vpn.mode == "spoke"
        else [],
    }
    if vpn.subnets is not None:
        body["subnets"] = sorted_subnets(
            {"localSubnet": s.local_subnet, "useVpn": s.use_vpn} for s in vpn.subnets
        )
    return body


def _rf(profile: RfProfile) -> dict[str, Any]:
    """An RF profile; whole-number bitrates as integers (the specification types the 5 GHz
    ``minBitrate`` an integer: 6, 9, 12 … 54; 2.4 GHz a number for its 5.5)."""
    body = profile.model_dump(mode="json", by_alias=True)
    body["minBitrateType"] = "band"
    for band in ("twoFourGhzSettings", "fiveGhzSettings"):
        rate = body[band]["minBitrate"]
        if isinstance(rate, float) and rate.is_integer():
            body[band]["minBitrate"] = int(rate)
    return body


def dashboard_view(sheet: Sheet, *, secret_key: bytes) -> dict[str, Any]:
    """Desired state keyed like the Dashboard API v1; secrets only as keyed fingerprints.

    Sections the sheet leaves out are absent, so a diff touches only what the sheet names.
    """
    view: dict[str, Any] = {
        "network": {
            "name": sheet.site.name,
            "timeZone": sheet.site.time_zone,
            "productTypes": ["wireless"] if sheet.site.plan == "wireless" else ["appliance"],
        }
    }
    if sheet.devices is not None:
        view["devices"] = {d.serial: _device(d) for d in sheet.devices}
    appliance: dict[str, Any] = {}
    if sheet.vlans is not None:
        appliance["vlans"] = {v.id: _vlan(v) for v in sheet.vlans}
    if sheet.l3_firewall_rules is not None:
        appliance["l3FirewallRules"] = {"rules": [_l3(r) for r in sheet.l3_firewall_rules]}
    if sheet.l7_firewall_rules is not None:
        appliance["l7FirewallRules"] = {
            "rules": [_l7(r.policy, r.type, r.value) for r in sheet.l7_firewall_rules]
        }
    if sheet.port_forwarding_rules is not None:
        appliance["portForwardingRules"] = {
            "rules": [_forward(r) for r in sheet.port_forwarding_rules]
        }
    if sheet.one_to_one_nat_rules is not None:
        appliance["oneToOneNatRules"] = {"rules": [_nat(r) for r in sheet.one_to_one_nat_rules]}
    if sheet.content_filtering is not None:
        appliance["contentFiltering"] = sheet.content_filtering.model_dump(mode="json")
    if sheet.intrusion is not None:
        appliance["security/intrusion"] = sheet.intrusion.model_dump(mode="json")
    if sheet.malware is not None:
        malware = sheet.malware
        appliance["security/malware"] = {
            "mode": str(malware.mode),
            "allowedUrls": [{"url": u, "comment": ""} for u in malware.allowed_urls],
            "allowedFiles": [{"sha256": f, "comment": ""} for f in malware.allowed_files],
        }
    if sheet.site_to_site_vpn is not None:
        appliance["vpn/siteToSiteVpn"] = _site_to_site(sheet.site_to_site_vpn)
    if appliance:
        view["appliance"] = appliance
    wireless: dict[str, Any] = {}
    if sheet.ssids is not None:
        wireless["ssids"] = {s.number: _ssid(s, secret_key) for s in sheet.ssids}
    if sheet.rf_profiles is not None:
        wireless["rfProfiles"] = {p.name: _rf(p) for p in sheet.rf_profiles}
    if wireless:
        view["wireless"] = wireless
    return view


def _l7(policy: str, kind: str, value: str) -> dict[str, Any]:
    """An L7 rule; ``value`` is a string for every type, as the update operation takes it (the
    dashboard answers application rules with ``{id, name}``: `domain.normalise_current`)."""
    return {"policy": str(policy), "type": str(kind), "value": value}


def load_all(sources: Iterable[tuple[str, Callable[[], Sheet]]]) -> list[Sheet]:
    """Every sheet loaded, or every problem of every sheet at once, each with its file's name.

    `sources` pairs a file name with what loads it (a path or an upload).
    """
    loaded, problems = [], []
    for name, load in sources:
        try:
            loaded.append(load())
        except ValidationFailed as refused:
            problems += [Problem(p.message, f"{name}: {p.location}") for p in refused.problems]
    if problems:
        raise ValidationFailed(problems, f"{len(problems)} problem(s) found; nothing was sent")
    return loaded

"""Validate a raw sheet (from YAML or Excel) and report every problem at once, each at its place.

Single-field rules are pydantic validators on the ``sheet_model`` models; the rules here span
fields, items or the plan (appliance and wireless ones in ``validation_appliance`` and
``validation_wireless``). Locations are key paths (``vlans[2].subnet``) for YAML and cells
(``tab VLAN, cell C7``) for Excel, chosen by the ``SheetSource`` the loader hands over.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final

from pydantic import ValidationError

from core.errors import Problem
from provisioning.sheet_enums import Plan, SheetKind, as_text
from provisioning.sheet_model import (
    APPLIANCE_OBJECT_SECTIONS,
    APPLIANCE_SECTIONS,
    UTM_ONLY_SECTIONS,
    WIRELESS_SECTIONS,
    Device,
    Sheet,
)
from provisioning.validation_appliance import (
    check_firewall,
    check_nat,
    check_site_to_site_vpn,
    check_vlans,
)
from provisioning.validation_parts import Found, SheetParts, parts_of_raw, parts_of_sheet
from provisioning.validation_parts import Loc as Loc
from provisioning.validation_wireless import check_wireless

MODEL_PREFIXES: Final[Mapping[Plan, tuple[str, ...]]] = {
    Plan.UTM: ("MX", "Z"),
    Plan.ROUTER: ("MX", "Z"),
    Plan.WIRELESS: ("MR", "CW"),
}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class SheetSource:
    """Where a raw sheet came from, so a pydantic location can be told as a key path or a cell."""

    name: str = "sheet"
    cells: dict[Loc, str] = field(default_factory=dict)
    tabs: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def is_workbook(self) -> bool:
        """Excel sources know their tabs; YAML sources only know key paths."""
        return bool(self.tabs)

    def locate(self, loc: Loc) -> str:
        """The Excel cell (longest known prefix) or the YAML key path of a location."""
        if not self.is_workbook:
            return key_path(loc)
        for end in range(len(loc), 0, -1):
            found = self.cells.get(loc[:end])
            if found:
                return found
        if loc and isinstance(loc[0], str) and loc[0] in self.tabs:
            return f"tab {self.tabs[loc[0]]}"
        return "workbook"


def key_path(loc: Loc) -> str:
    """``("vlans", 2, "subnet")`` → ``vlans[2].subnet``."""
    text = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


def _label(loc: Loc) -> str:
    """The name a message starts with: the last key, or ``vlans[2]`` for a whole item."""
    for index in range(len(loc) - 1, -1, -1):
        part = loc[index]
        if part == "[key]":
            return "MAC"
        if isinstance(part, str):
            return key_path(loc[index:])
    return "sheet"


def problems_from_pydantic(error: ValidationError, source: SheetSource) -> list[Problem]:
    """Turn pydantic errors into problems, never echoing the input (it may be a secret)."""
    problems: list[Problem] = []
    for item in error.errors(include_input=False, include_url=False):
        loc: Loc = tuple(item["loc"])
        label = _label(loc)
        kind = item["type"]
        if kind == "value_error":
            message = f"{label} {item['ctx']['error']}"
        elif kind == "missing":
            message = f"{label} is required"
        elif kind == "extra_forbidden":
            message = f"{label} is not a known field"
        else:
            message = f"{label}: {item['msg']}"
        problems.append(Problem(message, source.locate(loc)))
    return problems


# --- cross-field rules of the document and its devices ------------------------------------


def check_document(parts: SheetParts) -> Iterator[Found]:
    """Change-request headers, plan-only sections and what a settings sheet must hold."""
    if parts.kind is SheetKind.CHANGE_REQUEST:
        if "request" not in parts.present:
            yield ("request",), "request is required on a change_request sheet"
        elif parts.request is not None:
            for name in ("id", "customer", "requester", "date"):
                if getattr(parts.request, name) is None:
                    yield (
                        ("request", name),
                        f"request.{name} is required on a change_request sheet",
                    )
    elif parts.kind is SheetKind.SETTINGS and "request" in parts.present:
        yield ("request",), "request belongs only on a change_request sheet"
    plan = parts.plan
    if plan is None:
        return
    if plan is Plan.ROUTER:
        for section in UTM_ONLY_SECTIONS:
            if section in parts.present:
                yield (section,), f"{section} is a UTM plan feature, not on a router plan sheet"
    if plan is Plan.WIRELESS:
        for section in (*APPLIANCE_SECTIONS, *APPLIANCE_OBJECT_SECTIONS, *UTM_ONLY_SECTIONS):
            if section in parts.present:
                yield (section,), f"{section} is an appliance setting, not on a wireless plan sheet"
    else:
        for section in WIRELESS_SECTIONS:
            if section in parts.present:
                yield (section,), f"{section} is a wireless setting, not on a {plan} plan sheet"
    if parts.kind is SheetKind.SETTINGS:
        if "devices" not in parts.present:
            yield ("devices",), "devices: a settings sheet lists at least one device"
        needed = "ssids" if plan is Plan.WIRELESS else "vlans"
        if needed not in parts.present:
            yield (needed,), f"{needed}: a {plan} settings sheet needs at least one entry"


def check_devices(parts: SheetParts) -> Iterator[Found]:
    """Serials unique; the model fits the plan; static WAN addressing complete and consistent."""
    seen: dict[str, int] = {}
    for index, device in parts.each("devices", Device):
        loc: Loc = ("devices", index)
        if device.serial in seen:
            yield (
                (*loc, "serial"),
                (f"serial {device.serial} is already listed at devices[{seen[device.serial]}]"),
            )
        seen.setdefault(device.serial, index)
        prefixes = MODEL_PREFIXES.get(parts.plan) if parts.plan else None
        if prefixes and not device.model.startswith(prefixes):
            expected = " or ".join(f"{p}*" for p in prefixes)
            yield (
                (*loc, "model"),
                (f"model {device.model} does not fit the {parts.plan} plan (expected {expected})"),
            )
        if device.rf_profile is not None and not device.model.startswith(AP_MODEL_PREFIX):
            yield (
                (*loc, "rfProfile"),
                f"rfProfile is for access points ({AP_MODEL_PREFIX}*), not a {device.model}",
            )
        wan = device.management_interface.wan1 if device.management_interface else None
        if wan is None or not wan.using_static_ip:
            continue
        wan_loc = (*loc, "managementInterface", "wan1")
        for key, value in (
            ("staticIp", wan.static_ip),
            ("staticSubnetMask", wan.static_subnet_mask),
            ("staticGatewayIp", wan.static_gateway_ip),
        ):
            if value is None:
                yield (*wan_loc, key), f"{key} is required when usingStaticIp is true"
        if wan.static_ip and wan.static_subnet_mask and wan.static_gateway_ip:
            try:
                net = ipaddress.IPv4Network(f"{wan.static_ip}/{wan.static_subnet_mask}", False)
            except ValueError:
                yield (
                    (*wan_loc, "staticSubnetMask"),
                    (f"staticSubnetMask {wan.static_subnet_mask} is not a subnet mask"),
                )
                continue
            if ipaddress.IPv4Address(wan.static_gateway_ip) not in net:
                yield (
                    (*wan_loc, "staticGatewayIp"),
                    (f"staticGatewayIp {wan.static_gateway_ip} is not inside {net}"),
                )


AP_MODEL_PREFIX: Final = "MR"

RULES: Final = (
    check_document,
    check_devices,
    check_vlans,
    check_firewall,
    check_nat,
    check_site_to_site_vpn,
    check_wireless,
)


def validate_sheet(
    raw: object,
    source: SheetSource | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    allow_env: bool = True,
    secrets: Callable[[str, str], str | None] | None = None,
    organizations: Collection[str] | None = None,
) -> tuple[Sheet | None, list[Problem]]:
    """Every problem of a raw sheet at once; the sheet only when there are none.

    `allow_env=False` for a sheet that came over the network: its ``env:`` references are
    refused. `secrets` resolves ``secret:NAME`` for the sheet's customer (netkeep's store).
    `organizations`: the ones netkeep manages; a `site.organizationId` outside them is refused.
    """
    source = source or SheetSource()
    problems = list(source.problems)
    if not isinstance(raw, Mapping):
        problems.append(Problem("a sheet is a mapping of sections (format, kind, site …)", ""))
        return None, problems
    customer = sheet_customer(raw)
    context: dict[str, Any] = {
        "environ": os.environ if environ is None else environ,
        "allow_env": allow_env,
        "customer": customer,
        "named_secret": None if secrets is None else partial(secrets, customer or ""),
    }
    sheet: Sheet | None = None
    try:
        sheet = Sheet.model_validate(raw, context=context)
    except ValidationError as error:
        problems.extend(problems_from_pydantic(error, source))
    parts = parts_of_sheet(sheet, raw) if sheet else parts_of_raw(raw, context)
    for rule in RULES:
        problems.extend(Problem(message, source.locate(loc)) for loc, message in rule(parts))
    if organizations is not None:
        problems.extend(
            Problem(message, source.locate(loc))
            for loc, message in check_organization(raw, organizations)
        )
    return (sheet if not problems else None), problems


def check_organization(raw: Mapping[str, Any], organizations: Collection[str]) -> Iterator[Found]:
    """A sheet names only an organization netkeep manages (before any dashboard call)."""
    site = raw.get("site")
    named = site.get("organizationId") if isinstance(site, Mapping) else None
    if named is None:
        return
    text = str(as_text(named)).strip()
    if text and text not in organizations:
        yield (
            ("site", "organizationId"),
            f"organizationId {text} is not an organization netkeep manages here "
            f"({', '.join(organizations)})",
        )


def sheet_customer(raw: Mapping[str, Any]) -> str | None:
    """Whose sheet it is: the change request's customer, else the site's."""
    for section in ("request", "site"):
        part = raw.get(section)
        if isinstance(part, Mapping) and isinstance(part.get("customer"), str):
            text = str(part["customer"]).strip()
            if text:
                return text
    return None


def format_problems(problems: Sequence[Problem]) -> str:
    """One problem per line, for a CLI or a log."""
    return "\n".join(str(p) for p in problems)

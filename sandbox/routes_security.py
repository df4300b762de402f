"""Appliance (MX) firewall, NAT and security endpoints: L3/L7 rules, forwarding, filtering, IPS."""

from __future__ import annotations

import copy
from typing import Any

from sandbox import defaults
from sandbox.access import merge, require_fields
from sandbox.router import Call, Reply, Router, bad_request
from sandbox.routes_appliance import NET, appliance_settings
from sandbox.state import Record, SandboxState

router = Router()

# --- firewall -----------------------------------------------------------------------------------

PROTOCOLS = ("tcp", "udp", "icmp", "icmp6", "any")


def _l3_rule(rule: Any) -> Record:
    if not isinstance(rule, dict):
        raise bad_request("each rule must be an object")
    require_fields(rule, "policy", "protocol", "destCidr")
    if rule["policy"] not in ("allow", "deny"):
        raise bad_request(f"'policy' must be allow or deny, got {rule['policy']!r}")
    if str(rule["protocol"]).lower() not in PROTOCOLS:
        raise bad_request(f"'protocol' must be one of {', '.join(PROTOCOLS)}")
    return {
        "comment": rule.get("comment") or "",
        "policy": rule["policy"],
        "protocol": rule["protocol"],
        "srcPort": str(rule.get("srcPort") or "Any"),
        "srcCidr": rule.get("srcCidr") or "Any",
        "destPort": str(rule.get("destPort") or "Any"),
        "destCidr": rule["destCidr"],
        "syslogEnabled": bool(rule.get("syslogEnabled", False)),
    }


def _is_default_rule(rule: Any) -> bool:
    return isinstance(rule, dict) and rule.get("comment") == defaults.DEFAULT_RULE_COMMENT


def _l3_view(cfg: Record) -> Record:
    return {"rules": [*cfg["l3Rules"], defaults.default_l3_rule(cfg["syslogDefaultRule"])]}


@router.add("GET", NET + "/firewall/l3FirewallRules")
def get_l3_rules(st: SandboxState, call: Call) -> Reply:
    """L3 rules with the dashboard's trailing "Default rule" allow-any."""
    return Reply(_l3_view(appliance_settings(st, call)))


@router.add("PUT", NET + "/firewall/l3FirewallRules")
def update_l3_rules(st: SandboxState, call: Call) -> Reply:
    """Replace L3 rules; a trailing "Default rule" sent back by a client is dropped."""
    cfg = appliance_settings(st, call)
    body = call.obj()
    rules = body.get("rules", [])
    if not isinstance(rules, list):
        raise bad_request("'rules' must be an array")
    if rules and _is_default_rule(rules[-1]):
        rules = rules[:-1]
    cfg["l3Rules"] = [_l3_rule(r) for r in rules]
    if "syslogDefaultRule" in body:
        cfg["syslogDefaultRule"] = bool(body["syslogDefaultRule"])
    return Reply(_l3_view(cfg))


L7_TYPES = (
    "application",
    "applicationCategory",
    "host",
    "port",
    "ipRange",
    "allowedCountries",
    "blockedCountries",
    "whitelistedCountries",
    "blacklistedCountries",
)


NAMED_L7_TYPES = ("application", "applicationCategory")


def _l7_view(rule: Record) -> Record:
    """A stored rule as the dashboard shows it: application values as ``{id, name}``."""
    if rule.get("type") in NAMED_L7_TYPES and isinstance(rule.get("value"), str):
        value = rule["value"]
        return {**rule, "value": {"id": value, "name": value.rsplit("/", 1)[-1]}}
    return rule


@router.add("GET", NET + "/firewall/l7FirewallRules")
def get_l7_rules(st: SandboxState, call: Call) -> Reply:
    """L7 rules (application and category values answered as objects, as the dashboard does)."""
    return Reply({"rules": [_l7_view(r) for r in appliance_settings(st, call)["l7Rules"]]})


@router.add("PUT", NET + "/firewall/l7FirewallRules")
def update_l7_rules(st: SandboxState, call: Call) -> Reply:
    """Replace L7 rules (policy is always deny)."""
    cfg = appliance_settings(st, call)
    rules = call.obj().get("rules", [])
    for rule in rules:
        if not isinstance(rule, dict) or rule.get("type") not in L7_TYPES or "value" not in rule:
            raise bad_request(
                f"each L7 rule needs 'type' (one of {', '.join(L7_TYPES)}) and 'value'"
            )
        if not isinstance(rule["value"], str):
            raise bad_request("'value' of an L7 rule must be a string")
        rule["policy"] = rule.get("policy", "deny")
    cfg["l7Rules"] = rules
    return Reply({"rules": [_l7_view(r) for r in rules]})


def _rules_endpoint(path: str, key: str, required: tuple[str, ...], filler: dict[str, Any]) -> None:
    def get_rules(st: SandboxState, call: Call) -> Reply:
        return Reply({"rules": appliance_settings(st, call)[key]})

    def put_rules(st: SandboxState, call: Call) -> Reply:
        cfg = appliance_settings(st, call)
        rules = call.obj().get("rules")
        if not isinstance(rules, list):
            raise bad_request("'rules' must be an array")
        clean = []
        for rule in rules:
            if not isinstance(rule, dict):
                raise bad_request("each rule must be an object")
            require_fields(rule, *required)
            clean.append({**copy.deepcopy(filler), **rule})
        cfg[key] = clean
        return Reply({"rules": clean})

    get_rules.__doc__ = f"GET {path}."
    put_rules.__doc__ = f"PUT {path}."
    router.add("GET", NET + path)(get_rules)
    router.add("PUT", NET + path)(put_rules)


_rules_endpoint(
    "/firewall/portForwardingRules",
    "portForwardingRules",
    ("lanIp", "protocol", "publicPort", "localPort"),
    {"name": "", "uplink": "both", "allowedIps": ["any"]},
)
_rules_endpoint(
    "/firewall/oneToOneNatRules",
    "oneToOneNatRules",
    ("lanIp", "publicIp"),
    {"name": "", "uplink": "internet1", "allowedInbound": []},
)


CATEGORY_NAMES = {
    "C1": "Real Estate",
    "C3": "Adult and Pornography",
    "C7": "Shopping",
    "C29": "Gambling",
}
"""Names of a few content-filtering categories (the dashboard answers ids with names)."""


def _named_categories(settings: Record) -> Record:
    """Content filtering as the dashboard answers it: categories as ``{id, name}``."""
    if "blockedUrlCategories" not in settings:
        return settings
    named = []
    for cat in settings["blockedUrlCategories"]:
        code = str(cat).rsplit("/", 1)[-1]
        named.append({"id": cat, "name": CATEGORY_NAMES.get(code, f"Category {code}")})
    return {**settings, "blockedUrlCategories": named}


def _settings_endpoint(
    path: str, key: str, allowed: frozenset[str], choices: dict[str, tuple[str, ...]]
) -> None:
    def get_settings(st: SandboxState, call: Call) -> Reply:
        return Reply(_named_categories(appliance_settings(st, call)[key]))

    def put_settings(st: SandboxState, call: Call) -> Reply:
        cfg = appliance_settings(st, call)
        body = call.obj()
        for name, options in choices.items():
            if name in body and body[name] not in options:
                raise bad_request(f"'{name}' must be one of: {', '.join(options)}")
        updated = copy.deepcopy(cfg[key])
        categories = body.get("blockedUrlCategories")
        if categories is not None and not (
            isinstance(categories, list) and all(isinstance(c, str) for c in categories)
        ):
            raise bad_request("'blockedUrlCategories' must be an array of category ids")
        merge(updated, body, allowed)
        cfg[key] = updated
        return Reply(_named_categories(updated))

    get_settings.__doc__ = f"GET {path}."
    put_settings.__doc__ = f"PUT {path}."
    router.add("GET", NET + path)(get_settings)
    router.add("PUT", NET + path)(put_settings)


_settings_endpoint(
    "/contentFiltering",
    "contentFiltering",
    frozenset(
        {"allowedUrlPatterns", "blockedUrlPatterns", "blockedUrlCategories", "urlCategoryListSize"}
    ),
    {"urlCategoryListSize": ("topSites", "fullList")},
)
_settings_endpoint(
    "/security/intrusion",
    "intrusion",
    frozenset({"mode", "idsRulesets", "protectedNetworks", "policy"}),
    {
        "mode": ("disabled", "detection", "prevention"),
        "idsRulesets": ("connectivity", "balanced", "security"),
    },
)
_settings_endpoint(
    "/security/malware",
    "malware",
    frozenset({"mode", "allowedUrls", "allowedFiles"}),
    {"mode": ("enabled", "disabled")},
)

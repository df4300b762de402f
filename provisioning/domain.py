"""Pure provisioning rules: resource keys, normalising what the dashboard returns, the diff.

Write-building, operation order, batch packing and call estimates are in `provisioning.batching`.

Desired and current state are both ``{resource key: body}`` in Dashboard API v1 field names.
Secrets never appear in clear here: both sides carry keyed fingerprints, and write bodies carry
``{"$secret": ref}`` placeholders that the adapter resolves from the sheet at send time.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.errors import InvalidTransition

NETWORK = "network"
VLANS_SETTINGS = "vlansSettings"
SECRET_FIELDS = frozenset({"psk", "secret"})
SECRET_REF = "$secret"
MAP_FIELDS = frozenset({"fixedIpAssignments"})
"""Object fields whose keys are data (MAC → assignment): compared with exact key sets."""
REPORTED_ONLY = {"ssid": frozenset({"encryptionMode", "wpaEncryptionMode"})}
"""Fields compared only when the dashboard reports them (it drops them for non-PSK SSIDs)."""
DEFAULT_RULE_COMMENT = "Default rule"
FACTORY_VLAN_1: dict[str, Any] = {
    "id": "1",
    "name": "Default",
    "subnet": "192.168.128.0/24",
    "applianceIp": "192.168.128.1",
    "fixedIpAssignments": {},
    "reservedIpRanges": [],
}
"""The VLAN the dashboard creates when VLANs are first enabled on a network (no fixed IPs and
no reserved ranges: putting it back clears a job's, which lie outside its subnet)."""

SINGLETONS = (
    "l3FirewallRules",
    "l7FirewallRules",
    "portForwardingRules",
    "oneToOneNatRules",
    "contentFiltering",
    "security/intrusion",
    "security/malware",
    "vpn/siteToSiteVpn",
)
PATH_KINDS = ("security", "vpn")
"""Key heads of singletons named by their API path under /appliance (``security/intrusion``)."""
RADIO = "radio"
"""An AP's RF profile assignment (``device/S/radio``): PUT /devices/S/wireless/radio/settings."""
DEVICE_PARTS = frozenset({"managementInterface", "radio"})
"""Parts of a sheet's device written through their own endpoints, not PUT /devices/{serial}."""
CREATED = "$created"
"""A write body's placeholder for the id of a resource the same job creates earlier."""


class ChangeAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    DISABLE = "disable"


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    VERIFY_FAILED = "verify_failed"


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


STEP_TRANSITIONS: Mapping[StepStatus, frozenset[StepStatus]] = {
    StepStatus.PENDING: frozenset({StepStatus.RUNNING}),
    # running → running: a resume takes up a step a crash interrupted (it was maybe sent);
    # running → pending: a shared batch failed as a whole, the step is sent again alone.
    StepStatus.RUNNING: frozenset(
        {StepStatus.RUNNING, StepStatus.DONE, StepStatus.FAILED, StepStatus.PENDING}
    ),
    StepStatus.FAILED: frozenset({StepStatus.RUNNING}),  # a resume tries it again
    StepStatus.DONE: frozenset(),  # never sent again
}


def advance_step(current: StepStatus | str, target: StepStatus) -> StepStatus:
    """`target` if a journal step may move there from `current`, else InvalidTransition."""
    now = StepStatus(current)
    allowed = STEP_TRANSITIONS[now]
    if target not in allowed:
        raise InvalidTransition("journal step", now.value, target.value, (s.value for s in allowed))
    return target


JOB_TRANSITIONS: Mapping[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.RUNNING}),
    # running → running: a resume takes up a job a crash left running;
    # running → failed: a step failed (or the job's outcome found one unfinished);
    # running → verify_failed: every step done, the read-back still differs.
    JobStatus.RUNNING: frozenset(
        {JobStatus.RUNNING, JobStatus.DONE, JobStatus.FAILED, JobStatus.VERIFY_FAILED}
    ),
    JobStatus.FAILED: frozenset({JobStatus.RUNNING}),  # a resume continues it
    # a resume takes it up too (a rollout's resume runs every job not done); its steps all
    # done, it ends verify_failed again
    JobStatus.VERIFY_FAILED: frozenset({JobStatus.RUNNING}),
    JobStatus.DONE: frozenset(),  # never run again
}


def advance_job(current: JobStatus | str, target: JobStatus) -> JobStatus:
    """`target` if a provisioning job may move there from `current`, else InvalidTransition."""
    now = JobStatus(current)
    allowed = JOB_TRANSITIONS[now]
    if target not in allowed:
        raise InvalidTransition(
            "provisioning job", now.value, target.value, (s.value for s in allowed)
        )
    return target


def job_outcome(*, verify_differs: bool, all_steps_done: bool) -> JobStatus:
    """How a job that ran without failing ended: a difference left, a step left, or done."""
    if verify_differs:
        return JobStatus.VERIFY_FAILED
    if not all_steps_done:
        return JobStatus.FAILED
    return JobStatus.DONE


ROLLOUT_NOTHING = "nothing to do"
ROLLOUT_MIXED = "partly done"


def rollout_status(job_statuses: Iterable[JobStatus | str]) -> str:
    """A rollout's status, read from its jobs: theirs when they agree, else ``partly done``.

    A rollout stores no status of its own; it moves only as its jobs do (`JOB_TRANSITIONS`).
    """
    states = {JobStatus(s) for s in job_statuses}
    if not states:
        return ROLLOUT_NOTHING
    if len(states) == 1:
        return str(states.pop())
    return ROLLOUT_MIXED


class JobKind(StrEnum):
    APPLY = "apply"
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field that differs; secrets carry no values, only that they changed."""

    path: str
    before: Any = None
    after: Any = None
    secret: bool = False


@dataclass(frozen=True, slots=True)
class Change:
    """What must happen to one resource, with only the differing fields."""

    key: str
    action: ChangeAction
    fields: tuple[FieldChange, ...] = ()

    @property
    def kind(self) -> str:
        return kind_of(self.key)


# --- resource keys ---------------------------------------------------------------------------


def kind_of(key: str) -> str:
    """The resource kind of a key: ``vlan/10`` → ``vlan``; ``device/S/managementInterface``."""
    if key.startswith("device/") and key.endswith("/managementInterface"):
        return "managementInterface"
    if key.startswith("device/") and key.endswith("/radio"):
        return RADIO
    head = key.split("/", 1)[0]
    return key if head in PATH_KINDS else head


def ident_of(key: str) -> str:
    """The id part of a key: ``vlan/10`` → ``10``; a device key → its serial."""
    parts = key.split("/")
    return parts[1] if len(parts) > 1 and parts[0] not in PATH_KINDS else ""


def desired_resources(view: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Flatten ``dashboard_view`` into resource key → desired body."""
    out: dict[str, dict[str, Any]] = {NETWORK: dict(view["network"])}
    for serial, device in (view.get("devices") or {}).items():
        body = {k: v for k, v in device.items() if k not in DEVICE_PARTS and v is not None}
        out[f"device/{serial}"] = body
        if "managementInterface" in device:
            out[f"device/{serial}/managementInterface"] = dict(device["managementInterface"])
        if "radio" in device:
            out[f"device/{serial}/radio"] = dict(device["radio"])
    appliance = view.get("appliance") or {}
    for vlan_id, vlan in (appliance.get("vlans") or {}).items():
        out[f"vlan/{vlan_id}"] = {**vlan, "id": str(vlan_id)}
    for name in SINGLETONS:
        if name in appliance:
            out[name] = dict(appliance[name])
    wireless = view.get("wireless") or {}
    for number, ssid in (wireless.get("ssids") or {}).items():
        out[f"ssid/{number}"] = dict(ssid)
    for name, profile in (wireless.get("rfProfiles") or {}).items():
        out[f"rfProfile/{name}"] = dict(profile)
    return out


def sections_of(view: Mapping[str, Any]) -> frozenset[str]:
    """Collections the sheet names (even empty), so only those are read and pruned."""
    found = {NETWORK}
    if "devices" in view:
        found.add("device")
    appliance = view.get("appliance") or {}
    if "vlans" in appliance:
        found.add("vlan")
    found.update(name for name in SINGLETONS if name in appliance)
    wireless = view.get("wireless") or {}
    if "ssids" in wireless:
        found.add("ssid")
    if "rfProfiles" in wireless:
        found.add("rfProfile")
    return frozenset(found)


# --- normalising what the dashboard returns --------------------------------------------------


def fingerprint_secrets(value: Any, fingerprint: Callable[[str], str]) -> Any:
    """A copy with every secret field's clear value replaced by its fingerprint."""
    if isinstance(value, Mapping):
        return {
            k: (
                fingerprint(v)
                if k in SECRET_FIELDS and isinstance(v, str) and v
                else fingerprint_secrets(v, fingerprint)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [fingerprint_secrets(v, fingerprint) for v in value]
    return value


def normalise_current(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Dashboard quirks removed: the implicit L3 "Default rule", category and L7 application
    objects (``{id, name}``) as their ids."""
    out = dict(body)
    if kind == "l3FirewallRules":
        rules = list(out.get("rules") or [])
        if rules and rules[-1].get("comment") == DEFAULT_RULE_COMMENT:
            rules = rules[:-1]
        out["rules"] = rules
    if kind == "l7FirewallRules":
        out["rules"] = [
            {**r, "value": r["value"].get("id")}
            if isinstance(r, Mapping) and isinstance(r.get("value"), Mapping)
            else r
            for r in out.get("rules") or []
        ]
    if kind == "contentFiltering":
        out["blockedUrlCategories"] = [
            c.get("id") if isinstance(c, Mapping) else c
            for c in out.get("blockedUrlCategories") or []
        ]
    if kind == "vpn/siteToSiteVpn":
        out["hubs"] = list(out.get("hubs") or [])
        if "subnets" in out:
            out["subnets"] = sorted_subnets(out.get("subnets") or [])
    if kind == "vlan" and "id" in out:
        out["id"] = str(out["id"])
    return out


def sorted_subnets(subnets: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Site-to-site VPN subnets in address order, so the dashboard's order is no difference."""

    def where(subnet: Mapping[str, Any]) -> tuple[int, int, int, str]:
        text = str(subnet.get("localSubnet") or "")
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return (1, 0, 0, text)
        return (0, int(net.network_address), net.prefixlen, text)

    return [dict(s) for s in sorted(subnets, key=where)]


# --- the diff --------------------------------------------------------------------------------


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def same(want: Any, have: Any, *, exact_keys: bool = False) -> bool:
    """Whether the dashboard's value satisfies the desired one (dicts: desired keys only)."""
    if want is None:
        return True
    if have is None:
        return want in ([], {}, "")
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping):
            return False
        if exact_keys and set(want) != set(have):
            return False
        for k, v in want.items():
            if k in SECRET_FIELDS and k not in have:
                continue  # a dashboard that never returns the secret cannot be compared
            if not same(v, have.get(k), exact_keys=k in MAP_FIELDS):
                return False
        return True
    if isinstance(want, list):
        return (
            isinstance(have, list)
            and len(want) == len(have)
            and all(same(w, h) for w, h in zip(want, have, strict=True))
        )
    if _number(want) and _number(have):
        return float(want) == float(have)
    if isinstance(want, bool) or isinstance(have, bool):
        return want is have
    if isinstance(want, int | str) and isinstance(have, int | str):
        return str(want) == str(have)
    return bool(want == have)


def masked(value: Any) -> Any:
    """A display copy with secret fields shown as "(secret)"."""
    if isinstance(value, Mapping):
        return {k: "(secret)" if k in SECRET_FIELDS else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def field_changes(
    desired: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    *,
    kind: str = "",
    prefix: str = "",
) -> list[FieldChange]:
    """The fields of `desired` that `current` does not already have; unchanged ones omitted."""
    changes: list[FieldChange] = []
    reported_only = REPORTED_ONLY.get(kind, frozenset())
    for name, want in desired.items():
        if want is None:
            continue
        if current is not None and name in reported_only and name not in current:
            continue
        have = None if current is None else current.get(name)
        path = f"{prefix}{name}"
        if name in SECRET_FIELDS:
            if have is None or have != want:
                changes.append(FieldChange(path, secret=True))
        elif isinstance(want, Mapping) and name not in MAP_FIELDS and want:
            sub = have if isinstance(have, Mapping) else None
            if current is None or sub is not None:
                changes.extend(field_changes(want, sub, kind=kind, prefix=f"{path}."))
            else:
                changes.append(FieldChange(path, masked(have), masked(want)))
        elif current is None or not same(want, have, exact_keys=name in MAP_FIELDS):
            changes.append(FieldChange(path, masked(have), masked(want)))
    return changes


def diff(
    desired: Mapping[str, dict[str, Any]],
    current: Mapping[str, dict[str, Any]],
    *,
    sections: frozenset[str],
    prune: bool,
    network_exists: bool,
) -> list[Change]:
    """Create / update / delete per resource; `prune` (settings sheets) drops what is omitted."""
    changes: list[Change] = []
    for key, want in desired.items():
        kind = kind_of(key)
        have = current.get(key)
        if key == NETWORK:
            if not network_exists:
                changes.append(Change(key, ChangeAction.CREATE, tuple(field_changes(want, None))))
                continue
            want = {k: v for k, v in want.items() if k not in ("name", "productTypes")}
        if kind in ("vlan", "rfProfile", "device") and have is None:
            changes.append(Change(key, ChangeAction.CREATE, tuple(field_changes(want, None))))
            continue
        fields = field_changes(want, have, kind=kind)
        if fields:
            changes.append(Change(key, ChangeAction.UPDATE, tuple(fields)))
    if prune:
        for key, have in current.items():
            kind = kind_of(key)
            if key in desired or kind not in sections:
                continue
            if kind == "vlan":
                changes.append(Change(key, ChangeAction.DELETE))
            elif kind == "ssid" and have.get("enabled"):
                changes.append(
                    Change(key, ChangeAction.DISABLE, (FieldChange("enabled", True, False),))
                )
    return changes

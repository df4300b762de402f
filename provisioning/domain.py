"""Pure provisioning rules: resource keys, the field-level diff, operation order, batch packing.

Desired and current state are both ``{resource key: body}`` in Dashboard API v1 field names.
Secrets never appear in clear here: both sides carry keyed fingerprints, and write bodies carry
``{"$secret": ref}`` placeholders that the adapter resolves from the sheet at send time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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
}
"""The VLAN the dashboard creates when VLANs are first enabled on a network."""

SINGLETONS = (
    "l3FirewallRules",
    "l7FirewallRules",
    "portForwardingRules",
    "oneToOneNatRules",
    "contentFiltering",
    "security/intrusion",
    "security/malware",
)
DIRECT_KINDS = frozenset(
    {
        "l3FirewallRules",
        "portForwardingRules",
        "oneToOneNatRules",
        "contentFiltering",
        "security/intrusion",
        "security/malware",
    }
)
"""Kinds the action-batch API has no operation for (meraki/api/batch/appliance.py): sent direct."""
SYNC_BATCH_MAX = 20
ASYNC_BATCH_MAX = 100


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


@dataclass(frozen=True, slots=True)
class Operation:
    """One dashboard write: a batch action (resource + operation) or a direct call."""

    key: str
    action: str
    resource: str
    operation: str
    body: dict[str, Any]
    batchable: bool
    phase: int

    def as_action(self) -> dict[str, Any]:
        return {"resource": self.resource, "operation": self.operation, "body": self.body}


@dataclass(frozen=True, slots=True)
class StepPlan:
    """A unit of the journal: one direct call or one action batch."""

    operations: tuple[Operation, ...]
    batch: bool
    synchronous: bool = True

    @property
    def resources(self) -> list[str]:
        return sorted({op.key for op in self.operations})


@dataclass(frozen=True, slots=True)
class CallEstimate:
    """How many calls an apply costs and how long it takes at the paced rate."""

    reads: int
    direct: int
    batches: int
    polls: int
    verify_reads: int
    seconds: float

    @property
    def calls(self) -> int:
        return self.reads + self.direct + self.batches + self.polls + self.verify_reads


# --- resource keys ---------------------------------------------------------------------------


def kind_of(key: str) -> str:
    """The resource kind of a key: ``vlan/10`` → ``vlan``; ``device/S/managementInterface``."""
    if key.startswith("device/") and key.endswith("/managementInterface"):
        return "managementInterface"
    head = key.split("/", 1)[0]
    return key if head == "security" else head


def ident_of(key: str) -> str:
    """The id part of a key: ``vlan/10`` → ``10``; a device key → its serial."""
    parts = key.split("/")
    return parts[1] if len(parts) > 1 and not key.startswith("security/") else ""


def desired_resources(view: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Flatten ``dashboard_view`` into resource key → desired body."""
    out: dict[str, dict[str, Any]] = {NETWORK: dict(view["network"])}
    for serial, device in (view.get("devices") or {}).items():
        body = {k: v for k, v in device.items() if k != "managementInterface" and v is not None}
        out[f"device/{serial}"] = body
        if "managementInterface" in device:
            out[f"device/{serial}/managementInterface"] = dict(device["managementInterface"])
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
    """Dashboard quirks removed: the implicit L3 "Default rule", category objects as ids."""
    out = dict(body)
    if kind == "l3FirewallRules":
        rules = list(out.get("rules") or [])
        if rules and rules[-1].get("comment") == DEFAULT_RULE_COMMENT:
            rules = rules[:-1]
        out["rules"] = rules
    if kind == "contentFiltering":
        out["blockedUrlCategories"] = [
            c.get("id") if isinstance(c, Mapping) else c
            for c in out.get("blockedUrlCategories") or []
        ]
    if kind == "vlan" and "id" in out:
        out["id"] = str(out["id"])
    return out


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


# --- operations, order and packing -----------------------------------------------------------

NET = "/networks/{networkId}"


def secret_refs(body: Any, ref: str) -> Any:
    """The body with each secret fingerprint replaced by a ``{"$secret": ref}`` placeholder."""
    if isinstance(body, Mapping):
        return {
            k: (
                {SECRET_REF: f"{ref}/{k}"}
                if k in SECRET_FIELDS and isinstance(v, str)
                else secret_refs(v, f"{ref}/{k}")
            )
            for k, v in body.items()
        }
    if isinstance(body, list):
        return [secret_refs(v, f"{ref}/{i}") for i, v in enumerate(body)]
    return body


def _clean(body: Mapping[str, Any], drop: Iterable[str] = ()) -> dict[str, Any]:
    skip = set(drop)
    return {k: v for k, v in body.items() if v is not None and k not in skip}


def _singleton_path(kind: str) -> str:
    if kind.startswith("security/") or kind == "contentFiltering":
        return f"{NET}/appliance/{kind}"
    return f"{NET}/appliance/firewall/{kind}"


def operations(
    changes: Iterable[Change],
    desired: Mapping[str, dict[str, Any]],
    current: Mapping[str, dict[str, Any]],
    *,
    organization_id: str,
    enable_vlans: bool,
) -> list[Operation]:
    """The writes for `changes`, in dependency order (create network first, rules last)."""
    ops: list[Operation] = []
    claims: list[str] = []
    for ch in changes:
        key, kind, ident = ch.key, ch.kind, ident_of(ch.key)
        want = desired.get(key, {})
        if kind == NETWORK and ch.action is ChangeAction.CREATE:
            body = _clean(want)
            ops.append(
                Operation(
                    key,
                    "create",
                    f"/organizations/{organization_id}/networks",
                    "create",
                    body,
                    False,
                    0,
                )
            )
        elif kind == NETWORK:
            body = _clean(want, ("name", "productTypes"))
            ops.append(Operation(key, "update", NET, "update", body, True, 5))
        elif kind == "device":
            if ch.action is ChangeAction.CREATE:
                claims.append(ident)
            ops.append(
                Operation(key, "update", f"/devices/{ident}", "update", _clean(want), True, 5)
            )
        elif kind == "managementInterface":
            path = f"/devices/{ident}/managementInterface"
            ops.append(Operation(key, "update", path, "update", _clean(want), True, 5))
        elif kind == "vlan":
            base = f"{NET}/appliance/vlans"
            if ch.action is ChangeAction.CREATE:
                ops.append(Operation(key, "create", base, "create", _clean(want), True, 3))
            elif ch.action is ChangeAction.UPDATE:
                body = _clean(want, ("id",))
                ops.append(Operation(key, "update", f"{base}/{ident}", "update", body, True, 4))
            else:
                ops.append(Operation(key, "delete", f"{base}/{ident}", "destroy", {}, True, 8))
        elif kind == "ssid":
            path = f"{NET}/wireless/ssids/{ident}"
            body = {"enabled": False} if ch.action is ChangeAction.DISABLE else _clean(want)
            ops.append(
                Operation(key, str(ch.action), path, "update", secret_refs(body, key), True, 6)
            )
        elif kind == "rfProfile":
            base = f"{NET}/wireless/rfProfiles"
            if ch.action is ChangeAction.CREATE:
                ops.append(Operation(key, "create", base, "create", _clean(want), True, 6))
            else:
                rf_id = str((current.get(key) or {}).get("id"))
                path = f"{base}/{rf_id}"
                if ch.action is ChangeAction.DELETE:
                    ops.append(Operation(key, "delete", path, "destroy", {}, True, 8))
                else:
                    ops.append(Operation(key, "update", path, "update", _clean(want), True, 6))
        elif kind in SINGLETONS:
            batchable = kind not in DIRECT_KINDS
            phase = 7 if batchable else 9
            ops.append(
                Operation(
                    key, "update", _singleton_path(kind), "update", dict(want), batchable, phase
                )
            )
    if claims:
        ops.append(
            Operation("devices", "claim", f"{NET}/devices", "claim", {"serials": claims}, True, 1)
        )
    if enable_vlans:
        path = f"{NET}/appliance/vlans/settings"
        ops.append(
            Operation(VLANS_SETTINGS, "enable", path, "update", {"vlansEnabled": True}, True, 2)
        )
    return sorted(ops, key=lambda op: op.phase)


def pack(
    ops: Iterable[Operation], *, sync_max: int = SYNC_BATCH_MAX, async_max: int = ASYNC_BATCH_MAX
) -> list[StepPlan]:
    """Consecutive batchable writes packed into the fewest calls; direct ones one step each.

    A synchronous batch costs one call; an asynchronous one at least two (create + poll), so a
    run of n actions goes synchronous unless ``ceil(n/sync_max) > 2·ceil(n/async_max)``.
    """
    steps: list[StepPlan] = []
    run: list[Operation] = []

    def flush() -> None:
        if not run:
            return
        n = len(run)
        sync = math.ceil(n / sync_max) <= 2 * math.ceil(n / async_max)
        size = sync_max if sync else async_max
        for i in range(0, n, size):
            steps.append(StepPlan(tuple(run[i : i + size]), batch=True, synchronous=sync))
        run.clear()

    for op in ops:
        if op.batchable:
            run.append(op)
        else:
            flush()
            steps.append(StepPlan((op,), batch=False))
    flush()
    return steps


def read_calls(sections: frozenset[str], desired: Mapping[str, Any]) -> int:
    """GETs needed to read the named collections (one per collection, one per WAN setting)."""
    calls = 1  # the network: org network list when planning, GET /networks/{id} when verifying
    calls += sum(1 for s in sections if s != NETWORK)
    calls += sum(1 for k in desired if kind_of(k) == "managementInterface")
    return calls


def estimate(
    steps: Iterable[StepPlan], *, reads: int, verify_reads: int, rate: float, poll_seconds: float
) -> CallEstimate:
    """Calls and duration of an apply paced at `rate` requests per second."""
    listed = list(steps)
    direct = sum(1 for s in listed if not s.batch)
    batches = sum(1 for s in listed if s.batch)
    polls = sum(1 for s in listed if s.batch and not s.synchronous)
    waits = polls * poll_seconds
    total = reads + direct + batches + polls + verify_reads
    return CallEstimate(reads, direct, batches, polls, verify_reads, round(total / rate + waits, 2))

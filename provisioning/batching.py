"""Pure provisioning rules: the writes for a diff, their order, batch packing and call estimates."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from core.errors import Problem, ValidationFailed
from provisioning.domain import (
    CREATED,
    NETWORK,
    PATH_KINDS,
    RADIO,
    SECRET_FIELDS,
    SECRET_REF,
    SINGLETONS,
    VLANS_SETTINGS,
    Change,
    ChangeAction,
    ident_of,
    kind_of,
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
"""Kinds the action-batch API has no operation for (meraki/api/batch/appliance.py): sent direct.

``vpn/siteToSiteVpn`` is batchable (``updateNetworkApplianceVpnSiteToSiteVpn`` is there).
"""
VLAN_CREATE_FIELDS = frozenset(
    {
        "id",
        "name",
        "subnet",
        "applianceIp",
        "groupPolicyId",
        "templateVlanType",
        "cidr",
        "mask",
        "ipv6",
        "mandatoryDhcp",
    }
)
"""What ``createNetworkApplianceVlan`` accepts; DHCP settings (``dnsNameservers``,
``reservedIpRanges``, ``fixedIpAssignments`` ...) only the update does, so a new VLAN with them
is a create followed by an update of the same VLAN, in the same batch."""
T = TypeVar("T")
SYNC_BATCH_MAX = 20
ASYNC_BATCH_MAX = 100
CLAIM_LIMIT = 10
CLAIM_WINDOW = 300.0
"""claimNetworkDevices "can be used up to ten times within a single five minute window": counted
per claim *request* (one per site, whatever its number of serials), per organization."""


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
    claim_wait: float = 0.0
    """Of `seconds`, the wait for the claim limit (ten claim requests per organization in five
    minutes): a rollout claiming into more than ten sites of one organization."""

    @property
    def calls(self) -> int:
        return self.reads + self.direct + self.batches + self.polls + self.verify_reads


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
    if kind.split("/", 1)[0] in PATH_KINDS or kind == "contentFiltering":
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
    unknown: list[Problem] = []
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
                Operation(key, "update", f"/devices/{ident}", "update", _clean(want), True, 7)
            )
        elif kind == "managementInterface":
            path = f"/devices/{ident}/managementInterface"
            ops.append(Operation(key, "update", path, "update", _clean(want), True, 7))
        elif kind == "vlan":
            base = f"{NET}/appliance/vlans"
            if ch.action is ChangeAction.CREATE:
                body = _clean(want)
                made = {k: v for k, v in body.items() if k in VLAN_CREATE_FIELDS}
                ops.append(Operation(key, "create", base, "create", made, True, 3))
                rest = {k: v for k, v in body.items() if k not in VLAN_CREATE_FIELDS}
                if rest:
                    path = f"{base}/{ident}"
                    ops.append(Operation(key, "update", path, "update", rest, True, 3))
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
        elif kind == RADIO:
            name = want.get("rfProfile")
            profile = current.get(f"rfProfile/{name}") or {}
            ref: Any
            if profile.get("id"):
                ref = str(profile["id"])
            elif f"rfProfile/{name}" in desired:
                ref = {CREATED: f"rfProfile/{name}"}
            else:
                unknown.append(
                    Problem(
                        f"RF profile {name!r} is neither in the sheet's rfProfiles nor on the "
                        "network",
                        f"devices[{ident}].rfProfile",
                    )
                )
                continue
            path = f"/devices/{ident}/wireless/radio/settings"
            ops.append(Operation(key, "update", path, "update", {"rfProfileId": ref}, True, 7))
        elif kind in SINGLETONS:
            batchable = kind not in DIRECT_KINDS
            phase = 7 if batchable else 9
            ops.append(
                Operation(
                    key, "update", _singleton_path(kind), "update", dict(want), batchable, phase
                )
            )
    if unknown:
        raise ValidationFailed(unknown, "an access point names an unknown RF profile")
    if claims:
        ops.append(
            Operation(
                "devices", "claim", f"{NET}/devices/claim", "claim", {"serials": claims}, True, 1
            )
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
            if created_refs(op.body) & {o.key for o in run if o.action == "create"}:
                flush()  # its id is known once the creating batch has run
            elif claimed_serial(op.resource) in claimed_in(run):
                flush()  # a device claimed moments ago may not answer yet: a later batch
            run.append(op)
        else:
            flush()
            steps.append(StepPlan((op,), batch=False))
    flush()
    return steps


def claimed_in(ops: Iterable[Operation]) -> set[str]:
    """Serials the claim actions among `ops` claim."""
    return {
        str(serial)
        for op in ops
        if op.operation == "claim"
        for serial in op.body.get("serials") or []
    }


def claimed_serial(resource: str) -> str | None:
    """The serial a ``/devices/{serial}...`` resource addresses (None for other resources)."""
    parts = resource.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "devices" else None


def created_refs(body: Any) -> set[str]:
    """Keys of resources a body refers to by ``{"$created": key}`` (ids known after creation)."""
    if isinstance(body, Mapping):
        if set(body) == {CREATED}:
            return {str(body[CREATED])}
        return {ref for v in body.values() for ref in created_refs(v)}
    if isinstance(body, list):
        return {ref for v in body for ref in created_refs(v)}
    return set()


def resolve_created(body: Any, ids: Mapping[str, str]) -> Any:
    """A body with each ``{"$created": key}`` replaced by that resource's id."""
    if isinstance(body, Mapping):
        if set(body) == {CREATED}:
            return ids[str(body[CREATED])]
        return {k: resolve_created(v, ids) for k, v in body.items()}
    if isinstance(body, list):
        return [resolve_created(v, ids) for v in body]
    return body


TickStep = tuple[int, int, bool]
"""A batch step as `pack_ticks` packs it: its site's index, its action count, whether it claims."""


def pack_ticks(
    ticks: Sequence[Sequence[TickStep]], limit: int = ASYNC_BATCH_MAX
) -> list[list[tuple[int, int]]]:
    """Sites' batch steps, tick by tick (`batch_ticks`), grouped into shared action batches.

    Each step goes into the first batch that has room for it and comes after the batch holding
    its site's step before it, else into a new batch at the end; a step that claims devices
    only into a batch of its own tick or a later one (the ticks keep the claims within the
    budget). A step is never split (one holding more than `limit` actions is a batch alone), so
    a site's actions stay together and in order, and its steps go in successive batches. The
    room a tick's last batches leave takes the next tick's steps of the sites whose step before
    is in an earlier batch: those sites go on without waiting for the slowest batch of their
    tick, and a batch is opened only when no batch before it has room. Returns, per batch, the
    (tick, position in the tick) of its steps.
    """
    batches: list[list[tuple[int, int]]] = []
    room: list[int] = []
    after: dict[int, int] = {}
    """For each site, the first batch its next step may join (after its step before)."""
    for tick_index, tick in enumerate(ticks):
        opened = len(batches)
        for position, (site, size, claims) in enumerate(tick):
            first = max(after.get(site, 0), opened if claims else 0)
            target = next((b for b in range(first, len(batches)) if room[b] >= size), None)
            if target is None:
                target = len(batches)
                batches.append([])
                room.append(limit)
            batches[target].append((tick_index, position))
            room[target] -= size
            after[site] = target + 1
    return batches


def send_order(direct_writes: Sequence[int]) -> list[int]:
    """The order a rollout sends its sites' batch steps in: the sites with the most direct writes
    behind their batches first (their writes fill the waits for the others' batches), otherwise
    as given. Returns the sites' indexes."""
    return sorted(range(len(direct_writes)), key=lambda i: -direct_writes[i])


def batch_ticks(claims: Sequence[Sequence[bool]], claim_limit: int | None) -> list[list[int]]:
    """Which sites' next batch step go together, tick by tick: `claims[i]` says, for each of site
    i's batch steps in order, whether it sends a claim request. Each tick takes every site's next
    step, a claim only while the budget (`claim_limit` per window, None: no limit) has room; when
    only waiting claims are left, a window passes and the budget is whole again. Returns the site
    indexes of each tick (a site's steps go in order, one per tick at most)."""
    left = [0] * len(claims)
    ticks: list[list[int]] = []
    free = claim_limit
    while any(n < len(steps) for n, steps in zip(left, claims, strict=True)):
        tick: list[int] = []
        for site, steps in enumerate(claims):
            if left[site] >= len(steps):
                continue
            if free is not None and steps[left[site]]:
                if free <= 0:
                    continue
                free -= 1
            tick.append(site)
        if not tick:
            free = claim_limit
            continue
        for site in tick:
            left[site] += 1
        ticks.append(tick)
    return ticks


def batch_cost(actions: int) -> int:
    """Calls one action batch of `actions` actions costs: synchronous 1, asynchronous 2+."""
    return 1 if actions <= SYNC_BATCH_MAX else 2


def read_calls(sections: frozenset[str], desired: Mapping[str, Any]) -> int:
    """GETs needed to read the named collections (one per collection, one per WAN setting)."""
    calls = 1  # the network: org network list when planning, GET /networks/{id} when verifying
    calls += sum(1 for s in sections if s != NETWORK)
    calls += sum(1 for k in desired if kind_of(k) == "managementInterface")
    calls += 1 if any(kind_of(k) == RADIO for k in desired) else 0
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


# --- the claim budget ------------------------------------------------------------------------


def tick_steps(queues: Sequence[Sequence[T]], ticks: Iterable[Sequence[int]]) -> list[list[T]]:
    """The steps each tick of `batch_ticks` takes: for each site index, its queue's next step."""
    taken = [0] * len(queues)
    out: list[list[T]] = []
    for tick in ticks:
        out.append([queues[i][taken[i]] for i in tick])
        for i in tick:
            taken[i] += 1
    return out


def packed_steps(
    queues: Sequence[Sequence[T]],
    ticks: Sequence[Sequence[int]],
    size: Callable[[T], int],
    claims: Callable[[T], bool],
) -> list[list[T]]:
    """The steps each tick takes (`tick_steps`), in the shared batches `pack_ticks` puts them
    in (`size`: a step's action count; `claims`: whether it claims devices)."""
    taken = tick_steps(queues, ticks)
    steps = [
        [(site, size(step), claims(step)) for site, step in zip(tick, mine, strict=True)]
        for tick, mine in zip(ticks, taken, strict=True)
    ]
    return [[taken[t][p] for t, p in batch] for batch in pack_ticks(steps)]


def rollout_batches(
    queues: Sequence[Sequence[T]],
    direct_writes: Sequence[int],
    size: Callable[[T], int],
    claims: Callable[[T], bool],
    claim_limit: int | None,
) -> list[list[T]]:
    """The shared batches an organization's rollout sends its sites' batch steps in (each
    site's queue of steps in order, and its direct writes behind them): the sites in
    `send_order`, their steps tick by tick within the claim budget (`batch_ticks`), packed by
    `pack_ticks`. The run and its estimate both plan with it, so they send and count the same."""
    ordered = [queues[i] for i in send_order(direct_writes)]
    ticks = batch_ticks([[claims(s) for s in q] for q in ordered], claim_limit)
    return packed_steps(ordered, ticks, size, claims)


def claims_free(sent: Sequence[float], now: float, *, limit: int, window: float) -> int:
    """Claim requests that may go at `now`: `limit` less those sent in the `window` before it.

    A claim sent at ``t`` counts while ``t > now - window`` (at ``t + window`` it is free again).
    """
    return max(0, limit - sum(1 for t in sent if t > now - window))


def claim_wait(
    sent: Sequence[float], now: float, *, limit: int, window: float, count: int = 1
) -> float:
    """Seconds from `now` until `count` more claim requests may go (0.0: at once)."""
    recent = sorted(t for t in sent if t > now - window)
    room = limit - count  # how many of the recent ones may still count when they go
    if len(recent) <= room:
        return 0.0
    return recent[len(recent) - room - 1] + window - now


def claims_wait_total(claims: int, *, limit: int | None, window: float) -> float:
    """The least a rollout of `claims` claim requests into one organization waits for them:
    `limit` go at once, each further `limit` one `window` later."""
    if limit is None or claims <= limit:
        return 0.0
    return (math.ceil(claims / limit) - 1) * window


_CLAIM_LIMITED = re.compile(r"claim.*(limit|too many)|(limit|too many).*claim", re.I | re.S)
_RETRY_AFTER = re.compile(r"retry after (\d+(?:\.\d+)?) ?s", re.I)


def claim_refusal(errors: Iterable[str], window: float) -> float | None:
    """Seconds to wait when a failed batch's errors say the claim limit refused it (None: they
    do not): the "retry after N seconds" they give, else a whole `window`."""
    text = " ".join(str(e) for e in errors)
    if not _CLAIM_LIMITED.search(text):
        return None
    found = _RETRY_AFTER.search(text)
    return float(found.group(1)) if found else window

"""Planning: read what the sheet touches (one GET per collection), diff it, pack the writes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from core.errors import Problem, ValidationFailed
from provisioning.batching import (
    CallEstimate,
    Operation,
    StepPlan,
    estimate,
    operations,
    pack,
    read_calls,
)
from provisioning.domain import (
    FACTORY_VLAN_1,
    NETWORK,
    RADIO,
    SINGLETONS,
    Change,
    ChangeAction,
    desired_resources,
    diff,
    fingerprint_secrets,
    ident_of,
    kind_of,
    normalise_current,
    sections_of,
)
from provisioning.ports import ProvisioningDashboard
from provisioning.secret_diff import secret_values, with_recorded_secrets
from provisioning.secret_record import SecretRecord, scope_of
from provisioning.sheet_io import dashboard_view
from provisioning.sheet_model import Sheet, SheetKind, secret_fingerprint
from provisioning.units import UnitPlacement

Fingerprint = Callable[[str], str]
SITE_TO_SITE = "vpn/siteToSiteVpn"
SECRET_SET = "set"
SECRET_UNCHANGED = "unchanged since netkeep set it"


@dataclass
class SitePlan:
    """The plan of one sheet against one network: changes, writes, steps and their cost."""

    organization_id: str
    network_id: str | None
    network_name: str
    site_plan: str
    sheet_kind: str
    desired: dict[str, dict[str, Any]]
    current: dict[str, dict[str, Any]]
    sections: frozenset[str]
    prune: bool
    changes: list[Change]
    operations: list[Operation]
    steps: list[StepPlan]
    estimate: CallEstimate
    digest: str
    reads_made: int = 0
    notes: list[str] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)
    """Each secret of the sheet by its ref: "set" or "unchanged since netkeep set it"."""
    units: UnitPlacement | None = None
    """What the inventory check decided (`provisioning.units.check_units`); None: not checked."""

    @property
    def empty(self) -> bool:
        return not self.changes


def fingerprinter(secret_key: bytes) -> Fingerprint:
    """Keyed fingerprints of secrets the dashboard returns in clear."""
    return partial(secret_fingerprint, key=secret_key)


def sheet_secrets(sheet: Sheet) -> dict[str, str]:
    """The sheet's secrets by the placeholder refs write bodies carry; kept in memory only."""
    found: dict[str, str] = {}
    for ssid in sheet.ssids or []:
        if ssid.psk is not None:
            found[f"ssid/{ssid.number}/psk"] = ssid.psk.reveal()
        for i, server in enumerate(ssid.radius_servers):
            found[f"ssid/{ssid.number}/radiusServers/{i}/secret"] = server.secret.reveal()
    return found


def desired_digest(desired: Mapping[str, Any]) -> str:
    """A digest of the desired state (fingerprints only), to refuse resuming with another sheet."""
    text = json.dumps(desired, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_current(
    *,
    dashboard: ProvisioningDashboard,
    network: Mapping[str, Any],
    sections: frozenset[str],
    desired: Mapping[str, Any],
    fingerprint: Fingerprint,
    answers: Mapping[str, Mapping[str, Any]] | None = None,
    devices: list[Mapping[str, Any]] | None = None,
    assignments: list[Mapping[str, Any]] | None = None,
    resolve_profiles: bool = True,
) -> tuple[dict[str, dict[str, Any]], bool]:
    """Current state of the named collections, one GET each; returns it and vlansEnabled.

    `answers` are singletons the dashboard already returned in answer to a direct write (secrets
    fingerprinted): they are not read again. `devices` and `assignments` (APs' RF profiles) are
    the network's rows when already read from the organization-wide lists. APs' RF profiles are
    read from the organization's assignment list (one call); with `resolve_profiles`, the
    network's RF profiles are read too when the sheet does not name them, so that a write can
    give the profile's id.
    """
    net_id = str(network["id"])
    current: dict[str, dict[str, Any]] = {NETWORK: dict(network)}
    vlans_enabled = True
    answered = answers or {}

    def put(key: str, body: Mapping[str, Any]) -> None:
        current[key] = normalise_current(kind_of(key), fingerprint_secrets(body, fingerprint))

    if "device" in sections:
        in_network = set()
        rows = devices if devices is not None else dashboard.read_collection(net_id, "device")
        for row in rows or []:
            serial = str(row["serial"])
            in_network.add(serial)
            put(f"device/{serial}", row)
        for key in desired:
            serial = key.split("/")[1] if kind_of(key) == "managementInterface" else ""
            if serial in in_network:
                put(key, dashboard.read_management_interface(serial))
        radios = [k for k in desired if kind_of(k) == RADIO and ident_of(k) in in_network]
        if radios:
            rows = assignments
            if rows is None:
                rows = dashboard.read_rf_assignments([net_id])
            for row in rows:
                serial = str(row.get("serial"))
                if serial in in_network:
                    profile = row.get("rfProfile") or {}
                    current[f"device/{serial}/radio"] = {"rfProfile": profile.get("name")}
            if resolve_profiles and "rfProfile" not in sections:
                for row in dashboard.read_collection(net_id, "rfProfile") or []:
                    put(f"rfProfile/{row['name']}", row)
    if "vlan" in sections:
        rows = dashboard.read_collection(net_id, "vlan")
        vlans_enabled = rows is not None
        for row in rows or []:
            put(f"vlan/{row['id']}", row)
    for name in SINGLETONS:
        if name in answered:
            current[name] = normalise_current(name, answered[name])
        elif name in sections:
            put(name, dashboard.read_collection(net_id, name))
    if "ssid" in sections:
        for row in dashboard.read_collection(net_id, "ssid") or []:
            put(f"ssid/{row['number']}", row)
    if "rfProfile" in sections:
        for row in dashboard.read_collection(net_id, "rfProfile") or []:
            put(f"rfProfile/{row['name']}", row)
    return current, vlans_enabled


def plan_changes(
    *,
    desired: dict[str, dict[str, Any]],
    current: dict[str, dict[str, Any]],
    sections: frozenset[str],
    prune: bool,
    network_exists: bool,
    vlans_enabled: bool,
    organization_id: str,
    rate: float,
    poll_seconds: float,
) -> tuple[list[Change], list[Operation], list[StepPlan], CallEstimate]:
    """Pure part of planning, from in-memory state (what the planning benchmark times)."""
    enable_vlans = "vlan" in sections and not (network_exists and vlans_enabled)
    if enable_vlans:
        current = {**current, "vlan/1": dict(FACTORY_VLAN_1)}
    changes = diff(desired, current, sections=sections, prune=prune, network_exists=network_exists)
    ops = operations(
        changes, desired, current, organization_id=organization_id, enable_vlans=enable_vlans
    )
    steps = pack(ops)
    answered = sum(1 for op in ops if not op.batchable and op.key in SINGLETONS)
    reads = read_calls(sections, desired) - answered
    cost = estimate(
        steps, reads=0, verify_reads=reads if ops else 0, rate=rate, poll_seconds=poll_seconds
    )
    return changes, ops, steps, cost


def resolve_hubs(
    desired: dict[str, dict[str, Any]], networks: list[dict[str, Any]], organization_id: str
) -> dict[str, dict[str, Any]]:
    """Hubs written as a network name become that network's id; an unknown hub is refused."""
    vpn = desired.get(SITE_TO_SITE)
    if not vpn or not vpn.get("hubs"):
        return desired
    ids = {str(n.get("id")) for n in networks}
    by_name = {str(n.get("name")): str(n.get("id")) for n in networks}
    hubs: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for index, hub in enumerate(vpn["hubs"]):
        written = str(hub.get("hubId"))
        if written in ids:
            hubs.append(dict(hub))
        elif written in by_name:
            hubs.append({**hub, "hubId": by_name[written]})
        else:
            problems.append(
                Problem(
                    f"hub {written} is neither a network id nor a network name of "
                    f"organization {organization_id}",
                    f"siteToSiteVpn.hubs[{index}].hubId",
                )
            )
    if problems:
        raise ValidationFailed(problems, "a site-to-site VPN hub was not found; nothing was sent")
    return {**desired, SITE_TO_SITE: {**vpn, "hubs": hubs}}


def make_plan(
    *,
    dashboard: ProvisioningDashboard,
    sheet: Sheet,
    secret_key: bytes,
    rate: float = 9.0,
    poll_seconds: float = 0.5,
    networks: list[dict[str, Any]] | None = None,
    secret_record: SecretRecord | None = None,
    network_id: str | None = None,
) -> SitePlan:
    """Read the current state of what the sheet names and plan the fewest writes.

    `networks` is the organization's network list when the caller already read it (a rollout
    plans many sheets from one list); otherwise it is read here. Secrets are compared with
    `secret_record` (what netkeep last set), never with what the dashboard returns. With
    `network_id` the sheet targets that existing network (a change request): never one found
    or created by name.
    """
    refuse_other_organization(sheet, dashboard.organization_id)
    calls_before = dashboard.stats.calls
    view = dashboard_view(sheet, secret_key=secret_key)
    written = desired_resources(view)
    sections = sections_of(view)
    fingerprint = fingerprinter(secret_key)
    if networks is None:
        networks = dashboard.list_networks()
    network = target_network(networks, sheet, network_id, dashboard.organization_id)
    desired = resolve_hubs(written, networks, dashboard.organization_id)
    current: dict[str, dict[str, Any]] = {}
    vlans_enabled = False
    if network is not None:
        current, vlans_enabled = read_current(
            dashboard=dashboard,
            network=network,
            sections=sections,
            desired=desired,
            fingerprint=fingerprint,
        )
    recorded: dict[str, str] = {}
    if network is not None and secret_record is not None:
        recorded = secret_record.recorded(scope_of(dashboard.organization_id, str(network["id"])))
    current = with_recorded_secrets(desired, current, recorded)
    prune = sheet.kind == SheetKind.SETTINGS
    changes, ops, steps, cost = plan_changes(
        desired=desired,
        current=current,
        sections=sections,
        prune=prune,
        network_exists=network is not None,
        vlans_enabled=vlans_enabled,
        organization_id=dashboard.organization_id,
        rate=rate,
        poll_seconds=poll_seconds,
    )
    reads_made = dashboard.stats.calls - calls_before
    cost = CallEstimate(
        reads_made, cost.direct, cost.batches, cost.polls, cost.verify_reads, cost.seconds
    )
    return SitePlan(
        organization_id=dashboard.organization_id,
        network_id=None if network is None else str(network["id"]),
        network_name=sheet.site.name,
        site_plan=str(sheet.site.plan),
        sheet_kind=str(sheet.kind),
        desired=desired,
        current=current,
        sections=sections,
        prune=prune,
        changes=changes,
        operations=ops,
        steps=steps,
        estimate=cost,
        digest=desired_digest(written),
        reads_made=reads_made,
        secrets={
            ref: SECRET_UNCHANGED if recorded.get(ref) == value else SECRET_SET
            for ref, value in secret_values(desired).items()
        },
    )


def refuse_other_organization(sheet: Sheet, organization_id: str) -> None:
    """A sheet naming an organization is planned only against that organization's dashboard
    (a path that works in one organization refuses the others' sheets, never writes elsewhere)."""
    named = sheet.site.organization_id
    if named is not None and named != organization_id:
        problem = Problem(
            f"the sheet is for organization {named}; this is organization {organization_id}'s "
            "dashboard (apply it with netkeep apply or POST /rollouts)",
            "site.organizationId",
        )
        raise ValidationFailed([problem], f"{problem}; nothing was sent")


def target_network(
    networks: list[dict[str, Any]], sheet: Sheet, network_id: str | None, organization_id: str
) -> dict[str, Any] | None:
    """The network a sheet writes to: by id when one is given, else by the site's name.

    None means a settings sheet will create it; a change request never creates a network, so
    for one the network must exist (a located error otherwise, before any write).
    """
    name = sheet.site.name
    if network_id is None:
        found = next((n for n in networks if n.get("name") == name), None)
        where = f"no network named {name!r}"
    else:
        found = next((n for n in networks if str(n.get("id")) == network_id), None)
        where = f"network {network_id} of site {name!r} is not"
    if found is None and (network_id is not None or sheet.kind == SheetKind.CHANGE_REQUEST):
        problem = Problem(
            f"{where} in organization {organization_id}; a change request changes an "
            "existing network and never creates one",
            "site.name",
        )
        raise ValidationFailed([problem], f"{problem}; nothing was sent")
    return found


def resolve_secrets(body: Any, secrets: Mapping[str, str]) -> Any:
    """A write body with ``{"$secret": ref}`` placeholders replaced; kept in memory only."""
    if isinstance(body, Mapping):
        if set(body) == {"$secret"}:
            ref = str(body["$secret"])
            if ref not in secrets:
                raise ValidationFailed(
                    [], f"the sheet does not give the secret {ref}; load the same sheet again"
                )
            return secrets[ref]
        return {k: resolve_secrets(v, secrets) for k, v in body.items()}
    if isinstance(body, list):
        return [resolve_secrets(v, secrets) for v in body]
    return body


def change_rows(changes: list[Change]) -> list[dict[str, Any]]:
    """Changes as plain rows for the journal, the API and `--json` (no secret values)."""
    return [
        {
            "resource": c.key,
            "action": str(c.action),
            "fields": [
                {"field": f.path, "before": f.before, "after": f.after}
                if not f.secret
                else {"field": f.path, "changed": True, "secret": True}
                for f in c.fields
            ]
            if c.action is not ChangeAction.DELETE
            else [],
        }
        for c in changes
    ]

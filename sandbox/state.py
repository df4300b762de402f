"""In-memory dashboard state: plain JSON-shaped records, snapshot and JSON file persistence."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

Record = dict[str, Any]


@dataclass
class SandboxState:
    """Everything the sandbox dashboard knows; every value is JSON-serialisable."""

    organizations: dict[str, Record] = field(default_factory=dict)
    networks: dict[str, Record] = field(default_factory=dict)
    devices: dict[str, Record] = field(default_factory=dict)
    """Claimed devices by serial: inventory fields plus device-level settings."""
    warehouse: dict[str, Record] = field(default_factory=dict)
    """Released devices by serial, so a later claim gets the same model and MAC back."""
    network_settings: dict[str, Record] = field(default_factory=dict)
    """Per-network configuration (VLANs, firewall, SSIDs ...) by network id."""
    licenses: dict[str, Record] = field(default_factory=dict)
    device_licenses: dict[str, str] = field(default_factory=dict)
    """The license id of each licensed device, by serial (an index of the licenses' own
    `deviceSerial`: a claim no longer scans every license of every organization)."""
    action_batches: dict[str, Record] = field(default_factory=dict)
    running_batches: dict[str, float] = field(default_factory=dict)
    """Asynchronous action batches still to run, by id: the POSIX time they run at (an index
    of those batches' own `_runAt`, so that a request does not scan every batch ever sent)."""
    swaps: dict[str, Record] = field(default_factory=dict)
    availability_changes: list[Record] = field(default_factory=list)
    """Device status transitions, oldest first (the availabilities change history)."""
    http_servers: dict[str, Record] = field(default_factory=dict)
    """Webhook receivers by id, each with its networkId and sharedSecret."""
    alert_settings: dict[str, Record] = field(default_factory=dict)
    """Per-network alert settings (defaultDestinations, alerts) by network id."""
    vpn_peers_down: list[str] = field(default_factory=list)
    """Auto VPN tunnels the admin API took down, as "<networkId> <peerNetworkId>"."""
    next_id: int = 1000

    def __post_init__(self) -> None:
        """The indexes built from what they index (a state loaded, older ones' included)."""
        self.running_batches = {
            key: float(batch["_runAt"])
            for key, batch in self.action_batches.items()
            if batch.get("_runAt") is not None
        }
        self.device_licenses = {str(lic["deviceSerial"]): key for key, lic in self.licenses.items()}

    def licenses_of(self, serial: str) -> list[Record]:
        """The licenses bound to a device (found by the index; by a scan if it has none)."""
        lic = self.licenses.get(self.device_licenses.get(serial, ""))
        if lic is not None and lic["deviceSerial"] == serial:
            return [lic]
        return [lic for lic in self.licenses.values() if lic["deviceSerial"] == serial]

    def new_id(self) -> int:
        """Monotonic id source so ids are deterministic for a given sequence of calls."""
        self.next_id += 1
        return self.next_id

    def to_dict(self) -> dict[str, Any]:
        """A deep, JSON-ready copy of the whole state.

        Every field is plain JSON already, so one JSON round trip copies it; `asdict`'s generic
        recursion cost ~0.4 s per action batch (its rollback snapshot) once ten organizations
        were generated, which made the sandbox, not netkeep, the limit of a multi-org rollout.
        """
        plain = {f.name: getattr(self, f.name) for f in fields(self)}
        return json.loads(json.dumps(plain))  # type: ignore[no-any-return]

    def replace_with(self, data: dict[str, Any]) -> None:
        """Load a state dict in place (used by snapshot restore and batch rollback)."""
        fresh = SandboxState.from_dict(data)
        for f in fields(self):
            setattr(self, f.name, getattr(fresh, f.name))

    def checkpoint(self, organization_id: str, networks: set[str] | None = None) -> dict[str, Any]:
        """What an action batch of `organization_id` may change, copied for `restore`.

        A batch only addresses its own organization (`batches._checked` refuses any other), so
        its actions change that organization's records, records they add or remove, the
        warehouse (a claim takes a unit out of it) and the id counter. Every collection is
        copied shallowly (adds and removes are undone) and the organization's records (of its
        networks' settings those of `networks`, the ones its actions address, when given), the
        warehouse and swaps deeply (changes in place are undone); the other
        organizations' records (and the batches, which actions never change) are shared. A
        full `to_dict` per batch grew with every organization's networks and made the sandbox,
        not netkeep, the limit of a rollout over ten organizations (~90% of its CPU at 1,000
        sites)."""
        nets = {k for k, n in self.networks.items() if n.get("organizationId") == organization_id}
        settings = nets if networks is None else nets & networks
        serials = {k for k, d in self.devices.items() if d.get("organizationId") == organization_id}

        def own(key: str, record: Record) -> bool:
            return (
                key == organization_id
                or key in nets
                or record.get("organizationId") == organization_id
                or record.get("networkId") in nets
                or record.get("deviceSerial") in serials  # a license, changed by a claim
            )

        # The large collections, keyed: the organization's records found by key, the rest of
        # the collection copied at C speed (a scan of every record of every organization per
        # batch made the sandbox the limit of a rollout of 10,000 sites)
        keyed = {
            "networks": nets,
            "devices": serials,
            "licenses": {self.device_licenses[s] for s in serials if s in self.device_licenses},
            "network_settings": settings,  # the largest: only the networks addressed
        }
        saved: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, dict):
                if f.name in ("action_batches", "running_batches", "device_licenses"):
                    saved[f.name] = dict(value)  # actions never change a batch; indexes hold ids
                    continue
                if f.name in keyed:
                    copy = dict(value)
                    for key in keyed[f.name] & copy.keys():
                        copy[key] = json.loads(json.dumps(copy[key]))
                    saved[f.name] = copy
                    continue
                deep = f.name in ("warehouse", "swaps")
                saved[f.name] = {
                    k: json.loads(json.dumps(v))
                    if deep or (isinstance(v, dict) and own(k, v))
                    else v
                    for k, v in value.items()
                }
            elif isinstance(value, list):
                saved[f.name] = list(value)
            else:
                saved[f.name] = value
        return saved

    def restore(self, saved: dict[str, Any]) -> None:
        """Undo what happened since `checkpoint` (the batch failed: nothing of it stays)."""
        for name, value in saved.items():
            setattr(self, name, value)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxState:
        """Build a state from `to_dict` output, ignoring unknown keys."""
        copy = json.loads(json.dumps(data))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in copy.items() if k in known})

    def save(self, path: Path) -> None:
        """Write the state as UTF-8 JSON (atomically via a temp file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> SandboxState:
        """Read a state written by `save`."""
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def org_of_path(self, path: str) -> str | None:
        """The organization a request path counts against (org, network or device paths)."""
        parts = path.split("/")
        if len(parts) < 3 or not parts[2]:
            return None
        head, ident = parts[1], parts[2]
        if head == "organizations":
            return ident
        if head == "networks":
            net = self.networks.get(ident)
            return str(net["organizationId"]) if net else None
        if head == "devices":
            dev = self.devices.get(ident)
            return str(dev["organizationId"]) if dev else None
        return None

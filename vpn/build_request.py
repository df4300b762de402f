"""A VPN build request: which sites, their roles, hubs and subnets, and the client-VPN users."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.errors import Problem, ValidationFailed
from vpn.client_users import UserRequest
from vpn.domain import HubChoice, SiteRequest, SiteRole, SubnetChoice


@dataclass(frozen=True, slots=True)
class BuildRequest:
    """Which sites, hub or spoke, their hubs and subnets, and the client-VPN users."""

    sites: tuple[SiteRequest, ...]
    users: tuple[UserRequest, ...] = ()

    def record(self) -> dict[str, Any]:
        """The request as stored: users without passwords."""
        return {
            "sites": [
                {
                    "network_id": s.network_id,
                    "role": s.role.value,
                    "hubs": [asdict(h) for h in s.hubs],
                    "subnets": [asdict(n) for n in s.subnets],
                }
                for s in self.sites
            ],
            "users": [
                {"network_id": u.network_id, "email": u.email, "name": u.name} for u in self.users
            ],
        }


def parse_request(data: dict[str, Any]) -> BuildRequest:
    """A BuildRequest from plain data (a YAML/JSON file or an API body); problems named."""
    problems: list[Problem] = []
    sites: list[SiteRequest] = []
    for i, raw in enumerate(data.get("sites") or [], start=1):
        where = f"sites[{i}]"
        if not isinstance(raw, dict) or not raw.get("network_id"):
            problems.append(Problem("each site needs a network_id", where))
            continue
        try:
            role = SiteRole(str(raw.get("role", "")).lower())
        except ValueError:
            problems.append(
                Problem(f"role must be hub, spoke or none, got {raw.get('role')!r}", where)
            )
            continue
        hubs = []
        for hub in raw.get("hubs") or []:
            if isinstance(hub, str):
                hubs.append(HubChoice(hub))
            elif isinstance(hub, dict) and hub.get("network_id"):
                hubs.append(
                    HubChoice(str(hub["network_id"]), bool(hub.get("use_default_route", False)))
                )
            else:
                problems.append(Problem(f"hub {hub!r} needs a network_id", where))
        subnets = []
        for subnet in raw.get("subnets") or []:
            if isinstance(subnet, str):
                subnets.append(SubnetChoice(subnet))
            elif isinstance(subnet, dict) and subnet.get("local_subnet"):
                subnets.append(
                    SubnetChoice(str(subnet["local_subnet"]), bool(subnet.get("use_vpn", True)))
                )
            else:
                problems.append(Problem(f"subnet {subnet!r} needs a local_subnet", where))
        sites.append(SiteRequest(str(raw["network_id"]), role, tuple(hubs), tuple(subnets)))
    if not sites and not problems:
        problems.append(Problem("the request names no sites", "sites"))
    users = []
    for i, raw in enumerate(data.get("users") or [], start=1):
        if not isinstance(raw, dict):
            problems.append(Problem("each user must be a mapping", f"users[{i}]"))
            continue
        users.append(
            UserRequest(
                network_id=str(raw.get("network_id") or ""),
                email=str(raw.get("email") or ""),
                name=str(raw.get("name") or ""),
                password=raw.get("password") or None,
            )
        )
    if problems:
        raise ValidationFailed(problems)
    return BuildRequest(tuple(sites), tuple(users))

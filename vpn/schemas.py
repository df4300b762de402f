"""Request and response models of the VPN API and CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from core.fields import Code, Email, OptionalLine, Secret
from vpn.client_users import UserOutcome
from vpn.models import VpnBuild, VpnClientUser, VpnEligibilityCheck, VpnEvent, VpnReport


class ClientUserIn(BaseModel):
    network_id: Code
    email: Email = ""
    name: Annotated[OptionalLine, Field(max_length=120)] = ""
    password: Secret | None = Field(default=None, description="generated when left out")


class CheckIn(BaseModel):
    network_ids: list[Code] = Field(min_length=1, max_length=1000)
    users: list[ClientUserIn] = Field(default_factory=list, max_length=1000)


class HubIn(BaseModel):
    network_id: Code
    use_default_route: bool = False


class SubnetIn(BaseModel):
    local_subnet: Code
    use_vpn: bool = True


class SiteIn(BaseModel):
    network_id: Code
    role: Code = Field(description="hub, spoke or none")
    hubs: list[HubIn] = Field(default_factory=list, max_length=100)
    subnets: list[SubnetIn] = Field(default_factory=list, max_length=1000)


class BuildIn(BaseModel):
    sites: list[SiteIn] = Field(min_length=1, max_length=1000)
    users: list[ClientUserIn] = Field(default_factory=list, max_length=1000)


class UsersIn(BaseModel):
    users: list[ClientUserIn] = Field(min_length=1, max_length=1000)


class CheckOut(BaseModel):
    id: int
    run: str
    network_id: str
    site_name: str
    customer: str | None
    contract_number: str | None
    plan: str | None
    checked_at: datetime
    eligible: bool
    reasons: list[dict[str, Any]]
    uplinks: dict[str, Any] | None
    users: list[dict[str, Any]]
    actor: str

    @classmethod
    def of(cls, row: VpnEligibilityCheck) -> CheckOut:
        return cls.model_validate(row, from_attributes=True)


class UserOutcomeOut(BaseModel):
    network_id: str
    email: str
    name: str
    action: str
    dashboard_id: str
    password: str | None = Field(
        default=None, description="shown once, when it was set; never stored"
    )

    @classmethod
    def of(cls, outcome: UserOutcome) -> UserOutcomeOut:
        return cls.model_validate(outcome, from_attributes=True)


class BuildOut(BaseModel):
    id: int
    status: str
    organization_id: str
    created_at: datetime
    actor: str
    request: dict[str, Any]
    changes: list[dict[str, Any]]
    users: list[dict[str, Any]]
    notes: list[str]
    jobs: list[int]
    reverted_at: datetime | None
    reverted_by: str | None
    one_time_passwords: list[UserOutcomeOut] = Field(default_factory=list)

    @classmethod
    def of(cls, build: VpnBuild, outcomes: list[UserOutcome] | None = None) -> BuildOut:
        out = cls.model_validate(build, from_attributes=True)
        out.one_time_passwords = [UserOutcomeOut.of(o) for o in outcomes or [] if o.password]
        return out


class ClientUserOut(BaseModel):
    network_id: str
    email: str
    name: str
    dashboard_id: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: VpnClientUser) -> ClientUserOut:
        return cls.model_validate(row, from_attributes=True)


class ReportSummaryOut(BaseModel):
    id: int
    organization_id: str
    taken_at: datetime
    previous_id: int | None
    previous_taken_at: datetime | None
    site_count: int
    peer_count: int
    peers_down: int
    wan_ip_changes: int
    actor: str

    @classmethod
    def of(cls, report: VpnReport) -> ReportSummaryOut:
        return cls.model_validate(report, from_attributes=True)


class EventOut(BaseModel):
    id: int
    report_id: int
    kind: str
    network_id: str
    site_name: str
    peer_network_id: str | None
    peer_name: str | None
    at: datetime
    detail: str

    @classmethod
    def of(cls, event: VpnEvent) -> EventOut:
        return cls.model_validate(event, from_attributes=True)


class ReportOut(ReportSummaryOut):
    sites: list[dict[str, Any]]
    events: list[EventOut] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

"""What monitoring needs from the dashboard (implemented by dashboard.monitoring)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Availability:
    """A device's current status (getOrganizationDevicesAvailabilities)."""

    serial: str
    status: str
    network_id: str | None
    product_type: str | None


@dataclass(frozen=True, slots=True)
class AvailabilityChange:
    """One status transition (getOrganizationDevicesAvailabilitiesChangeHistory)."""

    at: datetime
    serial: str
    old_status: str
    new_status: str
    network_id: str | None
    product_type: str | None


class ChangeHistoryUnavailable(Exception):
    """The dashboard does not offer the change history: poll the full list instead."""


class MonitoringDashboard(Protocol):
    def availabilities(self, organization_id: str) -> list[Availability]: ...

    def availability_changes(
        self, organization_id: str, *, since: datetime, until: datetime
    ) -> list[AvailabilityChange]: ...

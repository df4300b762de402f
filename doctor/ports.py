"""What the doctor needs from the Meraki dashboard: the organization's inventory, read once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class DashboardUnit(Protocol):
    @property
    def serial(self) -> str: ...

    @property
    def network_id(self) -> str | None: ...


class DoctorDashboard(Protocol):
    def list_inventory(self, organization_id: str) -> Sequence[DashboardUnit]: ...

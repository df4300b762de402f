"""What inventory needs from the Meraki dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class InventoryItem:
    """A device in the organization's inventory, as the dashboard reports it."""

    serial: str
    model: str
    mac: str | None
    network_id: str | None
    name: str | None
    product_type: str | None


class InventoryDashboard(Protocol):
    def list_inventory(self, organization_id: str) -> list[InventoryItem]: ...

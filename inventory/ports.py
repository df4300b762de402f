"""What inventory needs from the Meraki dashboard."""

from __future__ import annotations

from typing import Protocol

from core.dashboard import InventoryItem


class InventoryDashboard(Protocol):
    def list_inventory(self, organization_id: str) -> list[InventoryItem]: ...

"""What RMA needs from the Meraki dashboard: swap a failed unit for its replacement, then check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DashboardSwap:
    """How a swap went on the dashboard: the method used and the replacement's reported status."""

    method: str  # "bulk_swap", "claim_copy_remove" or "already_done"
    reference: str | None  # the bulk swap request id, when there is one
    replacement_status: str | None  # online/offline/alerting/dormant as the dashboard reports


class RmaDashboard(Protocol):
    """Implemented by dashboard.meraki.MerakiDashboard; a retried swap must be harmless."""

    def swap_device(
        self, *, organization_id: str, network_id: str, old_serial: str, new_serial: str
    ) -> DashboardSwap:
        """Put `new_serial` in `old_serial`'s place with its device-level settings."""
        ...

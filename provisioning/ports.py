"""What provisioning needs from the Meraki dashboard (implemented by `dashboard.provisioning`)."""

from __future__ import annotations

from typing import Any, Protocol


class RequestTally(Protocol):
    """Requests the client sent, as the HTTP layer saw them (`dashboard.transport.CallStats`)."""

    @property
    def calls(self) -> int: ...

    def snapshot(self) -> dict[str, int]:
        """calls, rate_limited and server_errors so far."""
        ...


class ProvisioningDashboard(Protocol):
    """Reads per resource collection, direct writes and action batches of one organization."""

    organization_id: str

    @property
    def stats(self) -> RequestTally:
        """What this client sent so far (the transport seam counts it)."""
        ...

    def list_networks(self) -> list[dict[str, Any]]:
        """Every network of the organization (one paged list)."""
        ...

    def find_network(self, name: str) -> dict[str, Any] | None:
        """The organization's network called `name`, if any (one paged list)."""
        ...

    def get_network(self, network_id: str) -> dict[str, Any]: ...

    def list_devices(self, network_ids: list[str]) -> list[dict[str, Any]]:
        """Devices of these networks from the organization's device list (one paged list)."""
        ...

    def read_rf_assignments(self, network_ids: list[str]) -> list[dict[str, Any]]:
        """Access points' RF profiles in these networks (one paged organization-wide list)."""
        ...

    def read_collection(self, network_id: str, kind: str) -> Any:
        """One GET for a resource collection; VLANs disabled → None."""
        ...

    def read_management_interface(self, serial: str) -> dict[str, Any]: ...

    def create_network(self, body: dict[str, Any]) -> dict[str, Any]: ...

    def send_direct(self, kind: str, network_id: str, body: dict[str, Any]) -> Any:
        """A write the action-batch API cannot carry."""
        ...

    def submit_batch(self, actions: list[dict[str, Any]], *, synchronous: bool) -> dict[str, Any]:
        """Create and confirm an action batch; returns the batch record (id, status)."""
        ...

    def get_batch(self, batch_id: str) -> dict[str, Any]: ...

    def list_batches(self) -> list[dict[str, Any]]: ...

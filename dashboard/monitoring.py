"""Monitoring's adapter over the real `meraki` SDK: availabilities, their change history and
the webhook receivers the dashboard POSTs alerts to (implements monitoring.ports).

One adapter serves every organization, from several threads at once (`monitoring.polling` polls
organizations side by side): each request is paced by the budget of the organization its path
names (`OrganizationsMeter`), so each organization keeps its own 10 req/s and none waits for
another's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import meraki

from core.settings import Settings
from dashboard.budgets import budget_from_settings
from dashboard.errors import translated_errors
from dashboard.session import build_sdk
from dashboard.transport import ANY_ORGANIZATION, Budget, RequestMeter, retry_after
from monitoring.ports import Availability, AvailabilityChange, ChangeHistoryUnavailable

PER_PAGE = 1000
_ORGANIZATION_PATH = re.compile(r"/organizations/([^/?#]+)")


class OrganizationsMeter(RequestMeter):
    """A meter for a client of several organizations: each request takes a slot of the budget
    of the organization its path names (`/organizations/{id}/…`), and a 429 pauses only that
    organization; a request naming none (a network's webhook settings) uses `organization_id`.
    """

    def budget_key(self, request: httpx.Request) -> str:
        found = _ORGANIZATION_PATH.search(request.url.path)
        return found.group(1) if found else self.organization_id

    def before_request(self, request: httpx.Request) -> None:
        if self.limiter is not None:
            self.limiter.acquire(self.budget_key(request))
        with self._lock:
            self.stats.calls += 1

    def after_response(self, response: httpx.Response) -> None:
        status = response.status_code
        if status == 429:
            with self._lock:
                self.stats.rate_limited += 1
            if self.limiter is not None:
                self.limiter.pause(self.budget_key(response.request), retry_after(response))
        elif status >= 500:
            with self._lock:
                self.stats.server_errors += 1


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class MerakiMonitoring:
    """Reads device liveness; configures the network's webhook receiver and alerts."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        maximum_retries: int = 4,
        patience_seconds: float | None = None,
        limiter: Budget | None = None,
        per_page: int = PER_PAGE,
    ) -> None:
        self.base_url = base_url
        self.per_page = per_page
        self._api = build_sdk(
            api_key=api_key,
            base_url=base_url,
            maximum_retries=maximum_retries,
            patience_seconds=patience_seconds,
        )
        self.meter = OrganizationsMeter(ANY_ORGANIZATION, limiter)
        self.meter.attach(self._api)

    @classmethod
    def from_settings(cls, settings: Settings) -> MerakiMonitoring:
        return cls(
            api_key=settings.meraki_api_key.get_secret_value(),
            base_url=settings.meraki_base_url,
            maximum_retries=settings.meraki_max_retries,
            patience_seconds=settings.dashboard_patience_seconds,
            limiter=budget_from_settings(settings),
        )

    @translated_errors
    def availabilities(self, organization_id: str) -> list[Availability]:
        """Every device's status, all pages (1,000 a page)."""
        rows = self._api.organizations.getOrganizationDevicesAvailabilities(
            organization_id, total_pages="all", perPage=self.per_page
        )
        return [
            Availability(
                serial=str(r["serial"]).upper(),
                status=str(r.get("status") or ""),
                network_id=(r.get("network") or {}).get("id"),
                product_type=r.get("productType"),
            )
            for r in rows
        ]

    @translated_errors
    def availability_changes(
        self, organization_id: str, *, since: datetime, until: datetime
    ) -> list[AvailabilityChange]:
        """Status transitions in [since, until], oldest first, all pages."""
        try:
            rows = self._api.organizations.getOrganizationDevicesAvailabilitiesChangeHistory(
                organization_id,
                total_pages="all",
                perPage=self.per_page,
                t0=_iso(since),
                t1=_iso(until),
            )
        except meraki.APIError as exc:
            if exc.status in (404, 405, 501):
                raise ChangeHistoryUnavailable(str(exc.reason)) from None
            raise
        changes = []
        for r in rows:
            old = {d.get("name"): d.get("value") for d in (r.get("details") or {}).get("old", [])}
            new = {d.get("name"): d.get("value") for d in (r.get("details") or {}).get("new", [])}
            if "status" not in new:
                continue
            device = r.get("device") or {}
            changes.append(
                AvailabilityChange(
                    at=_moment(str(r["ts"])),
                    serial=str(device.get("serial", "")).upper(),
                    old_status=str(old.get("status") or ""),
                    new_status=str(new["status"]),
                    network_id=(r.get("network") or {}).get("id"),
                    product_type=device.get("productType"),
                )
            )
        return sorted(changes, key=lambda c: c.at)

    @translated_errors
    def configure_webhook(
        self, *, network_id: str, name: str, url: str, shared_secret: str, alert_types: list[str]
    ) -> str:
        """Make `url` the network's webhook receiver for these alert types; its server id.

        Idempotent: an existing receiver with the same URL gets the new secret.
        """
        networks = self._api.networks
        existing = next(
            (s for s in networks.getNetworkWebhooksHttpServers(network_id) if s["url"] == url),
            None,
        )
        if existing is None:
            server = networks.createNetworkWebhooksHttpServer(
                network_id, name=name, url=url, sharedSecret=shared_secret
            )
        else:
            server = networks.updateNetworkWebhooksHttpServer(
                network_id, existing["id"], name=name, sharedSecret=shared_secret
            )
        server_id = str(server["id"])
        networks.updateNetworkAlertsSettings(
            network_id,
            alerts=[
                {
                    "type": alert_type,
                    "enabled": True,
                    "alertDestinations": {"httpServerIds": [server_id]},
                }
                for alert_type in alert_types
            ],
        )
        return server_id

"""Reconciling with an organization the dashboard does not know is the caller's mistake.

Found by the reliability suite's schemathesis run (issue 15): `POST /inventory/reconcile` with a
made-up `organization_id` answered 502 (a dashboard failure); it is a 404 naming the id, while a
real dashboard failure stays a 502.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from core.errors import DashboardError, NotFound
from dashboard.meraki import MerakiDashboard
from inventory import reconcile
from sandbox.server import SandboxServer
from tests.service.helpers import ACTOR


def test_an_unknown_organization_is_not_found(sandbox: SandboxServer, session: Session) -> None:
    dashboard = MerakiDashboard(api_key=sandbox.api_key, base_url=sandbox.base_url)
    with pytest.raises(NotFound) as refused:
        reconcile.reconcile(
            session=session, dashboard=dashboard, organization_id="999000111", actor=ACTOR,
            now=datetime.now(UTC),
        )  # fmt: skip
    assert refused.value.http_status == 404 and "999000111" in refused.value.message


def test_a_dashboard_failure_stays_a_dashboard_error(
    sandbox: SandboxServer, session: Session
) -> None:
    sandbox.admin.set_faults("503=1.0")
    dashboard = MerakiDashboard(api_key=sandbox.api_key, base_url=sandbox.base_url)
    with pytest.raises(DashboardError):
        reconcile.reconcile(
            session=session, dashboard=dashboard, organization_id="537758", actor=ACTOR,
            now=datetime.now(UTC),
        )  # fmt: skip

"""A sheet naming an organization is never planned against another organization's dashboard.

Paths that work in one organization (the change-request workflow, the NOC and field pages, VPN
builds) hand the planner that organization's adapter; a sheet naming a different organization
must be refused there, at `site.organizationId`, before any dashboard request — even when the
other organization has a network of the same name (another customer's).
"""

from __future__ import annotations

import pytest

from core.errors import ValidationFailed
from provisioning.service import plan_sheet
from provisioning.sheet_model import Sheet
from sandbox.server import SandboxServer
from tests.service.test_provisioning_rollout import OPTIONS, ORG, dashboard_for, utm


def named(sheet: Sheet, organization: str | None) -> Sheet:
    site = sheet.site.model_copy(update={"organization_id": organization})
    return sheet.model_copy(update={"site": site})


def test_a_sheet_for_another_organization_is_refused_before_any_request(
    sandbox: SandboxServer,
) -> None:
    (other,) = sandbox.admin.generate_organizations(1)
    dash = dashboard_for(sandbox, ORG)
    sandbox.admin.reset_counters()
    with pytest.raises(ValidationFailed) as refused:
        plan_sheet(dashboard=dash, sheet=named(utm(1), other), options=OPTIONS)
    assert [p.location for p in refused.value.problems] == ["site.organizationId"]
    assert other in refused.value.problems[0].message
    assert sandbox.admin.counters()["operations"] == {}
    assert dash.stats.calls == 0


@pytest.mark.parametrize("organization", [None, ORG])
def test_a_sheet_naming_none_or_this_organization_is_planned_here(
    sandbox: SandboxServer, organization: str | None
) -> None:
    plan = plan_sheet(
        dashboard=dashboard_for(sandbox, ORG), sheet=named(utm(1), organization), options=OPTIONS
    )
    assert plan.organization_id == ORG and plan.changes

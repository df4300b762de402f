"""A failed undo during a VPN build is visible: logged, audited with what stayed, build status.

The rule: when a build fails half-way, netkeep tries to take back everything it wrote; what it
cannot take back (the dashboard is failing) is logged at ERROR, audited with what stayed on the
dashboard, and the build is stored `partially_reverted` naming it; reverting that build once the
dashboard answers takes the rest back. The fault is the sandbox's: from the second user on,
every request answers 503.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlmodel import Session, select

from core.errors import DashboardError
from core.models import AuditEntry
from provisioning.models import ProvisioningJob
from sandbox.server import SandboxServer
from tests.conftest import ADMIN
from tests.service.test_vpn_service import build as make_build
from tests.service.test_vpn_service import request, revert, world  # noqa: F401  (fixture)
from tests.unit.vpn.world import OPTIONS, ORG, OSAKA, T1, T2, TOKYO, provisioning_dashboard
from tests.unit.vpn.world import vpn_dashboard as real_vpn_dashboard
from vpn import client_users, construction
from vpn.client_users import UserRequest
from vpn.models import VpnBuild

HANAKO, TARO = "hanako@sakura.example.jp", "taro@sakura.example.jp"
USERS = [
    {"network_id": OSAKA, "email": HANAKO, "name": "佐藤花子"},
    {"network_id": OSAKA, "email": TARO, "name": "佐藤太郎"},
]


class FaultAtSecondUser:
    """The real VPN adapter; the sandbox fails every request from the second user created on."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self._real, self._sandbox, self._created = real_vpn_dashboard(sandbox), sandbox, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def create_client_vpn_user(self, network_id: str, **kw: Any) -> Any:
        self._created += 1
        if self._created == 2:
            self._sandbox.admin.set_faults("503=1.0")
        return self._real.create_client_vpn_user(network_id, **kw)


def test_a_build_whose_undo_fails_is_stored_partially_reverted_and_revert_finishes_it(
    session: Session,
    world: SandboxServer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    sdk = world.dashboard_api()
    with caplog.at_level(logging.ERROR), pytest.raises(DashboardError) as failed:
        construction.build_vpn(
            session=session, dashboard=FaultAtSecondUser(world),
            provisioning=provisioning_dashboard(world), options=OPTIONS, actor=ADMIN,
            organization_id=ORG, request=request(users=USERS), now=T1, accept_documentation=True,
        )  # fmt: skip
    world.admin.clear_faults()
    # everything written stayed: both sites' settings and the first user
    assert sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(TOKYO)["mode"] == "hub"
    assert sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(OSAKA)["mode"] == "spoke"
    [hanako] = sdk.networks.getNetworkMerakiAuthUsers(OSAKA)
    assert hanako["email"] == HANAKO

    message = failed.value.message
    assert "partly undone" in message and HANAKO in message and TOKYO in message
    assert f"netkeep vpn build --revert {failed.value.details['build']}" in message
    [build] = session.exec(select(VpnBuild)).all()
    assert build.status == "partially_reverted"
    left = {item["what"] for item in failed.value.details["left_on_dashboard"]}
    assert left == {
        f"client VPN user {HANAKO} ({hanako['id']}) on {OSAKA}",
        f"site-to-site VPN settings of {OSAKA} (job {build.jobs[1]})",
        f"site-to-site VPN settings of {TOKYO} (job {build.jobs[0]})",
    }
    assert any(n.startswith("left on the dashboard: client VPN user") for n in build.notes)
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert sum("VPN undo failed" in m for m in logged) == 3
    audited = session.exec(select(AuditEntry).where(AuditEntry.action == "vpn.build.failed")).one()
    assert audited.outcome == "partially_reverted"
    assert len((audited.after or {})["left_on_dashboard"]) == 3
    user_audit = session.exec(
        select(AuditEntry).where(AuditEntry.action == "vpn.user.undo_failed")
    ).one()
    assert user_audit.entity_id == f"{OSAKA}:{HANAKO}"

    assert build.id is not None
    done = revert(session, world, build.id)
    assert done.status == "reverted"
    assert sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(TOKYO)["mode"] == "none"
    assert sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(OSAKA)["mode"] == "none"
    assert sdk.networks.getNetworkMerakiAuthUsers(OSAKA) == []


class FaultAtUserDeletion(FaultAtSecondUser):
    """The real VPN adapter; the sandbox fails every request from the first user deletion on."""

    def delete_client_vpn_user(self, network_id: str, user_id: str) -> Any:
        self._sandbox.admin.set_faults("503=1.0")
        return self._real.delete_client_vpn_user(network_id, user_id)


def test_a_revert_that_fails_half_way_is_partially_reverted_and_can_be_taken_up(
    session: Session,
    world: SandboxServer,  # noqa: F811
) -> None:
    sdk = world.dashboard_api()
    built = make_build(session, world, request()).build
    assert built.id is not None
    with pytest.raises(DashboardError, match="only partly reverted") as failed:
        construction.revert_build(
            session=session, dashboard=FaultAtUserDeletion(world),
            provisioning=provisioning_dashboard(world), options=OPTIONS, actor=ADMIN,
            build_id=built.id, now=T2,
        )  # fmt: skip
    world.admin.clear_faults()
    assert [i["email"] for i in failed.value.details["left_on_dashboard"]] == [
        "hanako@sakura.example.jp"
    ]
    stored = session.get(VpnBuild, built.id)
    assert stored is not None and stored.status == "partially_reverted"
    assert [c.get("reverted") for c in stored.changes] == [True, True]
    assert sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(OSAKA)["mode"] == "none"
    assert len(sdk.networks.getNetworkMerakiAuthUsers(OSAKA)) == 1

    again = revert(session, world, built.id)
    assert again.status == "reverted"
    assert sdk.networks.getNetworkMerakiAuthUsers(OSAKA) == []
    rollbacks = session.exec(select(ProvisioningJob).where(ProvisioningJob.kind == "rollback"))
    assert len(rollbacks.all()) == 2  # the second revert rolled nothing back twice


def test_adding_users_alone_reports_a_user_its_undo_could_not_delete(
    session: Session,
    world: SandboxServer,  # noqa: F811
) -> None:
    users = [UserRequest(u["network_id"], u["email"], u["name"]) for u in USERS]
    with pytest.raises(DashboardError) as failed:
        client_users.ensure_client_users(
            session=session, dashboard=FaultAtSecondUser(world), actor=ADMIN, users=users,
            now=T1,
        )  # fmt: skip
    world.admin.clear_faults()
    [hanako] = world.dashboard_api().networks.getNetworkMerakiAuthUsers(OSAKA)
    assert f"client VPN user {HANAKO} ({hanako['id']}) on {OSAKA} stayed" in failed.value.message
    session.rollback()  # what the caller does with a failed request: the audit was committed
    entry = session.exec(
        select(AuditEntry).where(AuditEntry.action == "vpn.user.undo_failed")
    ).one()
    assert (entry.entity_id, entry.outcome) == (f"{OSAKA}:{HANAKO}", "partially_reverted")

"""VPN checks, construction, client users and reports through the real SDK against the sandbox."""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pytest
from sqlmodel import Session, col, select

from core.errors import Conflict, InvalidTransition, ValidationFailed
from core.models import AuditEntry
from provisioning.models import ProvisioningJob
from sandbox.server import SandboxServer
from tests.conftest import ADMIN
from tests.unit.vpn.world import (
    CUSTOMER,
    KOBE,
    OPTIONS,
    ORG,
    OSAKA,
    T1,
    T2,
    TOKYO,
    TOKYO_MX,
    contracts,
    load,
    provisioning_dashboard,
    vpn_dashboard,
)
from vpn import client_users, construction, eligibility, status
from vpn.client_users import UserRequest
from vpn.domain import ClientUser, EventKind, SiteReport
from vpn.models import VpnBuild, VpnClientUser, VpnEligibilityCheck, VpnEvent, VpnReport
from vpn.report_pdf import render_report_pdf, report_csv

S2S = "/networks/{networkId}/appliance/vpn/siteToSiteVpn"
BATCHES = "/organizations/{organizationId}/actionBatches"


def writes(sandbox: SandboxServer) -> int:
    """Site-to-site writes of any form: direct PUTs and action batches."""
    return sandbox.admin.count("PUT", S2S) + sandbox.admin.count("POST", BATCHES)


@pytest.fixture
def world(session: Session, sandbox: SandboxServer) -> SandboxServer:
    load(sandbox)
    contracts(session)
    return sandbox


def request(**extra: Any) -> construction.BuildRequest:
    data: dict[str, Any] = {
        "sites": [
            {"network_id": TOKYO, "role": "hub", "subnets": ["192.168.128.0/24"]},
            {
                "network_id": OSAKA,
                "role": "spoke",
                "hubs": [{"network_id": TOKYO, "use_default_route": False}],
                "subnets": [{"local_subnet": "192.168.129.0/24", "use_vpn": True}],
            },
        ],
        "users": [{"network_id": OSAKA, "email": "hanako@sakura.example.jp", "name": "佐藤花子"}],
    }
    data.update(extra)
    return construction.parse_request(data)


def build(session: Session, sandbox: SandboxServer, req: construction.BuildRequest) -> Any:
    return construction.build_vpn(
        session=session,
        dashboard=vpn_dashboard(sandbox),
        provisioning=provisioning_dashboard(sandbox),
        options=OPTIONS,
        actor=ADMIN,
        organization_id=ORG,
        request=req,
        now=T1,
        accept_documentation=True,
    )


def test_check_stores_one_record_per_site_with_reasons(
    session: Session, world: SandboxServer
) -> None:
    rows = eligibility.check_sites(
        session=session,
        dashboard=vpn_dashboard(world),
        actor=ADMIN,
        organization_id=ORG,
        network_ids=[TOKYO, OSAKA, KOBE],
        users=[ClientUser(OSAKA, "", "メール無し")],
        now=T1,
        accept_documentation=True,
    )
    stored = {r.network_id: r for r in session.exec(select(VpnEligibilityCheck))}
    assert set(stored) == {TOKYO, OSAKA, KOBE} and len({r.run for r in rows}) == 1
    codes = {nid: [r["code"] for r in row.reasons] for nid, row in stored.items()}
    assert codes[TOKYO] == ["plan_mismatch"]
    assert codes[OSAKA] == ["plan_mismatch", "user_email_missing"]
    assert codes[KOBE] == ["plan_mismatch", "wan_cgnat"]
    assert stored[KOBE].uplinks is not None
    assert stored[KOBE].uplinks["uplinks"][0]["ip"] == "100.64.1.2"
    assert not any(r.eligible for r in stored.values())
    both = eligibility.check_sites(
        session=session,
        dashboard=vpn_dashboard(world),
        actor=ADMIN,
        organization_id=ORG,
        network_ids=[TOKYO, OSAKA],
        now=T2,
        accept_documentation=True,
    )
    assert [r.eligible for r in both] == [True, True]
    assert both[0].customer == CUSTOMER and both[0].plan == "utm"


def test_without_accepting_documentation_ips_the_sandbox_wan_is_refused(
    session: Session, world: SandboxServer
) -> None:
    [row] = eligibility.check_sites(
        session=session,
        dashboard=vpn_dashboard(world),
        actor=ADMIN,
        organization_id=ORG,
        network_ids=[TOKYO],
        now=T1,
    )
    assert [r["code"] for r in row.reasons] == ["wan_special"]


def revert(session: Session, sandbox: SandboxServer, build_id: int) -> VpnBuild:
    return construction.revert_build(
        session=session,
        dashboard=vpn_dashboard(sandbox),
        provisioning=provisioning_dashboard(sandbox),
        options=OPTIONS,
        actor=ADMIN,
        build_id=build_id,
        now=T2,
    )


def test_build_sets_settings_second_build_sends_nothing_and_revert_restores(
    session: Session, world: SandboxServer
) -> None:
    sdk = world.dashboard_api()
    result = build(session, world, request())
    tokyo = sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(TOKYO)
    osaka = sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(OSAKA)
    assert tokyo["mode"] == "hub"
    assert osaka == {
        "mode": "spoke",
        "hubs": [{"hubId": TOKYO, "useDefaultRoute": False}],
        "subnets": [{"localSubnet": "192.168.129.0/24", "useVpn": True}],
    }
    stored = session.get(VpnBuild, result.build.id)
    assert stored is not None and [c["changed"] for c in stored.changes] == [True, True]
    assert stored.changes[1]["before"]["mode"] == "none"
    assert any("shared secret" in n for n in stored.notes)
    [user] = result.users
    assert user.action == "created" and user.password and len(user.password) >= 12
    # one journalled provisioning job per network, the hub first, each one action batch
    jobs = [session.get(ProvisioningJob, job_id) for job_id in stored.jobs]
    assert [(j.network_id, j.kind, j.status, j.sheet_kind) for j in jobs if j] == [
        (TOKYO, "apply", "done", "change_request"),
        (OSAKA, "apply", "done", "change_request"),
    ]
    assert [c["job_id"] for c in stored.changes] == stored.jobs
    assert world.admin.count("POST", BATCHES) == 2 and writes(world) == 2

    again = build(session, world, request())
    assert writes(world) == 2  # nothing differs: the plans are empty, no PUT and no batch
    assert [c["changed"] for c in again.build.changes] == [False, False]
    assert again.build.jobs == []
    assert [u.action for u in again.users] == ["unchanged"]
    assert world.admin.count("POST", "/networks/{networkId}/merakiAuthUsers") == 1

    revert(session, world, result.build.id or 0)
    with pytest.raises(InvalidTransition, match=r"VPN build \d+: cannot move from 'reverted'"):
        revert(session, world, result.build.id or 0)  # nothing is left to revert
    rollbacks = session.exec(
        select(ProvisioningJob)
        .where(ProvisioningJob.kind == "rollback")
        .order_by(col(ProvisioningJob.id))
    )
    assert [j.rollback_of for j in rollbacks] == list(reversed(stored.jobs))  # newest first
    assert sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(OSAKA)["mode"] == "none"
    assert sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(TOKYO)["mode"] == "none"
    assert sdk.networks.getNetworkMerakiAuthUsers(OSAKA) == []
    reverted = session.get(VpnBuild, result.build.id)
    assert reverted is not None and reverted.status == "reverted"
    assert session.exec(select(VpnClientUser)).all() == []


def test_revert_refuses_when_the_dashboard_changed_since(
    session: Session, world: SandboxServer
) -> None:
    result = build(session, world, request(users=[]))
    world.dashboard_api().appliance.updateNetworkApplianceVpnSiteToSiteVpn(OSAKA, "none")
    with pytest.raises(Conflict, match=OSAKA):
        revert(session, world, result.build.id or 0)
    rollbacks = select(ProvisioningJob).where(ProvisioningJob.kind == "rollback")
    assert session.exec(rollbacks).all() == []
    assert (
        world.dashboard_api().appliance.getNetworkApplianceVpnSiteToSiteVpn(TOKYO)["mode"] == "hub"
    )


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (
            {
                "sites": [
                    {"network_id": TOKYO, "role": "hub"},
                    {"network_id": KOBE, "role": "spoke", "hubs": [TOKYO]},
                ]
            },
            KOBE,
        ),
        (
            {
                "sites": [
                    {"network_id": TOKYO, "role": "hub"},
                    {"network_id": OSAKA, "role": "spoke", "hubs": [KOBE]},
                ]
            },
            f"hub {KOBE} is not a hub site",
        ),
        (
            {
                "sites": [{"network_id": TOKYO, "role": "hub"}],
                "users": [{"network_id": TOKYO, "email": "", "name": "鈴木一郎"}],
            },
            "鈴木一郎",
        ),
    ],
)
def test_bad_requests_are_refused_and_nothing_is_stored_or_sent(
    session: Session, world: SandboxServer, data: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        build(session, world, construction.parse_request(data))
    assert named in str(caught.value)
    assert session.exec(select(VpnBuild)).all() == []
    assert session.exec(select(ProvisioningJob)).all() == []  # refused before any job
    assert writes(world) == 0
    assert world.admin.count("POST", "/networks/{networkId}/merakiAuthUsers") == 0


def test_cgnat_site_error_names_the_site(session: Session, world: SandboxServer) -> None:
    data = {"sites": [{"network_id": KOBE, "role": "hub"}]}
    with pytest.raises(ValidationFailed) as caught:
        build(session, world, construction.parse_request(data))
    assert "神戸営業所" in caught.value.message and KOBE in caught.value.message
    assert any("wan_cgnat" in p.message for p in caught.value.problems)


def test_client_users_are_idempotent_by_email_and_passwords_never_stored(
    session: Session, world: SandboxServer
) -> None:
    users = [UserRequest(OSAKA, "Jiro@Sakura.example.jp", "田中次郎", "given-Passw0rd")]
    first = client_users.ensure_client_users(
        session=session, dashboard=vpn_dashboard(world), actor=ADMIN, users=users, now=T1
    )
    second = client_users.ensure_client_users(
        session=session,
        dashboard=vpn_dashboard(world),
        actor=ADMIN,
        users=[UserRequest(OSAKA, "jiro@sakura.example.jp", "田中次郎")],
        now=T2,
    )
    assert [o.action for o in first] == ["created"] and first[0].password == "given-Passw0rd"
    assert [o.action for o in second] == ["unchanged"] and second[0].password is None
    listed = world.dashboard_api().networks.getNetworkMerakiAuthUsers(OSAKA)
    assert [(u["email"], u["accountType"]) for u in listed] == [
        ("Jiro@Sakura.example.jp", "Client VPN")
    ]
    state = world.admin.snapshot()["network_settings"][OSAKA]["merakiAuthUsers"]
    assert [u["password"] for u in state.values()] == ["given-Passw0rd"]
    assert world.admin.count("POST", "/networks/{networkId}/merakiAuthUsers") == 1
    renamed = client_users.ensure_client_users(
        session=session,
        dashboard=vpn_dashboard(world),
        actor=ADMIN,
        users=[UserRequest(OSAKA, "jiro@sakura.example.jp", "田中 次郎")],
        now=T2,
    )
    assert [o.action for o in renamed] == ["updated"]
    assert world.dashboard_api().networks.getNetworkMerakiAuthUsers(OSAKA)[0]["name"] == "田中 次郎"
    text = str([e.after for e in session.exec(select(AuditEntry))])
    text += str([u.model_dump() for u in session.exec(select(VpnClientUser))])
    assert "given-Passw0rd" not in text


def snapshot(session: Session, sandbox: SandboxServer, now: Any, per_page: int = 3) -> VpnReport:
    return status.take_snapshot(
        session=session,
        dashboard=vpn_dashboard(sandbox, per_page=per_page),
        actor=ADMIN,
        organization_id=ORG,
        now=now,
    )


def test_reports_page_through_statuses_track_since_and_store_events(
    session: Session, sandbox: SandboxServer
) -> None:
    load(sandbox, extra_spokes=7)
    contracts(session)
    first = snapshot(session, sandbox, T1)
    assert first.site_count == 8  # Tokyo hub + 7 spokes
    assert first.peer_count == 7 + 7
    assert sandbox.admin.count("GET", "/organizations/{organizationId}/appliance/vpn/statuses") >= 3
    assert sandbox.admin.count("GET", "/organizations/{organizationId}/uplinks/statuses") >= 3
    assert session.exec(select(VpnEvent)).all() == []

    sandbox.admin.set_device_status("Q2FY-0000-0003", "offline")
    second = snapshot(session, sandbox, T2)
    # both ends see the tunnel down: the spoke's view of the hub and the hub's view of the spoke
    assert second.previous_id == first.id and second.peers_down == 2
    events = status.list_events(session=session, kinds=[EventKind.PEER_DOWN])
    assert sorted((e.network_id, e.peer_network_id, e.at) for e in events) == [
        ("N_demo_tokyo", "N_vpn_0003", T2),
        ("N_vpn_0003", TOKYO, T2),
    ]
    sites = {s["network_id"]: SiteReport.from_dict(s) for s in second.sites}
    assert sites["N_vpn_0003"].peers[0].since == T2 and not sites["N_vpn_0003"].peers[0].reachable
    assert sites["N_vpn_0004"].peers[0].since == T1
    tokyo = sites[TOKYO]
    assert tokyo.customer == CUSTOMER and tokyo.public_ip == "203.0.113.10"
    assert [r.id for r in status.list_reports(session=session)] == [second.id, first.id]


def test_wan_ip_change_is_flagged_stored_as_event_and_printed(
    session: Session, sandbox: SandboxServer
) -> None:
    load(sandbox, extra_spokes=1)
    contracts(session)
    sandbox.admin.set_public_ip(TOKYO_MX, "198.51.100.7")
    snapshot(session, sandbox, T1)
    sandbox.admin.set_public_ip(TOKYO_MX, "198.51.100.99")
    report = snapshot(session, sandbox, T2)
    assert report.wan_ip_changes == 1
    [event] = status.list_events(session=session, report_id=report.id)
    assert (event.kind, event.detail) == ("wan_ip_changed", "198.51.100.7 -> 198.51.100.99")
    pdf = render_report_pdf(report, [event], customer=CUSTOMER)
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for expected in (
        "VPN接続状況報告書",
        f"{CUSTOMER} 御中",
        "東京本社",
        "198.51.100.99",
        "前回 198.51.100.7",
        "WAN IP 変更",
        "30分以上",
        "キャリアグレードNAT",
    ):
        assert expected in text, expected
    csv_text = report_csv(report, customer=CUSTOMER)
    assert csv_text.startswith("\ufeff取得日時")
    assert "198.51.100.99" in csv_text and "変更あり" in csv_text
    assert report_csv(report, customer="他社").count("\n") == 1

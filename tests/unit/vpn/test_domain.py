"""Pure VPN rules: global WAN IP, contract and plan, e-mail, desired settings, status changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vpn.domain import (
    ClientUser,
    EventKind,
    HubChoice,
    PeerObservation,
    ReasonCode,
    SiteFacts,
    SiteRequest,
    SiteRole,
    SubnetChoice,
    Uplink,
    UplinkStatus,
    VpnSiteStatus,
    apply_order,
    compare_snapshot,
    contract_reasons,
    desired_site_to_site,
    email_reason,
    evaluate_sites,
    needs_change,
    plan_mismatch_reasons,
    request_problems,
    wan_ip_reason,
    wan_reasons,
)

W = ReasonCode


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("8.8.8.8", None),
        ("133.1.2.3", None),
        ("10.0.0.1", W.WAN_PRIVATE),
        ("172.16.0.1", W.WAN_PRIVATE),
        ("172.31.255.255", W.WAN_PRIVATE),
        ("172.32.0.1", None),
        ("192.168.1.1", W.WAN_PRIVATE),
        ("100.63.255.255", None),
        ("100.64.0.0", W.WAN_CGNAT),
        ("100.100.1.1", W.WAN_CGNAT),
        ("100.127.255.255", W.WAN_CGNAT),
        ("100.128.0.0", None),
        ("127.0.0.1", W.WAN_SPECIAL),
        ("169.254.10.1", W.WAN_SPECIAL),
        ("224.0.0.1", W.WAN_SPECIAL),
        ("0.0.0.0", W.WAN_SPECIAL),
        ("240.0.0.1", W.WAN_SPECIAL),
        ("198.18.0.1", W.WAN_SPECIAL),
        ("203.0.113.10", W.WAN_SPECIAL),
        ("2400:4050::1", None),
        ("fd00::1", W.WAN_SPECIAL),
        ("fe80::1", W.WAN_SPECIAL),
        (None, W.WAN_UNKNOWN),
        ("", W.WAN_UNKNOWN),
        ("not-an-ip", W.WAN_UNKNOWN),
    ],
)
def test_wan_ip_reason(address: str | None, expected: ReasonCode | None) -> None:
    reason = wan_ip_reason(address)
    assert (reason.code if reason else None) is expected


@pytest.mark.parametrize(
    ("address", "block"),
    [
        ("192.0.2.1", "192.0.2.0/24"),
        ("198.51.100.200", "198.51.100.0/24"),
        ("203.0.113.10", "203.0.113.0/24"),
    ],
)
def test_a_documentation_address_is_named_as_such_not_private_use(address: str, block: str) -> None:
    reason = wan_ip_reason(address)
    assert reason is not None
    assert "documentation address (RFC 5737" in reason.message and block in reason.message
    assert "private" not in reason.message


def test_documentation_addresses_pass_only_when_accepted_and_cgnat_never() -> None:
    assert wan_ip_reason("203.0.113.10", accept_documentation=True) is None
    reason = wan_ip_reason("100.64.0.1", accept_documentation=True)
    assert reason is not None and reason.code is W.WAN_CGNAT
    assert "100.64.0.0/10" in reason.message


def up(interface: str, status: str, ip: str | None, public: str | None) -> Uplink:
    return Uplink(interface, status, ip, public)


@pytest.mark.parametrize(
    ("uplinks", "codes"),
    [
        (None, [W.WAN_UNKNOWN]),
        ((), [W.WAN_UNKNOWN]),
        ((up("wan1", "failed", "10.0.0.2", "8.8.8.8"),), [W.WAN_UNKNOWN]),
        ((up("wan1", "active", "10.0.0.2", None),), [W.WAN_UNKNOWN]),
        ((up("wan1", "active", "10.0.0.2", "8.8.8.8"),), []),
        ((up("wan1", "active", "100.64.3.4", "8.8.8.8"),), [W.WAN_CGNAT]),
        ((up("wan1", "active", "10.0.0.2", "192.168.0.9"),), [W.WAN_PRIVATE]),
        (
            (
                up("wan1", "active", "100.64.3.4", "8.8.8.8"),
                up("wan2", "active", "8.8.4.4", "8.8.4.4"),
            ),
            [],
        ),
    ],
)
def test_wan_reasons(uplinks: tuple[Uplink, ...] | None, codes: list[ReasonCode]) -> None:
    status = None if uplinks is None else UplinkStatus("N_1", "Q2FY-0000-0001", uplinks)
    assert [r.code for r in wan_reasons(status)] == codes


@pytest.mark.parametrize(
    ("plan", "options", "codes"),
    [
        ("utm", {"vpn"}, []),
        ("router", {"vpn", "onsite"}, []),
        ("utm", set(), [W.NO_VPN_OPTION]),
        ("wireless", {"vpn"}, [W.PLAN_NOT_VPN]),
        (None, set(), [W.NO_CONTRACT]),
    ],
)
def test_contract_reasons(plan: str | None, options: set[str], codes: list[ReasonCode]) -> None:
    site = SiteFacts("N_1", "site", "cust", "C-1" if plan else None, plan, frozenset(options))
    assert [r.code for r in contract_reasons(site)] == codes


def test_plan_mismatch_names_every_site_and_plan() -> None:
    sites = [
        SiteFacts("N_a", "東京", plan="utm"),
        SiteFacts("N_b", "大阪", plan="utm"),
        SiteFacts("N_c", "神戸", plan="router"),
    ]
    found = plan_mismatch_reasons(sites)
    assert set(found) == {"N_a", "N_b", "N_c"}
    assert "神戸" in found["N_a"].message and "router" in found["N_a"].message
    assert plan_mismatch_reasons(sites[:2]) == {}


@pytest.mark.parametrize(
    ("email", "code"),
    [
        ("taro@example.co.jp", None),
        ("", W.USER_EMAIL_MISSING),
        ("   ", W.USER_EMAIL_MISSING),
        ("taro", W.USER_EMAIL_INVALID),
        ("taro@example", W.USER_EMAIL_INVALID),
        ("ta ro@example.com", W.USER_EMAIL_INVALID),
        ("taro@@example.com", W.USER_EMAIL_INVALID),
    ],
)
def test_email_reason(email: str, code: ReasonCode | None) -> None:
    reason = email_reason(ClientUser("N_1", email, "山田太郎"))
    assert (reason.code if reason else None) is code
    if reason:
        assert "山田太郎" in reason.message


def test_evaluate_sites_collects_every_reason_per_site() -> None:
    good = UplinkStatus("N_a", None, (up("wan1", "active", "8.8.8.8", "8.8.8.8"),))
    cgnat = UplinkStatus("N_b", None, (up("wan1", "active", "100.64.0.9", "8.8.8.9"),))
    sites = [
        SiteFacts("N_a", "A", "c", "C-1", "utm", frozenset({"vpn"})),
        SiteFacts("N_b", "B", "c", "C-1", "utm", frozenset({"vpn"})),
    ]
    users = [ClientUser("N_a", "", "無名"), ClientUser("N_b", "ok@example.com", "OK")]
    a, b = evaluate_sites(sites, {"N_a": good, "N_b": cgnat}, users)
    assert [r.code for r in a.reasons] == [W.USER_EMAIL_MISSING]
    assert [r.code for r in b.reasons] == [W.WAN_CGNAT]
    assert not a.eligible and not b.eligible


def test_request_problems_name_the_site() -> None:
    requests = [
        SiteRequest("N_hub", SiteRole.HUB),
        SiteRequest("N_s1", SiteRole.SPOKE, (HubChoice("N_s2"),)),
        SiteRequest("N_s2", SiteRole.SPOKE),
        SiteRequest("N_hub", SiteRole.HUB, subnets=(SubnetChoice("10.0.0.1/24"),)),
    ]
    problems = {(p.location, p.message) for p in request_problems(requests)}
    assert ("site N_s1", "hub N_s2 is not a hub site of this request") in problems
    assert ("site N_s2", "a spoke needs at least one hub") in problems
    assert ("site N_hub", "the site is listed twice") in problems
    assert ("site N_hub", "'10.0.0.1/24' is not a subnet") in problems


def test_desired_site_to_site_is_the_put_body() -> None:
    requests = [
        SiteRequest(
            "N_s",
            SiteRole.SPOKE,
            (HubChoice("N_h", True), HubChoice("N_h2")),
            (SubnetChoice("192.168.10.0/24"), SubnetChoice("192.168.20.0/24", False)),
        ),
        SiteRequest("N_h", SiteRole.HUB, subnets=(SubnetChoice("10.1.0.0/16"),)),
        SiteRequest("N_h2", SiteRole.HUB),
        SiteRequest("N_off", SiteRole.NONE),
    ]
    assert request_problems(requests) == []
    desired = desired_site_to_site(requests)
    assert desired == {
        "N_s": {
            "mode": "spoke",
            "hubs": [
                {"hubId": "N_h", "useDefaultRoute": True},
                {"hubId": "N_h2", "useDefaultRoute": False},
            ],
            "subnets": [
                {"localSubnet": "192.168.10.0/24", "useVpn": True},
                {"localSubnet": "192.168.20.0/24", "useVpn": False},
            ],
        },
        "N_h": {
            "mode": "hub",
            "hubs": [],
            "subnets": [{"localSubnet": "10.1.0.0/16", "useVpn": True}],
        },
        "N_h2": {"mode": "hub", "hubs": []},
        "N_off": {"mode": "none", "hubs": []},
    }
    assert apply_order(desired) == ["N_h", "N_h2", "N_off", "N_s"]


def test_needs_change_ignores_subnets_when_none_requested() -> None:
    current = {
        "mode": "hub",
        "hubs": [],
        "subnets": [{"localSubnet": "10.0.0.0/24", "useVpn": True}],
    }
    assert not needs_change(current, {"mode": "hub", "hubs": []})
    assert needs_change(current, {"mode": "hub", "hubs": [], "subnets": []})
    assert needs_change(
        current, {"mode": "spoke", "hubs": [{"hubId": "N", "useDefaultRoute": False}]}
    )


AT1 = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)
AT2 = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)
AT3 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


def status(reachable: dict[str, bool], public: str | None = "8.8.8.8") -> VpnSiteStatus:
    peers = tuple(PeerObservation(p, p.upper(), ok) for p, ok in reachable.items())
    return VpnSiteStatus("N_s", "拠点S", "Q2FY-0000-0001", "online", "spoke", public, peers)


def test_since_when_and_events_across_three_snapshots() -> None:
    sites1, changes1 = compare_snapshot([status({"h1": True, "h2": False})], {}, {}, {}, AT1)
    peers = {p.network_id: p for p in sites1[0].peers}
    assert peers["h1"].since == AT1 and peers["h1"].first_seen
    assert [(c.kind, c.peer_network_id) for c in changes1] == [(EventKind.PEER_DOWN, "h2")]

    prev = {s.network_id: s for s in sites1}
    sites2, changes2 = compare_snapshot([status({"h1": False, "h2": False})], {}, prev, {}, AT2)
    peers = {p.network_id: p for p in sites2[0].peers}
    assert peers["h1"].since == AT2 and not peers["h1"].reachable
    assert peers["h2"].since == AT1 and not peers["h2"].first_seen
    assert [(c.kind, c.peer_network_id) for c in changes2] == [(EventKind.PEER_DOWN, "h1")]

    prev = {s.network_id: s for s in sites2}
    sites3, changes3 = compare_snapshot([status({"h1": True, "h2": False})], {}, prev, {}, AT3)
    assert {p.network_id: p.since for p in sites3[0].peers} == {"h1": AT3, "h2": AT1}
    assert [c.kind for c in changes3] == [EventKind.PEER_UP]


def test_wan_ip_change_flagged_against_last_known_ip() -> None:
    uplinks1 = {"N_s": UplinkStatus("N_s", None, (up("wan1", "active", "1.1.1.1", "1.1.1.1"),))}
    sites1, _ = compare_snapshot([status({})], uplinks1, {}, {"N_s": "顧客"}, AT1)
    assert sites1[0].public_ip == "1.1.1.1" and not sites1[0].wan_ip_changed
    assert sites1[0].customer == "顧客"
    offline = compare_snapshot([status({}, None)], {}, {"N_s": sites1[0]}, {}, AT2)[0][0]
    assert offline.public_ip is None and offline.known_public_ip == "1.1.1.1"
    assert not offline.wan_ip_changed
    uplinks3 = {"N_s": UplinkStatus("N_s", None, (up("wan1", "active", "2.2.2.2", "2.2.2.2"),))}
    sites3, changes3 = compare_snapshot([status({})], uplinks3, {"N_s": offline}, {}, AT3)
    assert sites3[0].wan_ip_changed and sites3[0].previous_public_ip == "1.1.1.1"
    assert [(c.kind, c.detail) for c in changes3] == [
        (EventKind.WAN_IP_CHANGED, "1.1.1.1 -> 2.2.2.2")
    ]


def test_site_report_round_trips_through_storage() -> None:
    from vpn.domain import SiteReport

    sites, _ = compare_snapshot([status({"h1": True})], {}, {}, {}, AT1)
    assert SiteReport.from_dict(sites[0].to_dict()) == sites[0]

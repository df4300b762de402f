"""VPN rules that mutation testing (issue 22) showed were unstated by the other tests."""

from __future__ import annotations

import pytest

from vpn.domain import (
    HubChoice,
    Reason,
    ReasonCode,
    SiteFacts,
    SiteRequest,
    SiteRole,
    Uplink,
    UplinkStatus,
    apply_order,
    comparable,
    evaluate_sites,
    needs_change,
    request_problems,
    wan_ip_reason,
    wan_reasons,
)

GLOBAL_IP = "8.8.8.8"  # a global address
DOC_IP = "203.0.113.10"  # RFC 5737 documentation range, not a global IP


def _status(*uplinks: Uplink, network_id: str = "N_1") -> UplinkStatus:
    return UplinkStatus(network_id, "Q2XX-AAAA-0001", uplinks)


def _vpn_site(network_id: str, plan: str = "utm") -> SiteFacts:
    return SiteFacts(network_id, f"site {network_id}", "ACME", "C-1", plan, frozenset({"vpn"}))


# --- live uplinks -------------------------------------------------------------------------------


def test_a_ready_uplink_with_a_global_ip_is_live() -> None:
    # The dashboard reports a standby uplink that carries traffic as "ready"; it is live.
    status = _status(Uplink("wan1", "ready", "8.8.4.4", GLOBAL_IP))
    assert wan_reasons(status) == ()
    assert status.public_ip() == GLOBAL_IP


def test_public_ip_skips_a_failed_uplink_that_still_reports_an_address() -> None:
    status = _status(
        Uplink("wan1", "failed", None, "1.1.1.1"),
        Uplink("wan2", "active", None, GLOBAL_IP),
    )
    assert status.public_ip() == GLOBAL_IP


def test_public_ip_skips_a_live_uplink_without_one() -> None:
    status = _status(
        Uplink("wan1", "active", "192.168.1.2", None),
        Uplink("wan2", "active", None, GLOBAL_IP),
    )
    assert status.public_ip() == GLOBAL_IP


# --- serialised forms ---------------------------------------------------------------------------


def test_reason_as_a_dict() -> None:
    reason = Reason(ReasonCode.WAN_CGNAT, "shared address")
    assert reason.to_dict() == {"code": "wan_cgnat", "message": "shared address"}


def test_uplink_status_as_a_dict() -> None:
    status = _status(Uplink("wan1", "active", "192.168.1.2", GLOBAL_IP))
    assert status.to_dict() == {
        "networkId": "N_1",
        "serial": "Q2XX-AAAA-0001",
        "uplinks": [
            {"interface": "wan1", "status": "active", "ip": "192.168.1.2", "publicIp": "8.8.8.8"}
        ],
    }


# --- global IP (condition 2) --------------------------------------------------------------------


def test_accepting_documentation_addresses_does_not_accept_private_ones() -> None:
    reason = wan_ip_reason("10.1.2.3", accept_documentation=True)
    assert reason is not None
    assert reason.code is ReasonCode.WAN_PRIVATE


def test_accepting_documentation_addresses_accepts_them() -> None:
    assert wan_ip_reason(DOC_IP, accept_documentation=True) is None


@pytest.mark.parametrize("address", ["::ffff:100.64.0.1", "::ffff:10.0.0.1", "2001:db8::1"])
def test_ipv6_forms_of_non_global_addresses_are_refused(address: str) -> None:
    reason = wan_ip_reason(address)
    assert reason is not None
    assert reason.code is ReasonCode.WAN_SPECIAL


def test_wan_reasons_refuse_documentation_addresses_unless_asked() -> None:
    status = _status(Uplink("wan1", "active", None, DOC_IP))
    assert [r.code for r in wan_reasons(status)] == [ReasonCode.WAN_SPECIAL]


# --- the whole check ----------------------------------------------------------------------------


def test_a_site_meeting_every_condition_is_eligible() -> None:
    site = _vpn_site("N_1")
    [verdict] = evaluate_sites([site], {"N_1": _status(Uplink("wan1", "active", None, GLOBAL_IP))})
    assert verdict.reasons == ()
    assert verdict.eligible is True


def test_evaluate_sites_refuses_documentation_addresses_unless_asked() -> None:
    site = _vpn_site("N_1")
    [verdict] = evaluate_sites([site], {"N_1": _status(Uplink("wan1", "active", None, DOC_IP))})
    assert verdict.eligible is False
    assert [r.code for r in verdict.reasons] == [ReasonCode.WAN_SPECIAL]


def test_sites_on_different_plans_are_each_refused_for_the_mismatch() -> None:
    # Condition (1): VPN connects only devices on the same plan.
    sites = [_vpn_site("N_1", "utm"), _vpn_site("N_2", "router")]
    uplinks = {
        nid: _status(Uplink("wan1", "active", None, GLOBAL_IP), network_id=nid)
        for nid in ("N_1", "N_2")
    }
    verdicts = evaluate_sites(sites, uplinks)
    assert [[r.code for r in v.reasons] for v in verdicts] == [
        [ReasonCode.PLAN_MISMATCH],
        [ReasonCode.PLAN_MISMATCH],
    ]


# --- construction requests ----------------------------------------------------------------------


@pytest.mark.parametrize("role", [SiteRole.HUB, SiteRole.NONE])
def test_only_a_spoke_names_hubs(role: SiteRole) -> None:
    requests = [
        SiteRequest("N_H", SiteRole.HUB),
        SiteRequest("N_X", role, hubs=(HubChoice("N_H"),)),
    ]
    problems = request_problems(requests)
    assert [(p.message, p.location) for p in problems] == [
        (f"a {role.value} site cannot name hubs", "site N_X")
    ]


def test_a_spoke_cannot_be_its_own_hub() -> None:
    requests = [
        SiteRequest("N_H", SiteRole.HUB),
        SiteRequest("N_S", SiteRole.SPOKE, hubs=(HubChoice("N_H"), HubChoice("N_S"))),
    ]
    problems = request_problems(requests)
    assert [(p.message, p.location) for p in problems] == [
        ("a spoke cannot use itself as its hub", "site N_S")
    ]


def test_hubs_are_applied_before_sites_without_vpn_and_those_before_spokes() -> None:
    desired = {
        "N_S": {"mode": "spoke"},
        "N_0": {"mode": "none"},
        "N_H": {"mode": "hub"},
    }
    assert apply_order(desired) == ["N_H", "N_0", "N_S"]


def test_a_hub_listed_after_a_site_without_vpn_still_comes_first() -> None:
    assert apply_order({"N_0": {"mode": "none"}, "N_H": {"mode": "hub"}}) == ["N_H", "N_0"]


# --- comparing settings -------------------------------------------------------------------------


def test_comparable_includes_subnets_by_default() -> None:
    settings = {"mode": "hub", "subnets": [{"localSubnet": "10.0.0.0/24", "useVpn": True}]}
    assert comparable(settings) == {
        "mode": "hub",
        "hubs": [],
        "subnets": [("10.0.0.0/24", True)],
    }


def test_a_different_hub_is_a_change() -> None:
    current = {"mode": "spoke", "hubs": [{"hubId": "N_1", "useDefaultRoute": False}]}
    desired = {"mode": "spoke", "hubs": [{"hubId": "N_2", "useDefaultRoute": False}]}
    assert needs_change(current, desired) is True


def test_a_missing_default_route_flag_means_no_default_route() -> None:
    current = {"mode": "spoke", "hubs": [{"hubId": "N_1"}]}
    assert (
        needs_change(
            current, {"mode": "spoke", "hubs": [{"hubId": "N_1", "useDefaultRoute": False}]}
        )
        is False
    )
    assert (
        needs_change(
            current, {"mode": "spoke", "hubs": [{"hubId": "N_1", "useDefaultRoute": True}]}
        )
        is True
    )


def test_a_missing_use_vpn_flag_means_the_subnet_is_not_in_the_vpn() -> None:
    current = {"mode": "hub", "subnets": [{"localSubnet": "10.0.0.0/24"}]}
    off = {"mode": "hub", "subnets": [{"localSubnet": "10.0.0.0/24", "useVpn": False}]}
    on = {"mode": "hub", "subnets": [{"localSubnet": "10.0.0.0/24", "useVpn": True}]}
    assert needs_change(current, off) is False
    assert needs_change(current, on) is True

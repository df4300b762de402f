"""YAML loading: syntax errors by line and column, file types, and the dashboard view's shape."""

from __future__ import annotations

import pytest

from core.errors import Problem, ValidationFailed
from provisioning.sheet_io import dashboard_view, load_sheet, parse_yaml

from .sheets import EXAMPLE_ENV, EXAMPLES


def test_yaml_syntax_error_has_line_and_column():
    text = "format: netkeep-sheet/1\nkind: settings\nsite:\n  name: [本社\n  plan: utm\n"
    with pytest.raises(ValidationFailed) as failure:
        parse_yaml(text, "site.yaml")
    (problem,) = failure.value.problems
    assert problem.location.startswith("site.yaml, line ")
    assert ", column " in problem.location
    assert problem.message.startswith("YAML syntax error: ")


def test_yaml_tab_indent_error_location():
    with pytest.raises(ValidationFailed) as failure:
        parse_yaml("site:\n\tname: x\n", "s.yaml")
    assert failure.value.problems[0].location == "s.yaml, line 2, column 1"


def test_unknown_file_type(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text("x")
    with pytest.raises(ValidationFailed) as failure:
        load_sheet(path)
    assert failure.value.problems == [
        Problem(".csv is not a sheet; use .yaml, .yml or .xlsx", "sheet.csv")
    ]


def test_load_sheet_raises_with_every_problem(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "format: netkeep-sheet/1\nkind: settings\nsite: {name: x, plan: wireless}\n"
        "devices: [{serial: bad, model: MX67}]\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as failure:
        load_sheet(path)
    assert [str(p) for p in failure.value.problems] == [
        "devices[0].serial: serial bad is not in the Meraki form XXXX-XXXX-XXXX",
        "ssids: ssids: a wireless settings sheet needs at least one entry",
    ]


def test_dashboard_view_uses_api_names_and_values():
    sheet = load_sheet(EXAMPLES / "utm.yaml", environ=EXAMPLE_ENV)
    view = dashboard_view(sheet, secret_key=b"k")
    vlan30 = view["appliance"]["vlans"][30]
    assert vlan30["dhcpHandling"] == "Do not respond to DHCP requests"
    assert view["appliance"]["vlans"][10]["dnsNameservers"] == "upstream_dns"
    assert view["appliance"]["l3FirewallRules"]["rules"][1]["srcCidr"] == "Any"
    # the specification types an L7 rule's value as a string, categories included
    assert view["appliance"]["l7FirewallRules"]["rules"][0]["value"] == "meraki:layer7/category/9"
    assert view["appliance"]["security/intrusion"] == {
        "mode": "prevention",
        "idsRulesets": "balanced",
    }
    assert view["devices"]["Q2FY-AAAA-0002"]["managementInterface"]["wan1"]["staticIp"] == (
        "203.0.113.10"
    )
    assert "wireless" not in view


def test_dashboard_view_leaves_out_sections_a_change_request_omits():
    sheet = load_sheet(EXAMPLES / "change_request.yaml")
    view = dashboard_view(sheet, secret_key=b"k")
    assert set(view) == {"network", "appliance"}
    assert set(view["appliance"]) == {"vlans", "portForwardingRules"}

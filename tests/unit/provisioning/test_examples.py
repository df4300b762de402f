"""Every bundled example loads, and survives YAML → Excel → model and YAML → YAML unchanged."""

from __future__ import annotations

import pytest

from provisioning.excel import write_workbook
from provisioning.sheet_io import dump_yaml, load_sheet, parse_yaml
from provisioning.sheet_model import Plan, Sheet, SheetKind
from provisioning.validation import validate_sheet

from .sheets import EXAMPLE_ENV, EXAMPLES

NAMES = ["utm", "router", "wireless", "change_request"]


def _load(name: str) -> Sheet:
    return load_sheet(EXAMPLES / f"{name}.yaml", environ=EXAMPLE_ENV)


@pytest.mark.parametrize("name", NAMES)
def test_example_loads(name):
    sheet = _load(name)
    assert sheet.format == "netkeep-sheet/1"


def test_examples_cover_the_three_plans_and_both_kinds():
    plans = {_load(name).site.plan for name in NAMES}
    kinds = {_load(name).kind for name in NAMES}
    assert plans == set(Plan)
    assert kinds == set(SheetKind)


def test_example_serials_are_the_agreed_ones():
    serials = {name: [d.serial for d in _load(name).devices or []] for name in NAMES[:3]}
    assert serials == {
        "utm": ["Q2FY-AAAA-0002"],
        "router": ["Q2KY-BBBB-0001"],
        "wireless": ["Q3AJ-DDDD-0002", "Q3AJ-DDDD-0003", "Q3AC-EEEE-0001"],
    }


def test_wireless_example_takes_secrets_from_the_environment():
    sheet = _load("wireless")
    assert sheet.ssids is not None
    assert sheet.ssids[2].psk is not None
    assert sheet.ssids[2].psk.env == "AOBA_GUEST_PSK"
    assert sheet.ssids[2].psk.reveal() == EXAMPLE_ENV["AOBA_GUEST_PSK"]
    assert sheet.ssids[0].radius_servers[0].secret.reveal() == EXAMPLE_ENV["AOBA_RADIUS_SECRET"]


@pytest.mark.parametrize("name", NAMES)
def test_example_round_trips_through_excel(name, tmp_path):
    sheet = _load(name)
    path = write_workbook(sheet, tmp_path / f"{name}.xlsx")
    assert load_sheet(path, environ=EXAMPLE_ENV) == sheet


@pytest.mark.parametrize("name", NAMES)
def test_example_round_trips_through_yaml_dump(name):
    sheet = _load(name)
    raw, source = parse_yaml(dump_yaml(sheet))
    again, problems = validate_sheet(raw, source, environ=EXAMPLE_ENV)
    assert problems == []
    assert again == sheet


def test_change_request_example_names_only_what_changes():
    sheet = _load("change_request")
    assert sheet.request is not None
    assert sheet.request.id == "CR-2025-0107"
    assert sheet.vlans is not None and [v.id for v in sheet.vlans] == [20]
    assert sheet.devices is None
    assert sheet.l3_firewall_rules is None


def test_router_example_empty_l7_list_survives_excel(tmp_path):
    sheet = _load("router")
    assert sheet.l7_firewall_rules == []
    again = load_sheet(write_workbook(sheet, tmp_path / "r.xlsx"), environ=EXAMPLE_ENV)
    assert again.l7_firewall_rules == []

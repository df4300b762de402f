"""A sheet names the Meraki organization of its network (issue 21): `site.organizationId`.

Rules, from the issue: absent, the network is in the configured organization
(NETKEEP_MERAKI_ORG_ID); netkeep manages the configured organization and those of
NETKEEP_MONITOR_ORG_IDS, and a sheet naming any other is refused at validation, at its place
(the YAML key or the Excel cell), before any dashboard call. The Excel サイト Site tab carries
it as 組織ID / Organization ID.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.errors import ValidationFailed
from core.settings import Settings, managed_organizations
from dashboard.pacing import OrgRateLimiter
from dashboard.provisioning import dashboards_for
from provisioning.excel import write_template, write_workbook
from provisioning.sheet_io import load_sheet
from provisioning.sheet_model import Sheet, sheet_organization
from provisioning.validation import validate_sheet

from . import sheets

MANAGED = ["537758", "600001", "600002"]


def _settings(monitor: str = "", org: str = "537758") -> Settings:
    return Settings(  # type: ignore[call-arg]
        meraki_org_id=org, monitor_org_ids=monitor, _env_file=None
    )


def _valid(raw: dict, organizations: list[str] | None = None) -> Sheet:
    sheet, problems = validate_sheet(raw, environ={}, organizations=organizations)
    assert problems == [], problems
    assert sheet is not None
    return sheet


@pytest.mark.parametrize(
    ("configured", "monitor", "managed"),
    [
        ("537758", "", ["537758"]),
        ("537758", "600001,600002", ["537758", "600001", "600002"]),
        ("537758", "600001 537758 600001", ["537758", "600001"]),  # configured first, each once
        ("537758", " 600002 , ", ["537758", "600002"]),
    ],
)
def test_netkeep_manages_the_configured_organization_and_the_listed_ones(
    configured: str, monitor: str, managed: list[str]
) -> None:
    assert managed_organizations(_settings(monitor, configured)) == managed


def test_a_sheet_without_an_organization_goes_to_the_configured_one() -> None:
    sheet = _valid(sheets.utm(), MANAGED)
    assert sheet.site.organization_id is None
    assert sheet_organization(sheet, "537758") == "537758"


def test_a_sheet_names_its_organization_numbers_read_as_text() -> None:
    raw = sheets.router()
    raw["site"]["organizationId"] = 600001  # YAML reads an unquoted id as a number
    sheet = _valid(raw, MANAGED)
    assert sheet.site.organization_id == "600001"
    assert sheet_organization(sheet, "537758") == "600001"


def test_an_organization_netkeep_does_not_manage_is_refused_at_its_key() -> None:
    raw = sheets.utm()
    raw["site"]["organizationId"] = "999999"
    sheet, problems = validate_sheet(raw, environ={}, organizations=MANAGED)
    assert sheet is None
    assert [p.location for p in problems] == ["site.organizationId"]
    assert "999999" in problems[0].message and "manage" in problems[0].message


def test_it_is_refused_with_the_sheets_other_problems() -> None:
    raw = sheets.utm()
    raw["site"]["organizationId"] = "999999"
    raw["vlans"][0]["id"] = 5000
    _, problems = validate_sheet(raw, environ={}, organizations=MANAGED)
    assert {p.location for p in problems} == {"site.organizationId", "vlans[0].id"}


@pytest.mark.parametrize("bad", ["", "60 0001", "../537758", "1" * 41])
def test_an_organization_id_is_a_plain_token(bad: str) -> None:
    raw = sheets.utm()
    raw["site"]["organizationId"] = bad
    _, problems = validate_sheet(raw, environ={})
    assert [p.location for p in problems] == ["site.organizationId"]


def test_excel_carries_the_organization_both_ways(tmp_path: Path) -> None:
    raw = sheets.wireless()
    raw["site"]["organizationId"] = "600002"
    sheet = _valid(raw)
    path = write_workbook(sheet, tmp_path / "w.xlsx", reveal_secrets=True)
    ws = load_workbook(path)["サイト Site"]
    headers = {
        ws.cell(2, c).value: (ws.cell(1, c).value, ws.cell(3, c).value) for c in range(1, 20)
    }
    assert headers["Organization ID"] == ("組織ID", "600002")
    again = load_sheet(path, environ={}, organizations=MANAGED)
    assert again == sheet and again.site.organization_id == "600002"


def test_the_template_has_the_column_and_an_unmanaged_one_is_refused_at_its_cell(
    tmp_path: Path,
) -> None:
    template = load_workbook(write_template("router", tmp_path / "t.xlsx"))["サイト Site"]
    english = [template.cell(2, c).value for c in range(1, 20)]
    assert "Organization ID" in english
    column = english.index("Organization ID") + 1

    raw = sheets.router()
    raw["site"]["organizationId"] = "999999"
    path = write_workbook(_valid(raw), tmp_path / "r.xlsx")
    with pytest.raises(ValidationFailed) as refused:
        load_sheet(path, environ={}, organizations=MANAGED)
    letter = "ABCDEFGHIJKLMNOPQRS"[column - 1]
    assert [p.location for p in refused.value.problems] == [f"tab サイト Site, cell {letter}3"]


def test_adapters_one_per_organization_share_one_budget() -> None:
    settings = _settings("600001,600002")
    limiter = OrgRateLimiter(rate=5.0)
    built = dashboards_for(settings, ["600002", "537758", "600002"], limiter=limiter)
    assert list(built) == ["600002", "537758"]
    assert {org: d.organization_id for org, d in built.items()} == {
        "600002": "600002",
        "537758": "537758",
    }
    assert all(d.limiter is limiter for d in built.values())
    assert built["600002"].meter is not built["537758"].meter


def test_adapters_are_never_built_for_an_organization_netkeep_does_not_manage() -> None:
    with pytest.raises(ValidationFailed) as refused:
        dashboards_for(_settings("600001"), ["600001", "999999"])
    assert "999999" in str(refused.value) and "600001" not in refused.value.problems[0].message

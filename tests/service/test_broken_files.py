"""Files that are not what their name says: a located error, never a traceback, nothing written.

Rules: anything that is not a workbook or CSV (an empty .xlsx, a text file named .xlsx, text
that is not UTF-8) is refused with the file's name; an import with a header and no rows is an
error that writes nothing (no device, no audit row); two SSIDs may not share a name; a corrected
change-request sheet that fails validation leaves the stored sheet as it was.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, func, select

from changes import service as changes
from core.errors import ValidationFailed
from core.models import AuditEntry
from inventory.models import Device
from provisioning.sheet_io import load_sheet, read_sheet
from survey import floor_plan
from tests.service.helpers import HEADER, import_csv, write_csv
from tests.service.survey_builders import ACTOR, T0, build_survey
from tests.unit.changes.builders import ENV, as_bytes, build_contracts, change_raw
from tests.unit.provisioning.sheets import EXAMPLE_ENV, EXAMPLES

NOT_WORKBOOKS = [
    (b"", "the file is empty"),
    (b"serial,model\nQ2FY-AAAA-0001,MX67\n", "not an Excel workbook"),
    (b"PK\x03\x04 truncated zip", "not an Excel workbook"),
]


def count(session: Session, model: type) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


@pytest.mark.parametrize(("content", "why"), NOT_WORKBOOKS)
def test_an_inventory_file_named_xlsx_that_is_not_a_workbook_is_refused_by_name(
    session: Session, tmp_path: Path, content: bytes, why: str
) -> None:
    path = tmp_path / "devices.xlsx"
    path.write_bytes(content)
    for commit in (False, True):
        with pytest.raises(ValidationFailed) as refused:
            import_csv(session, path, commit=commit)
        [problem] = refused.value.problems
        assert problem.location == "devices.xlsx" and why in problem.message


def test_an_import_without_data_rows_is_an_error_that_writes_nothing(
    session: Session, tmp_path: Path
) -> None:
    devices, audits = count(session, Device), count(session, AuditEntry)
    path = write_csv(tmp_path, "\n,,,,,,,,,,,\n", name="empty-rows.csv")
    dry = import_csv(session, path, commit=False)
    assert [(p.location, p.message) for p in dry.problems] == [
        ("empty-rows.csv", "the file has no data rows under its header")
    ]
    with pytest.raises(ValidationFailed):
        import_csv(session, path)
    assert (count(session, Device), count(session, AuditEntry)) == (devices, audits)
    header_only = tmp_path / "header.csv"
    header_only.write_text(HEADER, encoding="utf-8")
    with pytest.raises(ValidationFailed):
        import_csv(session, header_only)
    assert (count(session, Device), count(session, AuditEntry)) == (devices, audits)


@pytest.mark.parametrize(("content", "why"), NOT_WORKBOOKS)
def test_a_sheet_named_xlsx_that_is_not_a_workbook_is_one_located_problem(
    tmp_path: Path, content: bytes, why: str
) -> None:
    path = tmp_path / "site.xlsx"
    path.write_bytes(content)
    with pytest.raises(ValidationFailed) as refused:
        read_sheet(path)
    [problem] = refused.value.problems
    assert problem.location == "site.xlsx" and why in problem.message


def test_a_yaml_sheet_that_is_not_utf8_text_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_bytes("site: {name: 東京}".encode("cp932"))
    with pytest.raises(ValidationFailed) as refused:
        read_sheet(path)
    [problem] = refused.value.problems
    assert problem.location == "site.yaml" and "not UTF-8" in problem.message


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


@pytest.mark.parametrize("content", [b"", xlsx_bytes(), b"\x00\x01\x02\xff\xfe"])
def test_a_survey_csv_that_is_no_csv_is_refused_and_stores_nothing(
    session: Session, tmp_path: Path, content: bytes
) -> None:
    survey = build_survey(session, tmp_path)
    with pytest.raises(ValidationFailed) as refused:
        floor_plan.import_points_csv(
            session=session,
            actor=ACTOR,
            survey_id=survey.id or 0,
            floor="2F",
            data=content,
            name="2f.csv",
            now=T0,
        )
    assert refused.value.problems
    assert all(p.location.startswith("2f.csv") for p in refused.value.problems)


def test_two_ssids_with_one_name_are_flagged(tmp_path: Path) -> None:
    raw = yaml.safe_load((EXAMPLES / "wireless.yaml").read_text("utf-8"))
    first = raw["ssids"][0]
    raw["ssids"].append({**first, "number": 9})
    path = tmp_path / "dup.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    with pytest.raises(ValidationFailed) as refused:
        load_sheet(path, environ=EXAMPLE_ENV)
    located = {(p.location, p.message) for p in refused.value.problems}
    index = len(raw["ssids"]) - 1
    assert (f"ssids[{index}].name", f"SSID name {first['name']} is already used by ssids[0]") in (
        located
    )


def test_a_failed_corrected_sheet_keeps_the_stored_one(session: Session) -> None:
    build_contracts(session)
    req = changes.submit_request(
        session=session,
        actor=ACTOR,
        filename="cr.yaml",
        content=as_bytes(change_raw()),
        notice_email="soumu@example.jp",
        now=T0,
        environ=ENV,
    )
    assert req.status == "validated"
    stored = (req.sheet_filename, req.sheet_original, req.sheet_yaml)
    req.status = "submitted"  # as after a contract fix: validation may run again
    broken = change_raw()
    broken["site"]["name"] = "どこにもない支店"
    again = changes.revalidate_request(
        session=session,
        actor=ACTOR,
        request_id=req.id or 0,
        now=T0,
        filename="cr-v2.yaml",
        content=as_bytes(broken),
        environ=ENV,
    )
    assert (again.sheet_filename, again.sheet_original, again.sheet_yaml) == stored
    assert [p["location"] for p in again.problems] == ["site.name"]
    event = changes.events_of(session=session, request_id=req.id or 0)[-1]
    assert (event.action, event.data["filename"], event.data["kept"]) == (
        "sheet_refused",
        "cr-v2.yaml",
        "cr.yaml",
    )

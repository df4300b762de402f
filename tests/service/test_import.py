from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import Session, func, select

from core.errors import ValidationFailed
from core.models import AuditEntry
from inventory import service
from inventory.models import Device, OwnershipEvent
from tests.service.helpers import ACTOR, import_csv, write_csv

GOOD = (
    "Q2FY-AAAA-1001,MX67,e0:55:3d:10:10:01,in_stock,,倉庫,,,,,2026-04-01,\n"
    "q2ky-bbbb-1001,mx68,E0-55-3D-20-10-01,,,倉庫,,,,,,spare\n"
)


def count(session: Session, model: type) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_dry_run_reports_and_writes_nothing(session: Session, tmp_path: Path) -> None:
    before = count(session, Device)
    report = import_csv(session, write_csv(tmp_path, GOOD), commit=False)
    assert report.created == ["Q2FY-AAAA-1001", "Q2KY-BBBB-1001"]
    assert report.problems == [] and not report.committed
    assert count(session, Device) == before


def test_commit_creates_devices_owner_and_audit(session: Session, tmp_path: Path) -> None:
    report = import_csv(session, write_csv(tmp_path, GOOD))
    assert report.committed
    device = service.get_device(session=session, serial="Q2KY-BBBB-1001")
    assert (device.model, device.mac, device.status, device.notes) == (
        "MX68",
        "e0:55:3d:20:10:01",
        "in_stock",
        "spare",
    )
    owner = service.current_owner(session=session, device=device)
    assert owner is not None and owner.kind.value == "provider"
    first = service.get_device(session=session, serial="Q2FY-AAAA-1001")
    event = service.ownership_history(session=session, device=first)[0]
    assert event.effective_at == datetime(2026, 3, 31, 15, 0, tzinfo=UTC)  # 2026-04-01 JST
    entries = session.exec(
        select(AuditEntry).where(
            AuditEntry.entity_id == "Q2KY-BBBB-1001", AuditEntry.action == "device.import"
        )
    ).all()
    assert (
        len(entries) == 1 and entries[0].actor == ACTOR.name and entries[0].after["model"] == "MX68"
    )


def test_second_import_is_idempotent_and_updates_changed_fields(
    session: Session, tmp_path: Path
) -> None:
    import_csv(session, write_csv(tmp_path, GOOD))
    events = count(session, OwnershipEvent)
    again = import_csv(session, write_csv(tmp_path, GOOD, name="again.csv"))
    assert (again.created, again.updated, again.unchanged) == ([], {}, 2)
    changed = GOOD.replace("倉庫,,,,,2026-04-01,", "大阪倉庫,,,,,2026-04-01,")
    third = import_csv(session, write_csv(tmp_path, changed, name="third.csv"))
    assert third.updated == {"Q2FY-AAAA-1001": {"site": "大阪倉庫"}}
    assert service.get_device(session=session, serial="Q2FY-AAAA-1001").site == "大阪倉庫"
    assert count(session, OwnershipEvent) == events


def test_every_problem_is_reported_with_row_and_column(session: Session, tmp_path: Path) -> None:
    body = (
        "Q2FY-AAAA-2001,MX67,,in_stock,,,,,,,,\n"  # row 2 ok
        "BAD-SERIAL,MX67,,,,,,,,,,\n"  # row 3 serial
        "Q2FY-AAAA-2002,MX999,,,,,,,,,,\n"  # row 4 model
        "Q2FY-AAAA-2001,MX67,,,,,,,,,,\n"  # row 5 duplicate
        "Q2FY-AAAA-2003,MX67,nomac,flying,,,C-NOPE,rent,,,someday,\n"  # row 6: five problems
        "Q3AJ-DDDD-2001,MR36,,,,,,leased,,,,\n"  # row 7 leased without company
    )
    before = count(session, Device)
    path = write_csv(tmp_path, body)
    with pytest.raises(ValidationFailed) as info:
        import_csv(session, path, commit=True)
    locations = [p.location for p in info.value.problems]
    assert locations == [
        "devices.csv row 3, column serial",
        "devices.csv row 4, column model",
        "devices.csv row 5, column serial",
        "devices.csv row 6, column mac",
        "devices.csv row 6, column status",
        "devices.csv row 6, column contract",
        "devices.csv row 6, column acquisition",
        "devices.csv row 6, column owner_since",
        "devices.csv row 7, column leasing_company",
    ]
    assert "appears twice (first at row 2)" in info.value.problems[2].message
    assert count(session, Device) == before  # all or nothing


def test_illegal_status_change_in_a_file_is_a_row_problem(session: Session, tmp_path: Path) -> None:
    import_csv(session, write_csv(tmp_path, "Q2FY-AAAA-3001,MX67,,in_stock,,,,,,,,\n"))
    report = import_csv(
        session, write_csv(tmp_path, "Q2FY-AAAA-3001,MX67,,in_rma,,,,,,,,\n", "b.csv"), commit=False
    )
    assert len(report.problems) == 1
    assert "cannot move from in_stock to in_rma" in report.problems[0].message
    assert report.problems[0].location == "b.csv row 2, column status"


def test_japanese_headers_with_english_row_and_shift_jis(session: Session, tmp_path: Path) -> None:
    text = (
        "シリアル番号,モデル,ステータス,設置場所,備考\n"
        "serial,model,status,site,notes\n"
        "Q2FY-AAAA-4001,MX67,在庫,名古屋倉庫,検品済み\n"
    )
    path = tmp_path / "sjis.csv"
    path.write_bytes(text.encode("cp932"))
    report = import_csv(session, path)
    assert report.created == ["Q2FY-AAAA-4001"]
    device = service.get_device(session=session, serial="Q2FY-AAAA-4001")
    assert (device.site, device.notes, device.status) == ("名古屋倉庫", "検品済み", "in_stock")


def test_unknown_column_is_named(session: Session, tmp_path: Path) -> None:
    path = write_csv(tmp_path, "", header="serial,model,colour\n")
    with pytest.raises(ValidationFailed) as info:
        import_csv(session, path, commit=False)
    assert str(info.value.problems[0]) == "devices.csv row 1, column 3: unknown column 'colour'"


def test_xlsx_import(session: Session, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["シリアル番号", "モデル", "ライセンス期限"])
    ws.append(["serial", "model", "license_expiry"])
    ws.append(["Q3AC-EEEE-5001", "MR46", datetime(2030, 3, 31)])
    ws.append(["Q3AC-EEEE-5002", "MR46", "2030/04/30"])
    path = tmp_path / "aps.xlsx"
    wb.save(path)
    report = import_csv(session, path)
    assert report.created == ["Q3AC-EEEE-5001", "Q3AC-EEEE-5002"]
    assert (
        str(service.get_device(session=session, serial="Q3AC-EEEE-5002").license_expiry)
        == "2030-04-30"
    )


def test_leased_row_belongs_to_the_leasing_company(session: Session, tmp_path: Path) -> None:
    import_csv(session, write_csv(tmp_path, "Q3AJ-DDDD-6001,MR36,,,,,,リース,東京リース,,,\n"))
    device = service.get_device(session=session, serial="Q3AJ-DDDD-6001")
    owner = service.current_owner(session=session, device=device)
    assert owner is not None and (owner.kind.value, owner.name) == ("leasing_company", "東京リース")
    assert ACTOR.name == service.ownership_history(session=session, device=device)[0].actor

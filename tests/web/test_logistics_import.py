"""The inventory pages: the list, and the import's dry run table, commit and refusals."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from sqlmodel import Session, func, select

from inventory.domain import DeviceStatus
from inventory.models import Device
from rma.domain import Disposition, DueFlag, RmaStatus
from rma.scan_rules import ScanAction, ScanWarning
from tests.service.helpers import HEADER
from web.i18n import load_catalogue

GOOD = (
    HEADER
    + "Q2FY-WEB0-0001,MX67,,in_stock,,倉庫A,,,,,,\nQ2FY-WEB0-0002,MR36,,in_stock,,倉庫A,,,,,,\n"
)
BAD = (
    HEADER
    + "Q2FY-WEB0-0003,MX67,,in_stock,,倉庫A,,,,,,\n"
    + "Q2FY-WEB0-0004,ZZ99,,in_stock,,倉庫A,,,,,,\n"
    + "Q2FY-WEB0-0005,MX67,,nowhere,,倉庫A,,,,,,\n"
)
TOKEN = re.compile(r'name="token" value="([0-9a-f]{64})"')
FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')


def devices(session: Session) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(Device)).one())


def upload(client: Any, body: str, name: str = "stock.csv") -> Any:
    return client.post(
        "/ui/logistics/inventory/import",
        files={"file": (name, body.encode(), "text/csv")},
        data={"csrf_token": client.csrf_token},
        csrf=False,
    )


def test_a_file_with_errors_shows_each_rows_problem_and_changes_nothing(
    session: Session, web_client: Callable[[str], Any]
) -> None:
    client = web_client("logistics")
    before = devices(session)
    report = upload(client, BAD)
    assert report.status_code == 422
    rows = re.findall(r'<tr data-row="(\d+)"><td>\d+</td><td>([^<]*)</td>', report.text)
    assert rows == [("3", "model"), ("4", "status")]
    assert "ZZ99" in report.text and "nowhere" in report.text
    assert TOKEN.search(report.text) is None  # no commit button
    # a commit forced for the checked file (its digest) is refused and imports no row
    token = hashlib.sha256(BAD.encode()).hexdigest()
    page = client.get("/ui/logistics/inventory/import")
    forced = client.post(
        "/ui/logistics/inventory/import/commit",
        data={"token": token, "form_key": "k" * 20},
    )
    assert forced.status_code == 422 and "ZZ99" in forced.text
    assert devices(session) == before
    assert page.status_code == 200


def test_a_clean_file_is_checked_then_committed_once(
    session: Session, web_client: Callable[[str], Any]
) -> None:
    client = web_client("logistics")
    before = devices(session)
    report = upload(client, GOOD)
    assert report.status_code == 200 and devices(session) == before  # the dry run wrote nothing
    token = TOKEN.search(report.text)
    key = FORM_KEY.search(report.text)
    assert token and key
    form = {"token": token.group(1), "form_key": key.group(1)}
    done = client.post("/ui/logistics/inventory/import/commit", data=form, follow_redirects=False)
    again = client.post("/ui/logistics/inventory/import/commit", data=form, follow_redirects=False)
    assert done.status_code == again.status_code == 303
    assert done.headers["location"] == "/ui/logistics/inventory?created=2&updated=0"
    assert devices(session) == before + 2
    listed = client.get("/ui/logistics/inventory", params={"site": "倉庫A"})
    assert "Q2FY-WEB0-0001" in listed.text and "Q2FY-WEB0-0002" in listed.text
    one = client.get("/ui/logistics/inventory", params={"serial": "q2fy-web0-0002"})
    assert "Q2FY-WEB0-0001" not in one.text and "Q2FY-WEB0-0002" in one.text


def test_an_upload_without_the_csrf_token_is_refused(
    session: Session, web_client: Callable[[str], Any]
) -> None:
    client = web_client("logistics")
    refused = client.post(
        "/ui/logistics/inventory/import",
        files={"file": ("stock.csv", GOOD.encode(), "text/csv")},
        csrf=False,
    )
    assert refused.status_code == 403
    assert web_client("noc").get("/ui/logistics/inventory/import").status_code == 403


def test_every_key_the_pages_build_from_a_value_is_in_both_languages() -> None:
    catalogue = load_catalogue()
    names = (
        [f"logistics.status_{s.value}" for s in RmaStatus]
        + [f"logistics.device_{s.value}" for s in DeviceStatus]
        + [f"logistics.warn_{w.value}" for w in ScanWarning]
        + [f"logistics.confirm_{a.value}" for a in ScanAction]
        + [f"logistics.disposition_{d.value}" for d in Disposition]
        + [f"logistics.flag_{f.value}" for f in DueFlag]
        + [
            f"logistics.reminder_{r}"
            for r in ("planned", "sent", "sent_late", "missed", "cancelled")
        ]
        + [f"logistics.done_{d}" for d in ("shipped", "received", "exception")]
    )
    missing = [n for n in names if n not in catalogue]
    assert missing == []


def test_an_excel_file_is_checked_like_a_csv(
    session: Session, web_client: Callable[[str], Any], tmp_path: Any
) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["シリアル番号", "モデル", "ステータス", "設置場所"])
    sheet.append(["Q2FY-XLS0-0001", "MX67", "在庫", "倉庫B"])
    sheet.append(["Q2FY-XLS0-0002", "MX99", "在庫", "倉庫B"])
    path = tmp_path / "在庫.xlsx"
    book.save(path)
    client = web_client("logistics")
    report = client.post(
        "/ui/logistics/inventory/import",
        files={"file": ("在庫.xlsx", path.read_bytes(), "application/octet-stream")},
        data={"csrf_token": client.csrf_token},
        csrf=False,
    )
    assert report.status_code == 422
    rows = re.findall(r'<tr data-row="(\d+)"><td>\d+</td><td>([^<]*)</td>', report.text)
    assert rows == [("3", "model")] and "MX99" in report.text


def test_the_pages_in_english(session: Session, web_client: Callable[[str], Any]) -> None:
    client = web_client("logistics")
    client.get("/ui/lang", params={"to": "en", "next": "/ui/logistics/"})
    board = client.get("/ui/logistics/")
    assert '<html lang="en">' in board.text and "RMA board" in board.text
    scan = client.get("/ui/logistics/scan", params={"mode": "receive", "serial": "Q2FY-NONE-0001"})
    assert "No RMA is waiting for Q2FY-NONE-0001" in scan.text

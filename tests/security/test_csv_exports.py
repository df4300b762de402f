"""Every CSV netkeep writes neutralises the five formula payloads (OWASP CSV injection).

The rule, stated on its own: a cell a spreadsheet would read as a formula — one beginning with
=, +, -, @, a tab or a CR — is written behind a single quote; a plain number stays a number.
Each export gets the payloads through the fields a customer or dashboard can fill.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from core.db import get_engine, session_scope
from core.settings import get_settings
from inventory.catalogue_defaults import seed_catalogue
from inventory.models import Device
from netkeep.cli import app
from rma.models import Rma
from tests.conftest import ADMIN, bearer
from tests.service.helpers import import_csv, write_csv
from vpn.models import VpnReport

PAYLOADS = (
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
SERIALS = [f"Q2FY-CSVX-{9001 + i}" for i in range(len(PAYLOADS))]
ROWS = "".join(f"{s},MX67,,in_stock,,倉庫,,,,,2026-04-01,\n" for s in SERIALS)


def parse(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def assert_no_live_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            if cell.startswith(TRIGGERS):
                assert PLAIN_NUMBER.fullmatch(cell), f"formula left live: {cell!r}"


def quoted_everywhere(rows: list[list[str]], payloads: tuple[str, ...] = PAYLOADS) -> None:
    cells = {cell for row in rows for cell in row}
    for payload in payloads:
        assert "'" + payload in cells, f"{payload!r} not written as text"
        assert payload not in cells


def devices_with_payloads(session: Session, tmp_path: Path) -> list[Device]:
    import_csv(session, write_csv(tmp_path, ROWS, name="csv-devices.csv"))
    devices = list(session.exec(select(Device).where(col(Device.serial).in_(SERIALS))))
    for device, payload in zip(sorted(devices, key=lambda d: d.serial), PAYLOADS, strict=True):
        device.customer = payload
        device.site = payload
        device.notes = payload
        device.leasing_company = payload
        session.add(device)
    session.commit()
    return devices


def test_devices_csv(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    devices_with_payloads(session, tmp_path)
    response = app_client.get("/api/v1/devices.csv", headers=bearer(tokens["viewer"]))
    assert response.status_code == 200
    rows = parse(response.text)
    assert_no_live_formula(rows)
    quoted_everywhere(rows)
    header = rows[0]
    by_serial = {row[header.index("serial")]: row for row in rows[1:]}
    for serial, payload in zip(SERIALS, PAYLOADS, strict=True):
        for column in ("customer", "site", "notes", "leasing_company"):
            assert by_serial[serial][header.index(column)] == "'" + payload


def rmas_with_payloads(session: Session, tmp_path: Path) -> None:
    devices = devices_with_payloads(session, tmp_path)
    for device, payload in zip(devices, PAYLOADS, strict=True):
        assert device.id is not None
        session.add(
            Rma(
                status="open",
                failed_device_id=device.id,
                failed_serial=device.serial,
                failed_model=device.model,
                customer=payload,
                symptom=payload,
                reporter=payload,
                reported_at=datetime(2026, 4, 1, tzinfo=UTC),
                swapped_by_name=payload,
                received_serial=payload[:40],
            )
        )
    session.commit()


def test_rma_export_csv(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    rmas_with_payloads(session, tmp_path)
    response = app_client.get("/api/v1/rmas/export.csv", headers=bearer(tokens["logistics"]))
    assert response.status_code == 200
    rows = parse(response.text)
    assert len(rows) >= 1 + len(PAYLOADS)
    assert_no_live_formula(rows)
    quoted_everywhere(rows)


def test_rma_list_csv_from_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETKEEP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        with session_scope(get_engine(get_settings().database_url)) as session:
            seed_catalogue(session=session, actor=ADMIN)
            session.flush()
            rmas_with_payloads(session, tmp_path)
        out = tmp_path / "rmas.csv"
        result = runner.invoke(app, ["rma", "list", "--csv", str(out)])
        assert result.exit_code == 0, result.output
        rows = parse(out.read_bytes().decode("utf-8"))
    finally:
        get_settings.cache_clear()
    assert len(rows) == 1 + len(PAYLOADS)
    assert_no_live_formula(rows)
    quoted_everywhere(rows)


def test_vpn_report_csv(app_client: TestClient, tokens: dict[str, str], session: Session) -> None:
    since = datetime(2026, 4, 1, tzinfo=UTC).isoformat()
    sites = [
        {
            "network_id": f"N_csv_{i}",
            "name": payload,
            "customer": payload,
            "serial": None,
            "device_status": "online",
            "mode": "hub",
            "public_ip": "203.0.113.10",
            "known_public_ip": None,
            "previous_public_ip": None,
            "wan_ip_changed": False,
            "peers": [{"network_id": "N_peer", "name": payload, "reachable": True, "since": since}],
        }
        for i, payload in enumerate(PAYLOADS)
    ]
    report = VpnReport(
        organization_id="537758",
        taken_at=datetime(2026, 4, 2, tzinfo=UTC),
        site_count=len(sites),
        sites=sites,
        actor="test",
    )
    session.add(report)
    session.commit()
    response = app_client.get(
        f"/api/v1/vpn/reports/{report.id}/report.csv", headers=bearer(tokens["noc"])
    )
    assert response.status_code == 200, response.text
    rows = parse(response.text)
    assert len(rows) == 1 + len(PAYLOADS)
    assert_no_live_formula(rows)
    quoted_everywhere(rows)


SOURCE_DIRS = (
    "api",
    "changes",
    "core",
    "inventory",
    "netkeep",
    "provisioning",
    "rma",
    "survey",
    "vpn",
    "netdevices",
    "sandbox",
)
RAW_WRITERS = re.compile(r"\bcsv\.(writer|DictWriter)\(")


def test_no_module_writes_csv_but_the_shared_writer() -> None:
    """A new export (survey points, SLA reports …) must go through core.csv_export too."""
    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(path.relative_to(root))
        for folder in SOURCE_DIRS
        if (root / folder).is_dir()
        for path in (root / folder).rglob("*.py")
        if RAW_WRITERS.search(path.read_text(encoding="utf-8"))
        and path != root / "core" / "csv_export.py"
    ]
    assert offenders == []

"""Small builders for service tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from core.audit import Actor
from inventory import importer
from inventory.importer import ImportReport

ACTOR = Actor(name="tester", role="admin", request_id="req-1")
T0 = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)

HEADER = (
    "serial,model,mac,status,customer,site,contract,acquisition,leasing_company,network_id,"
    "owner_since,notes\n"
)


def write_csv(tmp_path: Path, body: str, name: str = "devices.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def import_csv(
    session: Session, path: Path, *, commit: bool = True, now: datetime = T0
) -> ImportReport:
    report = importer.import_devices(
        session=session, actor=ACTOR, path=path, now=now, commit=commit
    )
    session.flush()
    return report

"""The prepared hot read returns exactly what the ORM does, on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from core.errors import NotFound
from inventory import service
from tests.service.helpers import ACTOR, import_csv, write_csv


def test_device_with_owner_matches_the_orm(session: Session, tmp_path: Path) -> None:
    import_csv(
        session, write_csv(tmp_path, "Q2FY-PREP-0001,MX67,e0:55:3d:00:00:01,,,本社,,,,N_1,,\n")
    )
    service.update_device(
        session=session, actor=ACTOR, serial="Q2FY-PREP-0001",
        changes={"license_expiry": date(2029, 3, 31)}, now=datetime(2026, 5, 1, tzinfo=UTC),
    )  # fmt: skip
    service.mark_verified(
        session=session,
        actor=ACTOR,
        serial="Q2FY-PREP-0001",
        now=datetime(2026, 5, 2, 3, tzinfo=UTC),
    )
    session.commit()
    orm = service.get_device(session=session, serial="Q2FY-PREP-0001")
    fast, owner = service.device_with_owner(
        connection=session.connection(), serial="q2fy-prep-0001"
    )
    assert fast.model_dump() == orm.model_dump()
    assert fast.verified_at == datetime(2026, 5, 2, 3, tzinfo=UTC) and fast.verified_at.tzinfo
    assert fast.license_expiry == date(2029, 3, 31) and fast.site == "本社"
    assert owner == service.current_owner(session=session, device=orm)
    with pytest.raises(NotFound, match="Q2FY-PREP-9999"):
        service.device_with_owner(connection=session.connection(), serial="Q2FY-PREP-9999")

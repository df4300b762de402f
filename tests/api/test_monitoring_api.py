"""/api/v1/outages and the one-step RMA from an outage (noc and admin; a viewer only reads)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from core.audit import SYSTEM
from monitoring.service import open_outage
from rma.models import Rma
from tests.conftest import bearer
from tests.service.rma_builders import FAILED, build_world

STARTED = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def an_outage(session: Session) -> int:
    outage = open_outage(
        session=session,
        serial=FAILED,
        organization_id="537758",
        network_id="N_demo_tokyo",
        product_type="appliance",
        status="offline",
        started_at=STARTED,
        source="poll",
        actor=SYSTEM,
        now=datetime(2026, 12, 7, 1, 2, tzinfo=UTC),
    )
    session.commit()
    assert outage.id is not None
    return outage.id


def test_an_rma_opens_from_an_outage_once(
    app_client: TestClient,
    session: Session,
    tokens: dict[str, str],
    tmp_path: Path,
    sandbox: object,
) -> None:
    build_world(session, tmp_path)
    outage_id = an_outage(session)
    listed = app_client.get("/api/v1/outages?open_only=true", headers=bearer(tokens["viewer"]))
    assert listed.status_code == 200
    assert [(o["id"], o["serial"], o["site"]) for o in listed.json()["items"]] == [
        (outage_id, FAILED, "本社")
    ]
    refused = app_client.post(
        f"/api/v1/outages/{outage_id}/rma", json={}, headers=bearer(tokens["viewer"])
    )
    assert refused.status_code == 403
    opened = app_client.post(
        f"/api/v1/outages/{outage_id}/rma",
        json={"reporter": "NOC 田中"},
        headers=bearer(tokens["noc"]),
    )
    assert opened.status_code == 201, opened.text
    number = opened.json()["rma_number"]
    assert number.startswith("RMA-")
    rma = session.exec(select(Rma).where(Rma.failed_serial == FAILED)).one()
    assert rma.number == number and rma.reporter == "NOC 田中"
    assert f"outage {outage_id}" in rma.symptom
    assert rma.reported_at == datetime(2026, 12, 7, 1, 2, tzinfo=UTC)  # when monitoring learned
    again = app_client.post(f"/api/v1/outages/{outage_id}/rma", headers=bearer(tokens["noc"]))
    assert (again.status_code, again.json()["error"]) == (409, "conflict")
    missing = app_client.post("/api/v1/outages/999999/rma", json={}, headers=bearer(tokens["noc"]))
    assert missing.status_code == 404

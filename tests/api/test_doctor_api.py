"""GET /api/v1/doctor: admin and NOC read the violations; other roles are refused."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session

from inventory import service as inventory
from inventory.domain import DeviceStatus
from tests.conftest import bearer
from tests.service.helpers import ACTOR, T0
from tests.service.rma_builders import FAILED, SPARE, build_world

URL = "/api/v1/doctor?dashboard_checks=false"


def test_doctor_reports_each_violation_with_its_repair(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    session.commit()
    clean = app_client.get(URL, headers=bearer(tokens["noc"]))
    assert clean.status_code == 200, clean.text
    assert clean.json() == {
        "clean": True,
        "dashboard_checked": False,
        "dashboard_error": None,
        "violations": [],
    }
    inventory.change_status(
        session=session, actor=ACTOR, serial=FAILED, target=DeviceStatus.FAILED, now=T0
    )
    session.commit()
    body = app_client.get(URL, headers=bearer(tokens["admin"])).json()
    assert body["clean"] is False
    assert [(v["invariant"], v["subject"]) for v in body["violations"]] == [("unit_rma", FAILED)]
    assert body["violations"][0]["repair"].startswith(f"netkeep inventory status {FAILED} deployed")


def test_doctor_is_for_admin_and_noc_only(app_client: TestClient, tokens: dict[str, str]) -> None:
    for role, status in (
        ("admin", 200),
        ("noc", 200),
        ("field", 403),
        ("logistics", 403),
        ("viewer", 403),
    ):
        assert app_client.get(URL, headers=bearer(tokens[role])).status_code == status, role
    assert app_client.get(URL).status_code == 401


def test_release_hold_clears_a_stale_job_hold_for_an_admin_only(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    spare = inventory.get_device(session=session, serial=SPARE)
    spare.held_by_job = 424242  # a job that does not exist: a stale hold
    session.add(spare)
    session.commit()
    body = app_client.get(URL, headers=bearer(tokens["noc"])).json()
    assert [(v["invariant"], v["subject"]) for v in body["violations"]] == [("unit_holds", SPARE)]
    assert body["violations"][0]["repair"] == (
        f'netkeep inventory release-hold {SPARE} --reason "..."'
    )
    url = f"/api/v1/devices/{SPARE}/release-hold"
    reason = {"reason": "job 424242 never existed here"}
    for role in ("noc", "field", "logistics", "viewer"):
        assert app_client.post(url, json=reason, headers=bearer(tokens[role])).status_code == 403
    assert (
        app_client.post(url, json={"reason": ""}, headers=bearer(tokens["admin"])).status_code
        == 422
    )
    done = app_client.post(url, json=reason, headers=bearer(tokens["admin"]))
    assert done.status_code == 200, done.text
    assert done.json()["held_by_job"] is None
    assert app_client.get(URL, headers=bearer(tokens["noc"])).json()["clean"] is True
    again = app_client.post(url, json=reason, headers=bearer(tokens["admin"]))
    assert again.status_code == 409 and "held by nothing" in again.text

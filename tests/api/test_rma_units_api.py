"""Over HTTP: a held unit refuses hand moves (409 naming the RMA), release and re-reserve, the
serial mismatch kept in the RMA's answer after the right unit arrived."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.conftest import bearer
from tests.service.rma_builders import FAILED, SPARE, build_world

API = "/api/v1/rmas"


def test_hand_moves_refused_release_re_reserve_and_the_mismatch_kept(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    session.commit()  # a refused request rolls back to here
    noc, logi, viewer = (bearer(tokens[r]) for r in ("noc", "logistics", "viewer"))
    opened = app_client.post(
        API, json={"serial": FAILED, "symptom": "電源断", "reporter": "総務 山田"}, headers=noc
    )
    rma_id, number = opened.json()["id"], opened.json()["number"]
    app_client.post(f"{API}/{rma_id}/decide", json={"replace": True}, headers=noc)
    reserved = app_client.post(f"{API}/{rma_id}/reserve", json={}, headers=logi)
    assert reserved.json()["replacement_serial"] == SPARE
    session.commit()

    moved = app_client.post(
        f"/api/v1/devices/{SPARE}/status", json={"status": "in_stock"}, headers=logi
    )
    assert moved.status_code == 409, moved.text
    assert number in moved.text and f"netkeep rma release {rma_id}" in moved.text
    shown = app_client.get(f"/api/v1/devices/{SPARE}", headers=viewer).json()
    assert (shown["status"], shown["held_by"]) == ("reserved", number)

    assert (
        app_client.post(
            f"{API}/{rma_id}/release", json={"reason": "外箱破損"}, headers=viewer
        ).status_code
        == 403
    )
    released = app_client.post(f"{API}/{rma_id}/release", json={"reason": "外箱破損"}, headers=logi)
    assert released.status_code == 200, released.text
    assert (released.json()["status"], released.json()["replacement_serial"]) == (
        "replacement_needed",
        None,
    )
    assert app_client.get(f"/api/v1/devices/{SPARE}", headers=viewer).json()["status"] == (
        "in_stock"
    )
    again = app_client.post(f"{API}/{rma_id}/reserve", json={"serial": SPARE}, headers=logi)
    assert again.json()["status"] == "replacement_reserved"
    shipped = app_client.post(
        f"{API}/{rma_id}/ship", json={"courier": "ヤマト運輸", "tracking_number": "1"}, headers=logi
    )
    assert shipped.status_code == 200, shipped.text
    assert app_client.get(f"/api/v1/devices/{SPARE}", headers=viewer).json()["status"] == (
        "in_transit"
    )
    session.commit()

    early = app_client.post(f"{API}/{rma_id}/receive", json={"serial": FAILED}, headers=logi)
    assert early.status_code == 409 and f"netkeep rma swap {rma_id}" in early.text

    wrong = app_client.post(
        f"{API}/{rma_id}/receive", json={"serial": "Q2FY-ZZZZ-0099"}, headers=logi
    )
    assert wrong.json()["status"] == "exception"
    swapped = app_client.post(
        f"{API}/{rma_id}/swap", json={"update_dashboard": False}, headers=logi
    )
    assert swapped.status_code == 200, swapped.text
    assert swapped.json()["status"] == "exception" and swapped.json()["swapped_at"] is not None
    right = app_client.post(f"{API}/{rma_id}/receive", json={"serial": FAILED}, headers=logi)
    assert right.json()["status"] == "closed", right.text
    shown = app_client.get(f"{API}/{rma_id}", headers=viewer).json()
    [mismatch] = shown["mismatches"]
    assert (mismatch["expected_serial"], mismatch["received_serial"]) == (FAILED, "Q2FY-ZZZZ-0099")
    assert mismatch["received_by"] == "t-logistics"
    assert {r["outcome"] for r in shown["reminders"]} == {"cancelled"}

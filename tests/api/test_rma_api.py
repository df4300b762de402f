"""The RMA API: the flow over HTTP, the roles, the views, the CSV and the notice PDF."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

import pypdf
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from core.timeutil import TOKYO
from rma.models import DamageChargeRecord
from tests.conftest import bearer
from tests.service.rma_builders import FAILED, SPARE, build_world

API = "/api/v1/rmas"
# Long ago enough that the return period has ended whenever the suite runs.
SHIPPED_AT = "2025-01-15T10:00:00+09:00"


def _open_to_swapped(client: TestClient, tokens: dict[str, str]) -> int:
    noc, logi = bearer(tokens["noc"]), bearer(tokens["logistics"])
    opened = client.post(
        API,
        json={"serial": FAILED, "symptom": "電源断", "reporter": "総務 山田"},
        headers=noc,
    )
    assert opened.status_code == 201, opened.text
    rma_id = int(opened.json()["id"])
    assert opened.json()["status"] == "open"
    decided = client.post(f"{API}/{rma_id}/decide", json={"replace": True}, headers=noc)
    assert decided.json()["status"] == "replacement_needed"
    reserved = client.post(f"{API}/{rma_id}/reserve", json={}, headers=logi)
    assert reserved.json()["replacement_serial"] == SPARE
    shipped = client.post(
        f"{API}/{rma_id}/ship",
        json={"courier": "ヤマト運輸", "tracking_number": "1", "shipped_at": SHIPPED_AT},
        headers=logi,
    )
    body = shipped.json()
    assert (body["status"], body["due_date"]) == ("shipped", "2025-02-15")
    # Feb 15 2025 is a Saturday: a business day for the provider, no shift
    assert [r["remind_on"] for r in body["reminders"]] == ["2025-02-08", "2025-02-12", "2025-02-14"]
    swapped = client.post(f"{API}/{rma_id}/swap", json={"update_dashboard": False}, headers=logi)
    assert swapped.json()["status"] == "swapped", swapped.text
    return rma_id


def test_flow_sweep_notice_and_waive(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma_id = _open_to_swapped(app_client, tokens)
    viewer, logi, admin = (bearer(tokens[r]) for r in ("viewer", "logistics", "admin"))

    overdue = app_client.get(f"{API}/views/overdue", headers=viewer).json()["items"]
    assert [r["id"] for r in overdue] == [rma_id]

    swept = app_client.post(f"{API}/sweep", headers=logi).json()
    assert swept["total_yen"] == 140_800 and len(swept["charged"]) == 1
    assert app_client.post(f"{API}/sweep", headers=logi).json()["charged"] == []
    assert len(session.exec(select(DamageChargeRecord)).all()) == 1

    rma = app_client.get(f"{API}/{rma_id}", headers=viewer).json()
    assert rma["status"] == "charged"
    assert (rma["charge"]["net_yen"], rma["charge"]["tax_yen"]) == (128_000, 12_800)
    issued = datetime.fromisoformat(rma["charge"]["issued_at"]).astimezone(TOKYO)
    # the export shows the money and Tokyo time: shipped 2025-01-15 10:00 JST, as given
    exported = app_client.get(f"{API}/export.csv", headers=viewer)
    header, row = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    line = dict(zip(header, row, strict=True))
    assert line["number"] == rma["number"] and line["status"] == "charged"
    assert line["shipped_at"] == "2025-01-15T10:00:00+09:00"
    assert line["due_date"] == "2025-02-15"
    assert (line["charge_net_yen"], line["charge_tax_yen"], line["charge_total_yen"]) == (
        "128000",
        "12800",
        "140800",
    )
    assert line["charge_issued_at"].endswith("+09:00")
    assert datetime.fromisoformat(line["charge_issued_at"]) == issued.replace(microsecond=0)
    month = app_client.get(
        f"{API}/views/charges-this-month", params={"month": f"{issued:%Y-%m}"}, headers=viewer
    ).json()["items"]
    assert [c["charge"]["total_yen"] for c in month] == [140_800]
    before = (issued.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    earlier = app_client.get(
        f"{API}/views/charges-this-month", params={"month": before}, headers=viewer
    )
    assert earlier.json()["items"] == []
    bad = app_client.get(f"{API}/views/charges-this-month?month=2026-13", headers=viewer)
    assert bad.status_code == 422
    states = app_client.get(f"{API}/views/open-by-state", headers=viewer).json()
    assert states == {"charged": 1}

    pdf = app_client.get(f"{API}/{rma_id}/notice.pdf", headers=viewer)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    for expected in (
        "機器損害金のご請求",
        "株式会社さくら商事",
        "C-RMA-UTM",
        FAILED,
        "MX67",
        "2025年1月15日",
        "2025年2月15日",
        "¥128,000",
        "¥12,800",
        "¥140,800",
        "別紙1 II.(3)4",
    ):
        assert expected in text, expected

    for role in ("logistics", "noc", "viewer", "field"):
        refused = app_client.post(
            f"{API}/{rma_id}/waive", json={"reason": "x"}, headers=bearer(tokens[role])
        )
        assert refused.status_code == 403, role
        refused = app_client.post(
            f"{API}/{rma_id}/extend",
            json={"due_date": "2030-01-01", "reason": "x"},
            headers=bearer(tokens[role]),
        )
        assert refused.status_code == 403, role
    # a charged RMA cannot be extended, even by an admin
    late = app_client.post(
        f"{API}/{rma_id}/extend", json={"due_date": "2030-01-01", "reason": "x"}, headers=admin
    )
    assert late.status_code == 409
    waived = app_client.post(f"{API}/{rma_id}/waive", json={"reason": "得意先"}, headers=admin)
    assert waived.status_code == 200 and waived.json()["status"] == "waived"
    assert waived.json()["charge"]["credit_reason"] == "waived: 得意先"


def test_an_extension_past_the_due_date_is_refused_over_the_api(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma_id = _open_to_swapped(app_client, tokens)
    # Shipped in May 2026, due 2026-06-12: today the damage charge is owed, sweep or no sweep.
    extended = app_client.post(
        f"{API}/{rma_id}/extend",
        json={"due_date": "2099-03-31", "reason": "顧客都合"},
        headers=bearer(tokens["admin"]),
    )
    assert extended.status_code == 409, extended.text
    assert "waive it rather than extend" in extended.json()["message"]
    swept = app_client.post(f"{API}/sweep", headers=bearer(tokens["admin"])).json()
    assert len(swept["charged"]) == 1  # the refused extension left no charge of its own
    again = app_client.post(
        f"{API}/{rma_id}/extend",
        json={"due_date": "2099-03-31", "reason": "顧客都合"},
        headers=bearer(tokens["admin"]),
    )
    assert again.status_code == 409


def test_roles_and_illegal_moves(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    report = {"serial": FAILED, "symptom": "x", "reporter": "y"}
    for role in ("viewer", "logistics", "field"):
        assert app_client.post(API, json=report, headers=bearer(tokens[role])).status_code == 403
    assert app_client.post(API, json=report).status_code == 401
    opened = app_client.post(API, json=report, headers=bearer(tokens["noc"])).json()
    rma_id = opened["id"]
    noc = bearer(tokens["noc"])
    assert app_client.post(f"{API}/{rma_id}/reserve", json={}, headers=noc).status_code == 403
    assert (
        app_client.post(
            f"{API}/{rma_id}/decide", json={"replace": True}, headers=bearer(tokens["logistics"])
        ).status_code
        == 403
    )
    illegal = app_client.post(
        f"{API}/{rma_id}/ship",
        json={"courier": "c", "tracking_number": "t"},
        headers=bearer(tokens["logistics"]),
    )
    assert illegal.status_code == 409
    assert illegal.json()["details"]["allowed"] == ["replacement_needed", "resolved_remotely"]
    assert app_client.get(f"{API}/999999", headers=bearer(tokens["viewer"])).status_code == 404
    listed = app_client.get(API, params={"status": "open"}, headers=bearer(tokens["viewer"]))
    assert [r["id"] for r in listed.json()["items"]] == [rma_id]
    assert app_client.get(f"{API}/{rma_id}/notice.pdf", headers=noc).status_code == 409


def test_csv_export_and_receive_mismatch(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma_id = _open_to_swapped(app_client, tokens)
    logi = bearer(tokens["logistics"])
    picked = app_client.post(
        f"{API}/{rma_id}/pickup",
        json={"pickup_date": "2025-01-20", "courier": "ヤマト運輸"},
        headers=logi,
    )
    assert picked.json()["status"] == "pickup_requested"
    wrong = app_client.post(
        f"{API}/{rma_id}/receive", json={"serial": "Q2FY-ZZZZ-0099"}, headers=logi
    ).json()
    assert (wrong["status"], wrong["mismatch_serial"]) == ("exception", "Q2FY-ZZZZ-0099")
    exported = app_client.get(f"{API}/export.csv", headers=bearer(tokens["viewer"]))
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["number", "status", "customer"]
    assert [r[1] for r in rows[1:]] == ["exception"]
    right = app_client.post(
        f"{API}/{rma_id}/receive",
        json={"serial": FAILED, "disposition": "refurbish"},
        headers=logi,
    ).json()
    assert (right["status"], right["disposition"]) == ("closed", "refurbish")

"""/api/v1/incidents and /api/v1/sla over HTTP: the flow, the roles, the CSV and the PDF."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pypdf
from fastapi.testclient import TestClient
from sqlmodel import Session

from core.audit import history
from core.timeutil import TOKYO
from inventory.contracts import create_contract
from inventory.domain import Plan
from tests.conftest import bearer
from tests.service.helpers import ACTOR

INC = "/api/v1/incidents"
SLA = "/api/v1/sla"


def _contract(session: Session, number: str = "API-1") -> str:
    create_contract(
        session=session, actor=ACTOR, number=number, customer="株式会社API", plan=Plan.UTM
    )
    session.flush()
    return number


def test_incident_flow_limit_and_sweep(
    app_client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    contract = _contract(session)
    noc, viewer, field = (bearer(tokens[r]) for r in ("noc", "viewer", "field"))
    month_start = datetime.now(TOKYO).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    contact = {
        "contract": contract,
        "channel": "mail",
        "reporter": "山田",
        "received_at": month_start.isoformat(),
        "questions": [
            {"text": "VPN が切れる", "kind": "fault"},
            {"text": "SSID の追加方法"},
        ],
    }
    assert app_client.post(INC, json=contact, headers=field).status_code == 403
    assert app_client.post(INC, json=contact, headers=viewer).status_code == 403
    made = app_client.post(INC, json=contact, headers=noc)
    assert made.status_code == 201, made.text
    assert [(i["kind"], i["status"]) for i in made.json()["items"]] == [
        ("fault", "open"),
        ("question", "open"),
    ]
    faults = {
        **contact,
        "questions": [{"text": "障害", "kind": "fault"}, {"text": "障害2", "kind": "fault"}],
    }
    assert app_client.post(INC, json=faults, headers=noc).status_code == 201
    fourth = {**contact, "questions": [{"text": "4件目の障害", "kind": "fault"}]}
    refused = app_client.post(INC, json=fourth, headers=noc)
    assert refused.status_code == 422
    body = refused.json()
    assert body["problems"][0]["location"].startswith(f"contract {contract} / ")
    assert "fault response 4" in body["problems"][0]["message"]
    accepted = app_client.post(INC, json={**fourth, "confirm_over_limit": True}, headers=noc)
    assert accepted.status_code == 201 and accepted.json()["items"][0]["over_limit"] is True

    first = made.json()["items"][0]["id"]
    # Answered before it was received: refused with its location.
    too_early = (month_start - timedelta(minutes=1)).isoformat()
    early = app_client.post(
        f"{INC}/{first}/answer", json={"answer": "再起動", "answered_at": too_early}, headers=noc
    )
    assert early.status_code == 422 and early.json()["problems"][0]["location"] == "answered_at"
    answered = app_client.post(
        f"{INC}/{first}/answer", json={"answer": "再起動で復旧しました"}, headers=noc
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "answered" and answered.json()["auto_close_at"]
    assert app_client.post(f"{INC}/sweep", headers=noc).json() == {"closed": []}
    closed = app_client.post(f"{INC}/{first}/close", json={"reason": "consent"}, headers=noc)
    assert closed.json()["status"] == "closed"
    again = app_client.post(f"{INC}/{first}/close", json={"reason": "solved"}, headers=noc)
    assert again.status_code == 409 and again.json()["error"] == "invalid_transition"

    month = month_start.strftime("%Y-%m")
    listed = app_client.get(
        INC, params={"contract": contract, "month": month}, headers=viewer
    ).json()
    assert len(listed["items"]) == 5
    counts_page = app_client.get(f"{INC}/counts", params={"month": month}, headers=viewer).json()
    assert counts_page["items"] == [
        {
            "contract": contract,
            "month": month,
            "incidents": 5,
            "fault_responses": 4,
            "over_limit": 1,
            "after_hours_total_yen": 0,
        }
    ]
    for bad in ("2026-13", "0000-01", "9999-12", "1899-12"):
        for path in (f"{INC}/counts", INC, f"{SLA}/credits"):
            got = app_client.get(path, params={"month": bad}, headers=viewer)
            assert got.status_code == 422, (path, bad, got.text)
    assert app_client.get(f"{INC}/999999", headers=viewer).status_code == 404
    by_number = app_client.get(f"{INC}/INC-{first:06d}", headers=viewer).json()
    assert (by_number["id"], by_number["status"]) == (first, "closed")
    assert app_client.get(f"{INC}/RMA-{first:06d}", headers=viewer).status_code == 422
    assert listed["total"] == 5 and (listed["limit"], listed["offset"]) == (100, 0)
    assert counts_page["total"] == 1
    assert [
        e.action
        for e in history(session=session, entity_type="incident", entity_id=f"INC-{first:06d}")
    ] == [
        "incident.open",
        "incident.answer",
        "incident.close",
    ]


def test_after_hours_over_http(
    app_client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    contract = _contract(session)
    noc = bearer(tokens["noc"])
    made = app_client.post(
        INC,
        json={
            "contract": contract,
            "channel": "phone",
            "reporter": "山田",
            "questions": [{"text": "設定を戻したい"}],
        },
        headers=noc,
    )
    iid = made.json()["items"][0]["id"]
    # 2026-05-10 is a Sunday: the whole day is outside the desk's hours.
    billed = app_client.post(
        f"{INC}/{iid}/after-hours",
        json={"work_started_at": "2026-05-10T10:00:00+09:00", "minutes": 31, "cause": "customer"},
        headers=noc,
    )
    assert billed.status_code == 200, billed.text
    assert (billed.json()["after_hours_net_yen"], billed.json()["after_hours_total_yen"]) == (
        6_000,
        6_600,
    )
    inside = app_client.post(
        f"{INC}/{iid}/after-hours",
        json={"work_started_at": "2026-05-11T10:00:00+09:00", "minutes": 30, "cause": "customer"},
        headers=noc,
    )
    assert (
        inside.status_code == 422 and inside.json()["problems"][0]["location"] == "work_started_at"
    )


def test_sla_policy_outages_and_credit_report(
    app_client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    contract = _contract(session, "API-SLA")
    admin, noc, viewer = (bearer(tokens[r]) for r in ("admin", "noc", "viewer"))
    policy = {"monthly_fee_yen": 62_000, "basis": "calendar_days"}
    assert app_client.put(f"{SLA}/policies/{contract}", json=policy, headers=noc).status_code == 403
    set_ = app_client.put(f"{SLA}/policies/{contract}", json=policy, headers=admin)
    assert set_.status_code == 200 and set_.json() == {"contract": contract, **policy}
    assert app_client.put(f"{SLA}/policies/NOPE", json=policy, headers=admin).status_code == 404
    assert (
        app_client.put(
            f"{SLA}/policies/{contract}", json={"monthly_fee_yen": -1}, headers=admin
        ).status_code
        == 422
    )
    down = {
        "contract": contract,
        "started_at": "2026-10-30T12:00:00+09:00",
        "ended_at": "2026-11-02T13:00:00+09:00",
    }
    assert app_client.post(f"{SLA}/outages", json=down, headers=viewer).status_code == 403
    made = app_client.post(f"{SLA}/outages", json=down, headers=noc)
    assert made.status_code == 201, made.text
    ongoing = app_client.post(
        f"{SLA}/outages",
        json={"contract": contract, "started_at": "2026-11-28T09:00:00+09:00"},
        headers=noc,
    ).json()
    ended = app_client.post(
        f"{SLA}/outages/{ongoing['id']}/end",
        json={"ended_at": "2026-11-29T09:00:00+09:00"},
        headers=noc,
    )
    assert ended.status_code == 200 and ended.json()["contract"] == contract

    report = app_client.get(f"{SLA}/credits", params={"month": "2026-11"}, headers=viewer)
    assert report.status_code == 200, report.text
    body = report.json()
    # One day starting Nov 1 of the first outage and the whole day of the second: 62,000 ÷ 30 each.
    assert [(r["full_days"], r["credit_yen"]) for r in body["rows"]] == [(1, 2_066), (1, 2_066)]
    assert body["totals"] == [
        {"contract": contract, "customer": "株式会社API", "credit_yen": 4_132, "tax_yen": 413}
    ]
    assert (
        app_client.get(f"{SLA}/credits", params={"month": "2026-1"}, headers=viewer).status_code
        == 422
    )
    csv_resp = app_client.get(f"{SLA}/credits.csv", params={"month": "2026-10"}, headers=viewer)
    assert csv_resp.headers["content-type"].startswith("text/csv")
    rows = csv_resp.text.lstrip("\ufeff").splitlines()
    assert len(rows) == 2 and rows[1].endswith(",2,0,4000,400")
    pdf = app_client.get(f"{SLA}/credits.pdf", params={"month": "2026-11"}, headers=viewer)
    assert pdf.headers["content-type"] == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "SLA減額明細（2026年11月分）" in text and "¥4,132" in text

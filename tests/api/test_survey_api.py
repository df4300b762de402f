"""The survey API: recording over HTTP, uploads, roles, issue/approve, downloads, the sheet."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import yaml
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session, func, select

from core.timeutil import TOKYO, utcnow
from survey.models import SurveyPoint
from tests.conftest import bearer
from tests.service.survey_builders import INSTALLED, SERIAL_1, png_bytes, stock

API = "/api/v1/surveys"
TODAY = utcnow().astimezone(TOKYO).date().isoformat()


def _survey(client: TestClient, headers: dict[str, str]) -> int:
    created = client.post(
        API,
        json={
            "customer": "株式会社みなと",
            "site": "みなと本社",
            "surveyor": "田中",
            "survey_date": "2026-11-02",
            "address": "東京都港区芝公園4-2-8",
            "gateway_model": "mx68",
            "switch_model": "MS120-8",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_record_issue_approve_and_download(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    app_client.app.state.settings.survey_dir = tmp_path  # type: ignore[attr-defined]
    stock(session, SERIAL_1, *INSTALLED)
    session.commit()
    field, noc, viewer, admin = (bearer(tokens[r]) for r in ("field", "noc", "viewer", "admin"))
    sid = _survey(app_client, field)
    url = f"{API}/{sid}"
    assert (
        app_client.post(
            f"{url}/floors", json={"name": "1F", "width_m": 30, "height_m": 20}, headers=field
        ).status_code
        == 201
    )

    layout = app_client.put(
        f"{url}/floors/1F/layout",
        files={"file": ("plan.png", png_bytes(), "image/png")},
        headers=field,
    )
    assert layout.status_code == 200, layout.text
    assert layout.json()["layout_width_px"] == 60
    bad = app_client.put(
        f"{url}/floors/1F/layout",
        files={"file": ("plan.png", b"GIF89a-nope", "image/png")},
        headers=field,
    )
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["location"] == "plan.png"

    area = app_client.post(
        f"{url}/floors/1F/exclusions",
        json={
            "reason": "ladder",
            "x_m": 25,
            "y_m": 0,
            "width_m": 5,
            "height_m": 5,
            "note": "吹き抜け",
        },
        headers=field,
    )
    assert area.status_code == 201, area.text
    points = app_client.post(
        f"{url}/floors/1F/points",
        json={"points": [{"x_m": 5, "y_m": 5, "band": "5", "channel": 36, "rssi_dbm": -52}]},
        headers=field,
    )
    assert points.json()["count"] == 1
    csv_text = "x,y,band,channel,rssi,memo\n1,1,2.4,1,-60,a\n2,2,5,40,-70,b\n"
    imported = app_client.post(
        f"{url}/floors/1F/points.csv",
        files={"file": ("1f.csv", csv_text.encode(), "text/csv")},
        headers=field,
    )
    assert imported.status_code == 201, imported.text
    assert imported.json() == {"floor": "1F", "count": 2, "ignored_columns": ["memo"], "added": 2}
    again = app_client.post(
        f"{url}/floors/1F/points.csv",
        files={"file": ("1f.csv", csv_text.encode(), "text/csv")},
        headers=field,
    )
    assert again.json() == {"floor": "1F", "count": 2, "ignored_columns": ["memo"], "added": 0}
    inside = app_client.post(
        f"{url}/aps",
        json={
            "floor": "1F",
            "name": "AP-X",
            "model": "MR36",
            "x_m": 27,
            "y_m": 2,
            "radios": [{"band": "5", "channel": 36, "power_dbm": 17}],
        },
        headers=field,
    )
    assert inside.status_code == 422
    assert "inside an excluded area" in inside.json()["problems"][0]["message"]
    ap = app_client.post(
        f"{url}/aps",
        json={
            "floor": "1F",
            "name": "1F-AP01",
            "model": "MR36",
            "x_m": 10,
            "y_m": 10,
            "mounting": "ceiling",
            "radios": [
                {"band": "2.4", "channel": 6, "power_dbm": 14},
                {"band": "5", "channel": 36, "power_dbm": 17},
            ],
            "serial": SERIAL_1,
        },
        headers=field,
    )
    assert ap.status_code == 201, ap.text
    ssids = app_client.put(
        f"{url}/ssids", json={"ssids": [{"name": "MINATO", "auth_mode": "psk"}]}, headers=field
    )
    assert ssids.json()["ssids"][0]["name"] == "MINATO"

    # viewers read but do not record; noc issues; the customer's approval is recorded by
    # noc/admin with the evidence, never by whoever recorded or issued the survey (four-eyes)
    assert (
        app_client.post(
            f"{url}/floors", json={"name": "2F", "width_m": 1, "height_m": 1}, headers=viewer
        ).status_code
        == 403
    )
    assert (
        app_client.post(
            f"{url}/floors", json={"name": "2F", "width_m": 1, "height_m": 1}, headers=noc
        ).status_code
        == 403
    )
    assert app_client.post(f"{url}/versions", headers=viewer).status_code == 403
    draft_pdf = app_client.get(f"{url}/pdf", headers=viewer)
    assert draft_pdf.status_code == 200 and draft_pdf.headers["content-type"] == "application/pdf"
    assert "下書き" in pypdf.PdfReader(io.BytesIO(draft_pdf.content)).pages[0].extract_text()

    issued = app_client.post(f"{url}/versions", headers=noc)
    assert issued.status_code == 201, issued.text
    assert issued.json()["status"] == "issued"
    assert app_client.get(f"{url}/sheet", headers=viewer).status_code == 409
    approved = app_client.post(
        f"{url}/versions/1/approve",
        json={
            "approver_name": "港 太郎",
            "approved_on": TODAY,
            "signature_ref": "紙・当社控え",
        },
        headers=field,
    )
    assert approved.status_code == 403  # a field engineer never records the customer's approval
    signed = {"approver_name": "港 太郎", "approved_on": TODAY, "signature_ref": "紙・当社控え"}
    own = app_client.post(f"{url}/versions/1/approve", json=signed, headers=noc)
    assert own.status_code == 403 and "four-eyes" in own.json()["message"]  # noc issued it
    bare = app_client.post(
        f"{url}/versions/1/approve", json={**signed, "signature_ref": ""}, headers=admin
    )
    assert bare.status_code == 422 and bare.json()["problems"][0]["location"] == "signature_ref"
    approved = app_client.post(f"{url}/versions/1/approve", json=signed, headers=admin)
    assert approved.status_code == 200, approved.text
    assert approved.json()["approver_name"] == "港 太郎"

    pdf = app_client.get(f"{url}/versions/1/pdf", headers=viewer)
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    text = "".join(p.extract_text() for p in reader.pages)
    assert "みなと本社" in text and "脚立が必要な高所" in text and "当社控え" in text
    assert len(reader.pages) == 4

    png = app_client.get(f"{url}/floors/1F/coverage.png?dpi=30&version=1", headers=viewer)
    with Image.open(io.BytesIO(png.content)) as image:
        assert (image.format, image.width) == ("PNG", 240)
    svg = app_client.get(f"{url}/diagram.svg", headers=viewer)
    assert svg.headers["content-type"] == "image/svg+xml" and "MX68" in svg.text

    sheet = yaml.safe_load(app_client.get(f"{url}/sheet", headers=viewer).text)
    assert sheet["devices"][0]["serial"] == SERIAL_1
    name = sheet["devices"][0]["name"]
    body = {"serials": {name: "Q3AJ-INST-0001"}}
    assert app_client.put(f"{url}/aps/serials", json=body, headers=viewer).status_code == 403
    recorded = app_client.put(f"{url}/aps/serials", json=body, headers=field)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["count"] == 1
    serials = [(a["name"], a["serial"]) for a in recorded.json()["items"]]
    assert serials == [(name, "Q3AJ-INST-0001")]
    bad = app_client.put(f"{url}/aps/serials", json={"serials": {"nope": "x"}}, headers=field)
    assert bad.status_code == 422 and len(bad.json()["problems"]) == 1
    sheet = yaml.safe_load(app_client.get(f"{url}/sheet", headers=viewer).text)
    assert sheet["devices"][0]["serial"] == "Q3AJ-INST-0001"
    assert sheet["ssids"][0]["psk"] == f"secret:SV{sid:06d}-SSID0-PSK"

    # approving a version that is not the latest issued one
    app_client.post(
        f"{url}/floors/1F/points",
        json={"points": [{"x_m": 6, "y_m": 6, "band": "5", "channel": 36, "rssi_dbm": -55}]},
        headers=field,
    )
    again = app_client.post(
        f"{url}/versions/1/approve",
        json={"approver_name": "港", "approved_on": TODAY, "signature_ref": "控え"},
        headers=admin,
    )
    assert again.status_code == 409 and "not the latest" in again.json()["message"]
    shown = app_client.get(url, headers=viewer).json()
    assert [(v["number"], v["status"]) for v in shown["versions"]] == [
        (1, "approved"),
        (2, "draft"),
    ]
    listed = app_client.get(API, params={"site": "みなと本社"}, headers=viewer).json()["items"]
    assert [(s["id"], s["latest_version"], s["status"]) for s in listed] == [(sid, 2, "draft")]


def test_bad_csv_upload_reports_every_row(
    app_client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    field = bearer(tokens["field"])
    sid = _survey(app_client, field)
    app_client.post(
        f"{API}/{sid}/floors", json={"name": "1F", "width_m": 10, "height_m": 10}, headers=field
    )
    before = session.exec(select(func.count()).select_from(SurveyPoint)).one()
    body = "x,y,band,channel,rssi\n1,1,5,36,-50\n11,1,5,36,-50\n1,1,5,36,+5\n"
    response = app_client.post(
        f"{API}/{sid}/floors/1F/points.csv",
        files={"file": ("p.csv", body.encode(), "text/csv")},
        headers=field,
    )
    assert response.status_code == 422
    assert [p["location"] for p in response.json()["problems"]] == [
        "p.csv row 3, column x",
        "p.csv row 4, column rssi",
    ]
    assert session.exec(select(func.count()).select_from(SurveyPoint)).one() == before
    zero = app_client.post(
        f"{API}/{sid}/floors", json={"name": "2F", "width_m": 0, "height_m": 10}, headers=field
    )
    assert zero.status_code == 422 and zero.json()["problems"][0]["location"] == "floor 2F.width_m"
    assert app_client.get(f"{API}/999999", headers=field).status_code == 404

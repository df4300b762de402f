"""Wireless survey: floors → points → approval → generated sheet → apply, on the demo data.

株式会社さくら商事's wireless contract C-2026-0002 has the survey option; its 名古屋営業所 is the
demo's wireless network "名古屋営業所 Nagoya" (N_demo_nagoya), still without access points.
The AP planned is an MR36 and the unit installed is the demo's checked spare MR36 Q3AJ-DDDD-0002.
The sheet is generated from the approved version (nothing typed twice); its PSK is the
customer's named secret. Rules: the approval is the customer's, recorded by the NOC and never by
who surveyed or issued (four-eyes); a wireless sheet applies only once its survey is approved.
"""

from __future__ import annotations

import yaml

from tests.journeys.conftest import Journey, items
from tests.service.survey_builders import png_bytes

CUSTOMER = "株式会社さくら商事"
SITE = "名古屋営業所 Nagoya"
AP_UNIT = "Q3AJ-DDDD-0002"
MR46 = "Q3AC-EEEE-0001"  # a checked spare, but an MR46
POINTS = "x,y,band,channel,rssi\n2,2,5,36,-52\n10,6,5,36,-48\n18,10,2.4,1,-61\n"


def _surveyed(j: Journey) -> tuple[str, str]:
    created = j.cli_json(
        "survey", "create", "--customer", CUSTOMER, "--site", SITE, "--surveyor", "field-tanaka",
        "--date", "2027-01-12", "--contract", "C-2026-0002", "--gateway", "MX67",
    )  # fmt: skip
    sid = str(created["id"])
    j.cli("survey", "floor-add", sid, "1F", "--width", "20", "--height", "12")
    layout = j.folder / "1F.png"
    layout.write_bytes(png_bytes())
    j.cli("survey", "layout", sid, "1F", str(layout))
    points = j.folder / "1F.csv"
    points.write_text(POINTS, encoding="utf-8")
    assert "3 points imported" in j.cli("survey", "points-import", sid, "1F", str(points))
    again = j.cli("survey", "points-import", sid, "1F", str(points))
    assert "3 already stored, updated in place" in again  # the same file twice: still 3 points
    assert [f["points"] for f in j.cli_json("survey", "show", sid)["floors"]] == [3]
    ap: tuple[str, ...] = ("--name", "1F-事務所-AP01", "--model", "MR36", "--x", "10", "--y", "6")
    ap += ("--2g", "1/14", "--5g", "36/17")
    refused = j.cli("survey", "ap-add", sid, "1F", *ap, "--serial", MR46, code=2)
    assert MR46 in refused and "MR46" in refused  # planned MR36, the inventory says MR46
    j.cli("survey", "ap-add", sid, "1F", *ap, "--serial", AP_UNIT)
    j.cli("survey", "ssids", sid, "--ssid", "SAKURA-NGY:psk:1")
    assert j.cli_json("survey", "issue", sid)["status"] == "issued"
    return sid, created["number"]


def test_survey_to_applied_sheet_over_the_cli(journey: Journey) -> None:
    j = journey
    sid, _ = _surveyed(j)
    signed = (
        "--approver",
        "さくら商事 総務 田中",
        "--date",
        "2027-01-12",
        "--signature-ref",
        "scan/SV-1.pdf",
    )
    j.cli("survey", "approve", sid, "--version", "1", *signed, code=5)  # the surveyor
    j.cli("survey", "approve", sid, "--version", "1", *signed, actor="noc-suzuki")

    sheet = j.folder / "nagoya.yaml"
    j.cli("survey", "sheet", sid, "-o", str(sheet))
    raw = yaml.safe_load(sheet.read_text(encoding="utf-8"))
    assert raw["site"]["name"] == SITE
    assert [(d["serial"], d["model"]) for d in raw["devices"]] == [(AP_UNIT, "MR36")]
    [ssid] = [s for s in raw["ssids"] if s.get("name") == "SAKURA-NGY"]
    secret = str(ssid["psk"]).removeprefix("secret:")
    j.cli("secret", "set", CUSTOMER, secret, "--stdin", stdin="sakura-nagoya-2027\n")

    assert "valid settings sheet" in j.cli("sheet", "validate", str(sheet))
    planned = j.cli_json("plan", str(sheet))
    assert planned["network_id"] == "N_demo_nagoya"  # the existing wireless network
    applied = j.cli_json("apply", str(sheet), "--yes")
    assert applied["status"] == "done", applied
    device = j.sandbox.dashboard_api().devices.getDevice(AP_UNIT)
    assert device["networkId"] == "N_demo_nagoya" and device["name"] == "1F-事務所-AP01"
    unit = j.cli_json("inventory", "show", AP_UNIT)["device"]
    assert (unit["status"], unit["network_id"], unit["customer"]) == (
        "deployed",
        "N_demo_nagoya",
        CUSTOMER,
    )
    assert "no changes" in j.cli("plan", str(sheet))
    j.finish()


def test_survey_to_applied_sheet_over_the_api(journey: Journey) -> None:
    j = journey
    tokens = {}
    for role, name in (("field", "field-tanaka"), ("noc", "noc-suzuki")):
        out = j.cli("token", "create", "--role", role, "--name", name)
        tokens[name] = next(w for w in out.split() if w.startswith("nk_"))
    field, noc = tokens["field-tanaka"], tokens["noc-suzuki"]
    survey = j.http(
        "POST",
        "/surveys",
        token=field,
        json={
            "customer": CUSTOMER,
            "site": SITE,
            "surveyor": "field-tanaka",
            "survey_date": "2027-01-12",
            "contract_number": "C-2026-0002",
            "gateway_model": "MX67",
        },
        status=201,
    )
    sid, number = survey["id"], survey["number"]
    floor = {"name": "1F", "width_m": 20, "height_m": 12}
    j.http("POST", f"/surveys/{sid}/floors", token=field, json=floor, status=201)
    layout = {"file": ("1F.png", png_bytes(), "image/png")}
    j.http("PUT", f"/surveys/{sid}/floors/1F/layout", token=field, files=layout)
    csv = {"file": ("1F.csv", POINTS.encode("utf-8"), "text/csv")}
    first = j.http(
        "POST", f"/surveys/{sid}/floors/1F/points.csv", token=field, files=csv, status=201
    )
    again = j.http(
        "POST", f"/surveys/{sid}/floors/1F/points.csv", token=field, files=csv, status=201
    )
    assert (first["count"], first["added"], again["added"]) == (3, 3, 0)  # idempotent
    ap = {
        "floor": "1F",
        "name": "1F-事務所-AP01",
        "model": "MR36",
        "x_m": 10,
        "y_m": 6,
        "radios": [
            {"band": "2.4", "channel": 1, "power_dbm": 14},
            {"band": "5", "channel": 36, "power_dbm": 17},
        ],
    }
    wrong = j.http(
        "POST", f"/surveys/{sid}/aps", token=field, json={**ap, "serial": MR46}, status=422
    )
    assert "MR46" in str(wrong)  # the inventory says this unit is an MR46
    j.http("POST", f"/surveys/{sid}/aps", token=field, json={**ap, "serial": AP_UNIT}, status=201)
    ssids = {"ssids": [{"name": "SAKURA-NGY", "auth_mode": "psk", "vlan_id": 1}]}
    j.http("PUT", f"/surveys/{sid}/ssids", token=field, json=ssids)
    issued = j.http("POST", f"/surveys/{sid}/versions", token=field, json={}, status=201)
    assert issued["status"] == "issued"

    approval = {
        "approver_name": "さくら商事 総務 田中",
        "approved_on": "2027-01-12",
        "signature_ref": "scan/SV-1.pdf",
    }
    j.http("POST", f"/surveys/{sid}/versions/1/approve", token=field, json=approval, status=403)
    approved = j.http("POST", f"/surveys/{sid}/versions/1/approve", token=noc, json=approval)
    assert approved["status"] == "approved"
    surveys = items(j.http("GET", "/surveys", token=noc))
    assert [(s["number"], s["status"]) for s in surveys] == [(number, "approved")]

    sheet = j.http("GET", f"/surveys/{sid}/sheet", token=field)
    raw = yaml.safe_load(sheet)
    assert [(d["serial"], d["model"]) for d in raw["devices"]] == [(AP_UNIT, "MR36")]
    [ssid] = [s for s in raw["ssids"] if s.get("name") == "SAKURA-NGY"]
    secret = str(ssid["psk"]).removeprefix("secret:")
    j.http("PUT", f"/secrets/{CUSTOMER}/{secret}", token=noc, json={"value": "sakura-nagoya-2027"})
    upload = {"file": ("nagoya.yaml", sheet, "application/x-yaml")}
    planned = j.http("POST", "/plans", token=field, files=upload)
    assert planned["network_id"] == "N_demo_nagoya"
    job = j.http("POST", "/jobs", token=field, files=upload, status=201)
    assert job["status"] == "done", job
    device = j.http("GET", f"/devices/{AP_UNIT}", token=field)
    assert (device["status"], device["network_id"], device["customer"]) == (
        "deployed",
        "N_demo_nagoya",
        CUSTOMER,
    )
    j.finish()

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

from tests.journeys.conftest import Journey
from tests.service.survey_builders import png_bytes

CUSTOMER = "株式会社さくら商事"
SITE = "名古屋営業所 Nagoya"
AP_UNIT = "Q3AJ-DDDD-0002"
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
    j.cli(
        "survey", "ap-add", sid, "1F", "--name", "1F-事務所-AP01", "--model", "MR36",
        "--x", "10", "--y", "6", "--2g", "1/14", "--5g", "36/17", "--serial", AP_UNIT,
    )  # fmt: skip
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


def test_survey_approval_and_sheet_over_the_api(journey: Journey) -> None:
    j = journey
    sid, number = _surveyed(j)
    out = j.cli("token", "create", "--role", "noc", "--name", "noc-suzuki")
    noc = next(w for w in out.split() if w.startswith("nk_"))
    approval = {
        "approver_name": "さくら商事 総務 田中",
        "approved_on": "2027-01-12",
        "signature_ref": "scan/SV-1.pdf",
    }
    approved = j.http("POST", f"/surveys/{sid}/versions/1/approve", token=noc, json=approval)
    assert approved["status"] == "approved"
    surveys = j.http("GET", "/surveys", token=noc)
    items = surveys["items"] if isinstance(surveys, dict) else surveys
    assert [(s["number"], s["status"]) for s in items] == [(number, "approved")]
    sheet = j.http("GET", f"/surveys/{sid}/sheet", token=noc)
    raw = yaml.safe_load(sheet)
    assert [d["serial"] for d in raw["devices"]] == [AP_UNIT]

"""NOC: a change request from submission through the operations window to acceptance or defect.

The request is the shipped `provisioning/examples/change_request.yaml` for さくら商事's 東京本社
(N_demo_tokyo, "東京本社 Tokyo HQ" on the dashboard). Rules (docs/domain.md, DOMAIN.md): the
operations window is Mon-Sat 9:00-17:00 JST; approval and acceptance are four-eyes; the
completion notice is mailed; the customer has one week to report a defect, else the request is
accepted by itself. A change request changes the existing network and never creates one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.journeys.conftest import Journey, items

SHEET = Path(__file__).resolve().parents[2] / "provisioning" / "examples" / "change_request.yaml"
NOTICE_TO = "soumu@sakura.example.jp"
SATURDAY_EVENING = datetime(2027, 1, 16, 9, 0, tzinfo=UTC)  # 18:00 JST, the window is closed
MONDAY_9 = datetime(2027, 1, 18, 0, 0, tzinfo=UTC)  # 09:00 JST, the next window opens


def _networks(journey: Journey) -> list[str]:
    sdk = journey.sandbox.dashboard_api()
    return sorted(n["id"] for n in sdk.organizations.getOrganizationNetworks("537758"))


def _guest_lease(journey: Journey) -> str:
    vlan = journey.sandbox.dashboard_api().appliance.getNetworkApplianceVlan("N_demo_tokyo", "20")
    lease: str = vlan["dhcpLeaseTime"]
    return lease


def _submitted_and_approved_over_the_cli(j: Journey) -> str:
    before = _networks(j)
    out = j.cli_json("change", "submit", str(SHEET), "--notice-email", NOTICE_TO)
    assert out["status"] == "validated", out
    rid = str(out["id"])
    j.cli("change", "approve", rid, code=5)  # four-eyes: the submitter may not approve
    j.cli("change", "approve", rid, actor="noc-suzuki")
    j.clock.set(SATURDAY_EVENING)
    scheduled = j.cli_json("change", "schedule", rid, actor="noc-suzuki")
    assert datetime.fromisoformat(scheduled["scheduled_for"]) == MONDAY_9
    j.cli("change", "apply", rid, code=4, actor="noc-suzuki")  # not yet: it is scheduled later
    j.clock.set(MONDAY_9 + timedelta(minutes=5))
    applied = j.cli_json("change", "apply", rid, actor="noc-suzuki")
    assert applied["status"] == "notified", applied
    assert _guest_lease(j) == "1 hour"
    assert _networks(j) == before  # changed N_demo_tokyo, created nothing
    [mail] = j.mails()
    assert f"To: {NOTICE_TO}" in mail
    assert "Subject: 【設定変更完了のお知らせ】依頼番号 CR-2025-0107" in mail
    assert "作業完了日時: 2027-01-18 09:05 JST" in mail
    # one week from the day after the mail (Mon 18 Jan): the customer may object until the 25th
    assert "不具合のご連絡期限: 2027年01月25日 (JST) まで" in mail
    return rid


def test_change_request_accepted_over_the_cli(journey: Journey) -> None:
    j = journey
    rid = _submitted_and_approved_over_the_cli(j)
    evidence = ("--by", "総務部 田中 花子", "--evidence", "受領書 2027-01-19 スキャン")
    j.cli("change", "accept", rid, *evidence, code=5, actor="noc-suzuki")  # applied it
    accepted = j.cli_json("change", "accept", rid, *evidence, actor="noc-yamada")
    assert accepted["status"] == "accepted"
    j.finish()


def test_change_request_defect_then_corrected_over_the_cli(journey: Journey) -> None:
    j = journey
    rid = _submitted_and_approved_over_the_cli(j)
    j.clock.set(MONDAY_9 + timedelta(days=3))  # inside the one-week defect window
    reported = j.cli_json(
        "change", "report-defect", rid,
        "--description", "来客用のリースが短すぎて会議中に切れる", "--by", "総務 田中",
    )  # fmt: skip
    assert reported["status"] == "reopened"
    j.clock.set(j.clock() + timedelta(days=14))
    assert "auto-accepted: none" in j.cli("change", "sweep", actor="noc-suzuki")

    broken = j.folder / "broken.yaml"
    broken.write_text(SHEET.read_text("utf-8").replace("id: 20", "id: 5000"), "utf-8")
    j.cli("change", "validate", rid, "--sheet", str(broken), code=2)
    kept = j.cli_json("change", "show", rid)["request"]
    assert kept["status"] == "reopened" and kept["sheet_filename"] == "change_request.yaml"

    corrected = j.folder / "corrected.yaml"
    corrected.write_text(SHEET.read_text("utf-8").replace("1 hour", "4 hours"), "utf-8")
    assert j.cli_json("change", "validate", rid, "--sheet", str(corrected))["status"] == "validated"
    j.cli("change", "approve", rid, actor="noc-suzuki")
    j.clock.set(datetime(2027, 2, 1, 1, 0, tzinfo=UTC))  # Monday 10:00 JST, in the window
    j.cli("change", "schedule", rid, actor="noc-suzuki")
    assert j.cli_json("change", "apply", rid, actor="noc-suzuki")["status"] == "notified"
    assert _guest_lease(j) == "4 hours"
    assert len(j.mails()) == 2  # a second completion notice
    j.clock.set(j.clock() + timedelta(days=8))  # the customer stayed silent for a week
    assert f"auto-accepted: {rid}\n" in j.cli("change", "sweep", actor="noc-suzuki")
    assert j.cli_json("change", "show", rid)["request"]["status"] == "accepted"
    j.finish()


def test_change_request_over_the_api(journey: Journey) -> None:
    j = journey
    tokens = {}
    for role, name in (("field", "field-tanaka"), ("noc", "noc-suzuki"), ("noc", "noc-yamada")):
        out = j.cli("token", "create", "--role", role, "--name", name)
        tokens[name] = next(w for w in out.split() if w.startswith("nk_"))
    before = _networks(j)
    submitted = j.http(
        "POST",
        "/change-requests",
        token=tokens["field-tanaka"],
        files={"file": ("change_request.yaml", SHEET.read_bytes(), "application/x-yaml")},
        data={"notice_email": NOTICE_TO},
        status=201,
    )
    assert submitted["status"] == "validated", submitted
    rid = submitted["id"]
    noc, other = tokens["noc-suzuki"], tokens["noc-yamada"]
    j.http("POST", f"/change-requests/{rid}/approve", token=noc, json={})
    j.clock.set(SATURDAY_EVENING)
    scheduled = j.http("POST", f"/change-requests/{rid}/schedule", token=noc, json={})
    assert datetime.fromisoformat(scheduled["scheduled_for"]) == MONDAY_9
    j.http("POST", f"/change-requests/{rid}/apply", token=noc, status=409)
    j.clock.set(MONDAY_9 + timedelta(minutes=5))
    applied = j.http("POST", f"/change-requests/{rid}/apply", token=noc)
    assert applied["status"] == "notified", applied
    assert _guest_lease(j) == "1 hour" and _networks(j) == before
    [notice] = items(j.http("GET", f"/change-requests/{rid}/notices", token=noc))
    assert notice["to"] == NOTICE_TO
    [mail] = j.mails()
    assert f"To: {NOTICE_TO}" in mail
    body = {"accepted_by": "総務部 田中 花子", "evidence": "受領書 2027-01-19"}
    j.http("POST", f"/change-requests/{rid}/accept", token=noc, json=body, status=403)
    accepted = j.http("POST", f"/change-requests/{rid}/accept", token=other, json=body)
    assert accepted["status"] == "accepted"
    j.finish()

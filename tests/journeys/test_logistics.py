"""Logistics: an RMA from the failure report to the return or the charge, on the demo data.

Over the CLI and over the API each:
- 東京本社's MX67 fails; a checked spare ships, is swapped on the dashboard, the courier brings
  back the wrong unit first (the mismatch stays on the record), then the right one;
- 横浜支店's MX67 is not back by its due date; the sweep charges the damage charge, the unit
  then arrives (charged, then received) and an admin waives the charge;
and over the CLI: an end-of-sale MX64 at なにわ物産 fails and its successor MX67 ships.
Contract facts (docs/domain.md): the failed unit must be back one month after shipping; the
damage charge is the model's list price plus 10% tax (MX67: 128,000 → 140,800 yen).
"""

from __future__ import annotations

from datetime import timedelta

from tests.journeys.conftest import Journey

FAILED = "Q2FY-AAAA-0001"  # 東京本社 MX67, 株式会社さくら商事, C-2026-0001 (sold, paid)
LATE = "Q2FY-AAAA-0004"  # 横浜支店 MX67, 株式会社さくら商事, C-2026-0004 (sold, paid)
SPARES = {"Q2FY-AAAA-0002", "Q2FY-AAAA-0003"}  # the demo's checked MX67 stock
WRONG = "Q2FY-ZZZZ-0099"  # a unit on the dashboard that is not the failed one
OLD = "Q2MN-0000-0000"  # an end-of-sale MX64 installed at なにわ物産 大阪支店 (set up below)
CUSTOMER = "株式会社さくら商事"


def _network_of(journey: Journey, serial: str) -> str | None:
    """Where the dashboard has the unit (its organization inventory: every claimed unit)."""
    sdk = journey.sandbox.dashboard_api()
    [unit] = [
        d
        for d in sdk.organizations.getOrganizationInventoryDevices("537758", total_pages=-1)
        if d["serial"] == serial
    ]
    network: str | None = unit.get("networkId")
    return network


def test_rma_with_the_wrong_serial_first_over_the_cli(journey: Journey) -> None:
    j = journey
    logi = "logi-sato"
    opened = j.cli_json(
        "rma", "open", FAILED, "--symptom", "電源が入らない", "--reporter", "総務 田中"
    )
    rma = str(opened["id"])
    assert opened["status"] == "open"
    j.cli("rma", "decide", rma, "--replace", actor="noc-suzuki")
    j.cli("rma", "reserve", rma, actor=logi)
    reserved = j.cli_json("rma", "show", rma)
    spare = reserved["replacement_serial"]
    assert spare in SPARES and reserved["status"] == "replacement_reserved"

    j.cli("rma", "ship", rma, "--courier", "ヤマト運輸", "--tracking", "4012-3456-7890", actor=logi)
    shipped = j.cli_json("rma", "show", rma)
    assert shipped["due_date"] == "2027-02-12"  # shipped 2027-01-12: one month
    # shipped: the replacement is no longer in the warehouse
    assert j.cli_json("inventory", "show", spare)["device"]["status"] not in {
        "reserved",
        "in_stock",
    }

    j.cli("rma", "swap", rma, actor=logi)
    assert _network_of(j, spare) == "N_demo_tokyo"
    assert _network_of(j, FAILED) is None
    unit = j.cli_json("inventory", "show", spare)["device"]
    assert (unit["status"], unit["customer"], unit["network_id"]) == (
        "deployed",
        CUSTOMER,
        "N_demo_tokyo",
    )

    j.cli("rma", "pickup", rma, "--date", "2027-01-15", "--courier", "ヤマト運輸", actor=logi)
    j.clock.set(j.clock() + timedelta(days=4))
    out = j.cli("rma", "receive", rma, WRONG, code=4, actor=logi)
    assert f"expected {FAILED}, got {WRONG}" in out
    assert j.cli_json("rma", "show", rma)["status"] == "exception"

    j.cli("rma", "receive", rma, FAILED, "--disposition", "refurbish", actor=logi)
    closed = j.cli_json("rma", "show", rma)
    assert (closed["status"], closed["received_serial"]) == ("closed", FAILED)
    mismatches = [
        (m["expected_serial"], m["received_serial"]) for m in closed.get("mismatches", [])
    ]
    assert mismatches == [(FAILED, WRONG)]  # the wrong unit stays on the record
    failed = j.cli_json("inventory", "show", FAILED)["device"]
    assert (failed["customer"], failed["network_id"]) == (None, None)
    planned = [r for r in closed["reminders"] if r["sent_at"] is None and not r.get("outcome")]
    assert planned == []  # a closed RMA plans no reminder
    j.finish()


def test_rma_late_unit_charged_then_received_over_the_api(journey: Journey) -> None:
    j = journey
    opened = j.http(
        "POST",
        "/rmas",
        json={"serial": LATE, "symptom": "再起動を繰り返す", "reporter": "横浜支店 山本"},
        status=201,
    )
    rma = opened["id"]
    j.http("POST", f"/rmas/{rma}/decide", json={"replace": True})
    reserved = j.http("POST", f"/rmas/{rma}/reserve", json={})
    assert reserved["replacement_serial"] in SPARES
    shipped = j.http(
        "POST", f"/rmas/{rma}/ship", json={"courier": "佐川急便", "tracking_number": "5555"}
    )
    assert shipped["due_date"] == "2027-02-12"
    swapped = j.http("POST", f"/rmas/{rma}/swap", json={})
    assert swapped["swapped_at"] is not None
    assert _network_of(j, reserved["replacement_serial"]) == "N_demo_yokohama"

    j.clock.set(j.clock() + timedelta(days=28))  # 2027-02-09: the 3-day reminder is due
    reminded = j.http("POST", "/rmas/reminders/send")["items"]
    assert "2027-02-09" in [r["remind_on"] for r in reminded if r["rma_id"] == rma]
    again = j.http("POST", "/rmas/reminders/send")
    assert again == {"count": 0, "items": []}  # each reminder once (a missed one too)
    j.clock.set(j.clock() + timedelta(days=5))  # 2027-02-14: past the due date
    swept = j.http("POST", "/rmas/sweep")
    assert swept["total_yen"] == 140_800 and len(swept["charged"]) == 1
    assert j.http("GET", f"/rmas/{rma}")["status"] == "charged"
    assert j.http("POST", "/rmas/sweep")["charged"] == []  # billed once

    received = j.http("POST", f"/rmas/{rma}/receive", json={"serial": LATE})
    assert received["late_arrival"] is True and received["charge"]["total_yen"] == 140_800
    waived = j.http("POST", f"/rmas/{rma}/waive", json={"reason": "得意先との合意"})
    assert waived["status"] == "waived" or waived["charge"]["credited_at"] is not None
    unit = j.http("GET", f"/devices/{LATE}")
    assert (unit["customer"], unit["network_id"]) == (None, None)
    j.finish()


def test_rma_successor_model_over_the_cli(journey: Journey) -> None:
    j = journey
    # Set-up: an MX64 (end of sale, succeeded by MX67) installed at なにわ物産 大阪支店 years ago.
    j.sandbox.admin.generate_inventory("537758", 1, model="MX64", prefix="Q2MN")
    j.sandbox.dashboard_api().networks.claimNetworkDevices("N_demo_osaka", serials=[OLD])
    csv = j.folder / "mx64.csv"
    csv.write_text(
        "serial,model,mac,status,customer,site,contract,acquisition,leasing_company,"
        "network_id,license_expiry,owner_since,notes\n"
        f"{OLD},MX64,e0:55:3d:60:00:01,deployed,なにわ物産株式会社,大阪支店,C-2026-0003,"
        "sold,,N_demo_osaka,2029-09-30,2026-08-20,旧UTM\n",
        encoding="utf-8",
    )
    j.cli("inventory", "import", str(csv), "--commit")

    rma = str(
        j.cli_json("rma", "open", OLD, "--symptom", "ファン異音", "--reporter", "大阪 木村")["id"]
    )
    j.cli("rma", "decide", rma, "--replace", actor="noc-suzuki")
    out = j.cli("rma", "reserve", rma)
    assert "substitution: MX64 → MX67" in out
    shown = j.cli_json("rma", "show", rma)
    assert shown["substitution"] is True and shown["replacement_model"] == "MX67"
    j.cli("rma", "ship", rma, "--courier", "ヤマト運輸", "--tracking", "1")
    j.cli("rma", "swap", rma)
    assert _network_of(j, shown["replacement_serial"]) == "N_demo_osaka"
    j.cli("rma", "pickup", rma, "--date", "2027-01-14", "--courier", "ヤマト運輸")
    j.cli("rma", "receive", rma, OLD)
    assert j.cli_json("rma", "show", rma)["status"] == "closed"
    j.finish()


def test_rma_with_the_wrong_serial_first_over_the_api(journey: Journey) -> None:
    j = journey
    body = {"serial": FAILED, "symptom": "電源が入らない", "reporter": "総務 田中"}
    rma = j.http("POST", "/rmas", json=body, status=201)["id"]
    j.http("POST", f"/rmas/{rma}/decide", json={"replace": True})
    spare = j.http("POST", f"/rmas/{rma}/reserve", json={})["replacement_serial"]
    assert spare in SPARES
    ship = {"courier": "ヤマト運輸", "tracking_number": "4012-3456-7890"}
    assert j.http("POST", f"/rmas/{rma}/ship", json=ship)["due_date"] == "2027-02-12"
    assert j.http("GET", f"/devices/{spare}")["status"] not in {"reserved", "in_stock"}
    j.http("POST", f"/rmas/{rma}/swap", json={})
    assert (_network_of(j, spare), _network_of(j, FAILED)) == ("N_demo_tokyo", None)
    pickup = {"pickup_date": "2027-01-15", "courier": "ヤマト運輸"}
    j.http("POST", f"/rmas/{rma}/pickup", json=pickup)
    j.clock.set(j.clock() + timedelta(days=4))
    wrong = j.http("POST", f"/rmas/{rma}/receive", json={"serial": WRONG})
    assert (wrong["status"], wrong["mismatch_serial"]) == ("exception", WRONG)
    closed = j.http("POST", f"/rmas/{rma}/receive", json={"serial": FAILED})
    assert closed["status"] == "closed"
    mismatches = [
        (m["expected_serial"], m["received_serial"]) for m in closed.get("mismatches", [])
    ]
    assert mismatches == [(FAILED, WRONG)]  # the wrong unit stays on the record
    j.finish()


def test_rma_late_unit_charged_then_received_over_the_cli(journey: Journey) -> None:
    j = journey
    logi = "logi-sato"
    opened = j.cli_json("rma", "open", LATE, "--symptom", "再起動を繰り返す", "--reporter", "山本")
    rma = str(opened["id"])
    j.cli("rma", "decide", rma, "--replace", actor="noc-suzuki")
    j.cli("rma", "reserve", rma, actor=logi)
    j.cli("rma", "ship", rma, "--courier", "佐川急便", "--tracking", "5555", actor=logi)
    j.cli("rma", "swap", rma, actor=logi)
    j.clock.set(j.clock() + timedelta(days=33))  # 2027-02-14: past the due date (2027-02-12)
    overdue = j.cli_json("rma", "list", "--view", "overdue", actor=logi)
    assert [r["id"] for r in overdue["items"]] == [int(rma)]
    swept = j.cli_json("rma", "sweep", actor=logi)
    assert swept["total_yen"] == 140_800
    assert j.cli_json("rma", "sweep", actor=logi)["charged"] == []  # billed once
    assert "¥140,800" in j.cli("rma", "show", rma)

    j.cli("rma", "receive", rma, LATE, actor=logi)  # charged, then received
    received = j.cli_json("rma", "show", rma)
    assert received["late_arrival"] is True and received["charge"]["total_yen"] == 140_800
    j.cli("rma", "waive", rma, "--reason", "得意先との合意", actor="admin-kato")
    waived = j.cli_json("rma", "show", rma)
    assert waived["status"] == "waived" or waived["charge"]["credited_at"] is not None
    j.finish()

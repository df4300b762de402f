import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session

from inventory import contracts, service
from inventory.domain import Acquisition, Plan
from tests.conftest import bearer
from tests.service.helpers import ACTOR, T0, import_csv, write_csv

ROWS = (
    "Q2FY-AAAA-8001,MX67,,deployed,さくら,本社,,,,N_1,2026-04-01,\n"
    "Q2FY-AAAA-8002,MX67,,in_stock,,倉庫,,,,,2026-04-01,\n"
    "Q3AJ-DDDD-8001,MR36,,in_stock,,倉庫,,,,,2026-04-01,\n"
)


def load(session: Session, tmp_path: Path) -> None:
    import_csv(session, write_csv(tmp_path, ROWS))


def test_list_filter_and_page(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    load(session, tmp_path)
    h = bearer(tokens["viewer"])
    body = app_client.get("/api/v1/devices", params={"model": "mx67", "limit": 1}, headers=h).json()
    assert body["total"] == 2 and [d["serial"] for d in body["items"]] == ["Q2FY-AAAA-8001"]
    assert body["items"][0]["owner"] == {"kind": "provider", "name": "provider"}
    page2 = app_client.get(
        "/api/v1/devices", params={"model": "MX67", "limit": 1, "offset": 1}, headers=h
    ).json()
    assert [d["serial"] for d in page2["items"]] == ["Q2FY-AAAA-8002"]
    stock = app_client.get(
        "/api/v1/devices", params={"status": "in_stock", "site": "倉庫"}, headers=h
    ).json()
    assert {d["serial"] for d in stock["items"]} == {"Q2FY-AAAA-8002", "Q3AJ-DDDD-8001"}
    bad = app_client.get("/api/v1/devices", params={"status": "flying"}, headers=h)
    assert bad.status_code == 422


def test_get_device_and_errors(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    load(session, tmp_path)
    h = bearer(tokens["viewer"])
    device = app_client.get("/api/v1/devices/q2fy-aaaa-8001", headers=h).json()
    assert (device["serial"], device["network_id"], device["site"]) == (
        "Q2FY-AAAA-8001",
        "N_1",
        "本社",
    )
    missing = app_client.get("/api/v1/devices/Q2FY-AAAA-9999", headers=h)
    assert missing.status_code == 404 and "Q2FY-AAAA-9999" in missing.json()["message"]
    malformed = app_client.get("/api/v1/devices/XYZ", headers=h)
    assert malformed.status_code == 422 and malformed.json()["problems"][0]["location"] == "serial"


def test_status_change_roles_and_conflict(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    load(session, tmp_path)
    url = "/api/v1/devices/Q2FY-AAAA-8002/status"
    assert (
        app_client.post(
            url, json={"status": "reserved"}, headers=bearer(tokens["viewer"])
        ).status_code
        == 403
    )
    conflict = app_client.post(url, json={"status": "in_rma"}, headers=bearer(tokens["field"]))
    assert conflict.status_code == 409
    assert conflict.json()["details"]["allowed"] == ["deployed", "disposed", "reserved"]
    ok = app_client.post(
        url, json={"status": "reserved", "note": "RMA"}, headers=bearer(tokens["logistics"])
    )
    assert ok.status_code == 200 and ok.json()["status"] == "reserved"
    history = app_client.get(
        "/api/v1/devices/Q2FY-AAAA-8002/history", headers=bearer(tokens["viewer"])
    ).json()["items"]
    assert [h["action"] for h in history] == ["device.import", "device.status"]
    assert history[-1]["actor"] == "t-logistics"


def test_ownership_at_a_past_date_after_payment(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    load(session, tmp_path)
    contracts.create_contract(
        session=session, actor=ACTOR, number="C-9", customer="さくら", plan=Plan.UTM
    )
    contracts.attach_device(
        session=session,
        actor=ACTOR,
        number="C-9",
        serial="Q2FY-AAAA-8001",
        acquisition=Acquisition.SOLD,
        now=T0,
    )
    session.flush()
    paid = app_client.post(
        "/api/v1/contracts/C-9/initial-fee-paid",
        json={"paid_at": "2026-05-29T10:00:00+09:00"},
        headers=bearer(tokens["admin"]),
    )
    assert paid.status_code == 200
    assert paid.json()["devices"][0]["owner"] == {"kind": "customer", "name": "さくら"}
    h = bearer(tokens["viewer"])
    url = "/api/v1/devices/Q2FY-AAAA-8001/ownership"
    before = app_client.get(url, params={"at": "2026-05-29"}, headers=h).json()
    after = app_client.get(url, params={"at": "2026-05-30"}, headers=h).json()
    assert before["owner"]["owner_kind"] == "provider"
    assert (
        after["owner"]["owner_kind"] == "customer"
        and after["owner"]["reason"] == "initial_fee_paid"
    )
    now = app_client.get(url, headers=h).json()
    assert set(now) == set(before) == {"serial", "at", "owner", "history"}  # one shape
    assert now["owner"]["owner_kind"] == "customer" and now["history"] == before["history"]
    ledger = now["history"]
    assert [e["reason"] for e in ledger] == ["import", "initial_fee_paid"]
    bad = app_client.get(url, params={"at": "yesterday"}, headers=h)
    assert bad.status_code == 422 and bad.json()["problems"][0]["location"] == "query.at"


def test_csv_export(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    load(session, tmp_path)
    checked = datetime(2026, 6, 1, 1, 30, tzinfo=UTC)  # 10:30 in Tokyo
    service.mark_verified(session=session, actor=ACTOR, serial="Q2FY-AAAA-8001", now=checked)
    session.flush()
    response = app_client.get(
        "/api/v1/devices.csv", params={"model": "MX67"}, headers=bearer(tokens["viewer"])
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [r["serial"] for r in rows] == ["Q2FY-AAAA-8001", "Q2FY-AAAA-8002"]
    assert rows[0]["site"] == "本社" and rows[0]["owner_kind"] == "provider"
    assert rows[0]["verified_at"] == "2026-06-01T10:30:00+09:00"  # Tokyo time, not raw UTC


def test_import_over_http_dry_run_then_commit(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    content = b"serial,model\nQ2FY-AAAA-8101,MX67\nQ2FY-AAAA-8101,MX67\n"
    h = bearer(tokens["logistics"])
    dry = app_client.post(
        "/api/v1/inventory/import", files={"file": ("new.csv", content)}, headers=h
    )
    assert (
        dry.status_code == 200
        and dry.json()["problems"][0]["location"] == "new.csv row 3, column serial"
    )
    refused = app_client.post(
        "/api/v1/inventory/import?commit=true", files={"file": ("new.csv", content)}, headers=h
    )
    assert refused.status_code == 422
    assert app_client.get("/api/v1/devices/Q2FY-AAAA-8101", headers=h).status_code == 404
    good = b"serial,model\nQ2FY-AAAA-8101,MX67\n"
    done = app_client.post(
        "/api/v1/inventory/import?commit=true", files={"file": ("new.csv", good)}, headers=h
    )
    assert done.json()["committed"] is True and done.json()["created"] == ["Q2FY-AAAA-8101"]
    assert app_client.get("/api/v1/devices/Q2FY-AAAA-8101", headers=h).status_code == 200
    assert (
        app_client.post(
            "/api/v1/inventory/import",
            files={"file": ("x.csv", good)},
            headers=bearer(tokens["noc"]),
        ).status_code
        == 403
    )


def test_contract_lifecycle_over_http(
    app_client: TestClient, tokens: dict[str, str], session: Session, tmp_path: Path
) -> None:
    load(session, tmp_path)
    admin = bearer(tokens["admin"])
    created = app_client.post(
        "/api/v1/contracts",
        json={"number": "C-10", "customer": "なにわ", "plan": "wireless", "options": ["survey"]},
        headers=admin,
    )
    assert created.status_code == 201 and created.json()["status"] == "applied"
    wrong = app_client.post(
        "/api/v1/contracts/C-10/devices", json={"serial": "Q2FY-AAAA-8002"}, headers=admin
    )
    assert (
        wrong.status_code == 422
        and "does not fit the wireless plan" in wrong.json()["problems"][0]["message"]
    )
    leased = app_client.post(
        "/api/v1/contracts/C-10/devices",
        headers=bearer(tokens["field"]),
        json={"serial": "Q3AJ-DDDD-8001", "acquisition": "leased", "leasing_company": "東京リース"},
    )
    assert leased.json()["devices"][0]["owner"] == {"kind": "leasing_company", "name": "東京リース"}
    accepted = app_client.post(
        "/api/v1/contracts/C-10/accept", json={"acceptance_date": "2026-06-30"}, headers=admin
    )
    assert accepted.json()["status"] == "active"
    ended = app_client.post(
        "/api/v1/contracts/C-10/end", json={"notice_date": "2027-02-03"}, headers=admin
    ).json()
    assert ended == {"number": "C-10", "end_date": "2027-02-28", "must_return": []}
    listed = app_client.get(
        "/api/v1/contracts", params={"status": "ended"}, headers=bearer(tokens["viewer"])
    ).json()["items"]
    assert [c["number"] for c in listed] == ["C-10"]


def test_catalogue_edit(app_client: TestClient, tokens: dict[str, str]) -> None:
    admin = bearer(tokens["admin"])
    bad = app_client.put(
        "/api/v1/catalogue/MX64",
        headers=admin,
        json={"product_type": "appliance", "list_price_yen": 90000, "successor": "MX999"},
    )
    assert bad.status_code == 422 and bad.json()["problems"][0]["location"] == "successor"
    ok = app_client.put(
        "/api/v1/catalogue/mx64",
        headers=admin,
        json={"product_type": "appliance", "list_price_yen": 90000, "successor": "MX67"},
    )
    assert ok.json()["list_price_yen"] == 90000
    models = {
        m["model"]: m
        for m in app_client.get("/api/v1/catalogue", headers=bearer(tokens["viewer"])).json()[
            "items"
        ]
    }
    assert models["MX64"]["successor"] == "MX67" and models["MX64"]["list_price_yen"] == 90000


def test_an_upload_that_is_no_workbook_or_has_no_rows_is_a_located_422(
    app_client: TestClient, tokens: dict[str, str]
) -> None:
    h = bearer(tokens["logistics"])
    for name, content, why in (
        ("empty.xlsx", b"", "the file is empty"),
        ("text.xlsx", b"serial,model\n", "not an Excel workbook"),
        ("header.csv", b"serial,model\n", "no data rows"),
    ):
        answer = app_client.post(
            "/api/v1/inventory/import?commit=true", files={"file": (name, content)}, headers=h
        )
        assert answer.status_code == 422, answer.text
        [problem] = answer.json()["problems"]
        assert problem["location"] == name and why in problem["message"]

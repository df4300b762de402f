"""API integrator: a token → list and paginate → the operations over HTTP with their statuses.

What the README documents: every /api/v1 endpoint needs a bearer token (401 without, 403 with a
role that may not); lists page with `limit`/`offset` and say the `total`; errors are JSON
`{error, message, details|problems}`; a creation answers 201; the doctor is for admin and noc.
The demo's inventory is the 13 units of inventory/sample/devices.csv.
"""

from __future__ import annotations

from tests.journeys.conftest import Journey

DEMO_SERIALS = {
    "Q2FY-AAAA-0001", "Q3AJ-DDDD-0001", "Q2KY-BBBB-0003", "Q2FY-AAAA-0004", "Q2FY-AAAA-0002",
    "Q2FY-AAAA-0003", "Q2KY-BBBB-0001", "Q2KY-BBBB-0002", "Q2TZ-CCCC-0001", "Q3AJ-DDDD-0002",
    "Q3AJ-DDDD-0003", "Q3AC-EEEE-0001", "Q3AC-EEEE-0002",
}  # fmt: skip
FAILED = "Q3AJ-DDDD-0001"  # 東京本社's MR36 (leased), 株式会社さくら商事
SPARE = "Q3AJ-DDDD-0003"


def _token(j: Journey, name: str, role: str) -> str:
    issued = j.http("POST", "/tokens", json={"name": name, "role": role}, status=201)
    assert issued["role"] == role
    token: str = issued["token"]
    return token


def test_api_integrator(journey: Journey) -> None:
    j = journey
    logi, noc = _token(j, "erp-sync", "logistics"), _token(j, "noc-desk", "noc")

    anonymous = j.client.get("/api/v1/devices")
    assert anonymous.status_code == 401 and anonymous.json()["error"]

    seen: list[str] = []
    offset = 0
    while True:
        page = j.http("GET", f"/devices?limit=5&offset={offset}", token=logi)
        assert page["total"] == 13 and page["limit"] == 5 and len(page["items"]) <= 5
        seen += [d["serial"] for d in page["items"]]
        offset += 5
        if offset >= page["total"]:
            break
    assert len(seen) == 13 and set(seen) == DEMO_SERIALS
    stock = j.http("GET", "/devices?status=in_stock&limit=100", token=logi)
    assert stock["total"] == 9

    missing = j.http("GET", "/devices/Q2FY-NONE-0000", token=logi, status=404)
    assert set(missing) >= {"error", "message"}
    bad = j.http("POST", "/rmas", token=noc, json={"serial": FAILED}, status=422)
    assert set(bad) >= {"error", "message"}

    body = {"serial": FAILED, "symptom": "電波が出ない", "reporter": "総務 田中"}
    j.http("POST", "/rmas", token=logi, json=body, status=403)  # logistics does not open
    opened = j.http("POST", "/rmas", token=noc, json=body, status=201)
    rma = opened["id"]
    by_number = j.http(
        "GET", f"/rmas/{opened['number']}", token=logi
    )  # RMA-000001, as people see it
    assert by_number["id"] == rma
    j.http("POST", f"/rmas/{rma}/decide", token=noc, json={"replace": True})
    reserved = j.http("POST", f"/rmas/{rma}/reserve", token=logi, json={"serial": SPARE})
    assert reserved["replacement_serial"] == SPARE
    j.http(
        "POST", f"/rmas/{rma}/ship", token=logi, json={"courier": "ヤマト", "tracking_number": "9"}
    )
    who = {"swapped_by": "customer", "swapped_by_name": "総務 田中"}  # an AP: the customer swaps
    swapped = j.http("POST", f"/rmas/{rma}/swap", token=logi, json=who)
    assert swapped["status"] == "swapped"
    device = j.sandbox.dashboard_api().devices.getDevice(SPARE)
    assert device["networkId"] == "N_demo_tokyo"
    listed = j.http("GET", "/rmas?limit=10", token=logi)
    assert listed["total"] == 1 and [r["id"] for r in listed["items"]] == [rma]

    for listing in ("/jobs", "/change-requests", "/surveys", "/vpn/builds", "/rmas"):
        page = j.http("GET", f"{listing}?limit=2&offset=0", token=logi)
        assert isinstance(page, dict), f"{listing} is not a page: {page!r}"
        assert set(page) >= {"total", "limit", "offset", "items"}, listing  # one page shape

    j.http("GET", "/doctor", token=logi, status=403)
    doctor = j.http("GET", "/doctor", token=noc)
    assert doctor["clean"] is True, doctor["violations"]

    j.http("DELETE", "/tokens/erp-sync")
    assert (
        j.client.get("/api/v1/devices", headers={"Authorization": f"Bearer {logi}"}).status_code
        == 401
    )
    j.finish()

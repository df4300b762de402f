"""The logistics pages without a browser: the board, an RMA's page and notice, who may see
them, the scan bench's warnings before any change, CSRF refusals and double submits."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from rma.sweep import sweep
from tests.conftest import ADMIN
from tests.service.rma_builders import (
    AP,
    FAILED,
    SPARE,
    UNVERIFIED,
    build_world,
    open_and_decide,
    shipped_rma,
)
from tests.web.logistics_world import actions, record_swap, reserved_rma, status_of

FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')


def form_key(html: str) -> str:
    found = FORM_KEY.search(html)
    assert found, "the page has no form key"
    return found.group(1)


def test_the_board_marks_overdue_rows_and_searches(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    build_world(session, tmp_path)
    late = shipped_rma(session)  # due 2026-06-12: long past by now
    waiting = open_and_decide(session, AP)
    session.commit()
    client = web_client("logistics")
    page = client.get("/ui/logistics/")
    assert page.status_code == 200
    row = re.search(
        rf'<tr class="([^"]*)">\s*<td><a href="/ui/logistics/rmas/{late.id}"', page.text
    )
    assert row and row.group(1) == "overdue"
    assert waiting.number in page.text
    found = client.get("/ui/logistics/", params={"q": FAILED.lower(), "state": "all"})
    assert late.number in found.text and waiting.number not in found.text
    by_site = client.get("/ui/logistics/", params={"q": "本社", "state": "all"})
    assert late.number in by_site.text
    overdue = client.get("/ui/logistics/", params={"due": "overdue"})
    assert late.number in overdue.text and waiting.number not in overdue.text
    bad = client.get("/ui/logistics/", params={"state": "nonsense"})
    assert bad.status_code == 422


def test_an_rma_page_has_its_history_and_the_notice_one_click_away(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    sweep(session=session, actor=ADMIN, now=datetime(2026, 6, 20, tzinfo=UTC))
    session.commit()
    client = web_client("logistics")
    page = client.get(f"/ui/logistics/rmas/{rma.id}")
    assert page.status_code == 200
    for action in ("rma.open", "rma.shipped", "rma.swapped", "rma.overdue", "rma.charged"):
        assert f"<code>{action}</code>" in page.text
    assert "¥140,800" in page.text
    link = f'href="/ui/logistics/rmas/{rma.id}/notice.pdf"'
    assert link in page.text
    pdf = client.get(f"/ui/logistics/rmas/{rma.id}/notice.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize("role", ["noc", "field", "viewer", "customer"])
def test_only_logistics_and_admin_use_the_pages(
    role: str, session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    client = web_client(role)
    for url in ("/ui/logistics/", "/ui/logistics/scan?mode=ship", "/ui/logistics/inventory"):
        assert client.get(url).status_code == 403, (role, url)
    assert web_client("admin").get("/ui/logistics/").status_code == 200


def test_a_mismatched_serial_is_warned_before_anything_changes(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session)
    session.commit()
    before = actions(session, "rma.exception")
    client = web_client("logistics")
    # the replacement came back instead of the failed unit
    page = client.get("/ui/logistics/scan", params={"mode": "receive", "serial": SPARE})
    assert page.status_code == 200
    assert 'data-warning="wrong_unit"' in page.text and FAILED in page.text
    assert actions(session, "rma.exception") == before and status_of(session, rma.id or 0) == (
        "swapped"
    )
    answer = client.post(
        "/ui/logistics/scan/receive",
        data={
            "serial": SPARE,
            "rma_id": str(rma.id),
            "action": "receive_mismatch",
            "disposition": "refurbish",
            "form_key": form_key(page.text),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert status_of(session, rma.id or 0) == "exception"


def test_a_double_submitted_ship_form_ships_once(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    rma = reserved_rma(session, tmp_path)
    client = web_client("logistics")
    page = client.get("/ui/logistics/scan", params={"mode": "ship", "serial": SPARE})
    assert 'action="/ui/logistics/scan/ship"' in page.text
    form = {
        "serial": SPARE,
        "rma_id": str(rma.id),
        "action": "ship",
        "courier": "ヤマト運輸",
        "tracking_number": "1111-2222-3333",
        "form_key": form_key(page.text),
    }
    first = client.post("/ui/logistics/scan/ship", data=form, follow_redirects=False)
    second = client.post("/ui/logistics/scan/ship", data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert actions(session, "rma.shipped") == 1
    assert status_of(session, rma.id or 0) == "shipped"


def test_a_form_without_its_csrf_token_changes_nothing(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    rma = reserved_rma(session, tmp_path)
    client = web_client("logistics")
    page = client.get("/ui/logistics/scan", params={"mode": "ship", "serial": SPARE})
    form = {
        "serial": SPARE,
        "rma_id": str(rma.id),
        "action": "ship",
        "courier": "ヤマト運輸",
        "tracking_number": "1",
        "form_key": form_key(page.text),
    }
    refused = client.post("/ui/logistics/scan/ship", data=form, csrf=False)
    assert refused.status_code == 403
    forged = client.post(
        "/ui/logistics/scan/ship", data=form | {"csrf_token": "x" * 40}, csrf=False
    )
    assert forged.status_code == 403
    assert status_of(session, rma.id or 0) == "replacement_reserved"
    assert actions(session, "rma.shipped") == 0


def test_missing_courier_comes_back_next_to_its_field_and_the_form_works_after(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    rma = reserved_rma(session, tmp_path)
    client = web_client("logistics")
    page = client.get("/ui/logistics/scan", params={"mode": "ship", "serial": SPARE})
    form = {
        "serial": SPARE,
        "rma_id": str(rma.id),
        "action": "ship",
        "courier": "",
        "tracking_number": "123",
        "form_key": form_key(page.text),
    }
    again = client.post("/ui/logistics/scan/ship", data=form)
    assert again.status_code == 422
    assert 'id="f-courier-problems"' in again.text and "courier is required" in again.text
    assert status_of(session, rma.id or 0) == "replacement_reserved"
    # the same form key again, fixed: the refused post left no claim behind
    done = client.post("/ui/logistics/scan/ship", data=form | {"courier": "佐川急便"})
    assert done.status_code == 200 and status_of(session, rma.id or 0) == "shipped"


def test_receive_refuses_an_unchecked_unit_and_receives_the_right_one(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    rma = reserved_rma(session, tmp_path)
    client = web_client("logistics")
    page = client.get(
        "/ui/logistics/scan", params={"mode": "ship", "serial": UNVERIFIED, "rma": rma.number}
    )
    assert 'data-warning="not_verified"' in page.text
    assert 'action="/ui/logistics/scan/ship"' not in page.text  # nothing to confirm
    shipped = client.get("/ui/logistics/scan", params={"mode": "ship", "serial": SPARE})
    client.post(
        "/ui/logistics/scan/ship",
        data={
            "serial": SPARE,
            "rma_id": str(rma.id),
            "action": "ship",
            "courier": "ヤマト運輸",
            "tracking_number": "9",
            "form_key": form_key(shipped.text),
        },
    )
    record_swap(session, rma.id or 0)
    back = client.get("/ui/logistics/scan", params={"mode": "receive", "serial": FAILED})
    assert "data-warning" not in back.text
    done = client.post(
        "/ui/logistics/scan/receive",
        data={
            "serial": FAILED,
            "rma_id": str(rma.id),
            "action": "receive",
            "disposition": "dispose",
            "form_key": form_key(back.text),
        },
        follow_redirects=False,
    )
    assert done.headers["location"] == f"/ui/logistics/rmas/{rma.id}?done=received"
    assert status_of(session, rma.id or 0) == "closed"


def test_an_unknown_or_malformed_rma_number_is_shown_next_to_its_field(
    session: Session, tmp_path: Path, web_client: Callable[[str], Any]
) -> None:
    reserved_rma(session, tmp_path)
    client = web_client("logistics")
    for ref in ("RMA-999999", "R-12"):
        page = client.get(
            "/ui/logistics/scan", params={"mode": "ship", "serial": SPARE, "rma": ref}
        )
        assert page.status_code == 422 and 'id="f-rma-problems"' in page.text, ref
        assert 'action="/ui/logistics/scan/ship"' not in page.text

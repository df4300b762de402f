"""The logistics clerk's journey in a real Chromium: scan → ship → swap (on the RMA's page) →
receive, with the serial-match warning shown before anything changes, and a double tap shipping
(and swapping) once."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlmodel import Session

from tests.service.rma_builders import FAILED, SPARE
from tests.web.logistics_world import actions, reserved_rma, status_of


def scan(page: Any, mode: str, serial: str) -> None:
    """Type into the focused scan input as a USB scanner does, Enter included."""
    page.goto(f"/ui/logistics/scan?mode={mode}")
    field = page.locator("#f-serial")
    assert field.evaluate("el => el === document.activeElement"), "the scan input has focus"
    page.keyboard.type(serial)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "serial=" in page.url


def test_scan_ship_then_receive(
    session: Session,
    tmp_path: Path,
    signed_in_page: Callable[[str], Any],
    shot: Callable[[Any, str], Path],
) -> None:
    rma = reserved_rma(session, tmp_path)
    rma_id = rma.id or 0
    page = signed_in_page("logistics")
    page.goto("/ui/logistics/")
    assert rma.number in page.inner_text("table.board")
    shot(page, "board")

    scan(page, "ship", SPARE.lower())
    assert rma.number in page.inner_text("#match")
    assert page.locator(".warnings").count() == 0
    assert status_of(session, rma_id) == "replacement_reserved"  # the scan changed nothing
    page.fill("#f-courier", "ヤマト運輸")
    page.fill("#f-tracking_number", "1234-5678-9012")
    shot(page, "ship-preview")
    page.dblclick("button[data-confirm]")  # a double tap
    # the second tap's request may abort the first's navigation (net::ERR_ABORTED, which
    # `wait_for_url` raises on): the page's address is what the tap must end on
    expect(page).to_have_url(re.compile(rf"/ui/logistics/rmas/{rma_id}\?done=shipped$"))
    assert status_of(session, rma_id) == "shipped"
    assert actions(session, "rma.shipped") == 1
    shot(page, "shipped")

    # the engineer reports the swap: recorded on the RMA's page (a double tap records it once)
    swap = page.locator("#act-swap")
    swap.locator("select[name=swapped_by]").select_option("provider")
    swap.locator("input[name=update_dashboard]").uncheck()  # the records only, this time
    shot(page, "swap-form")
    swap.locator("button[type=submit]").dblclick()
    expect(page).to_have_url(re.compile(rf"/ui/logistics/rmas/{rma_id}\?done=swap$"))
    assert status_of(session, rma_id) == "swapped"
    assert actions(session, "rma.swapped") == 1
    assert page.locator("#act-swap").count() == 0 and page.locator("#act-pickup").count() == 1
    # the customer sent the replacement back instead of the failed unit: warned, nothing done
    scan(page, "receive", SPARE)
    warning = page.locator('[data-warning="wrong_unit"]')
    assert warning.is_visible() and FAILED in warning.inner_text()
    assert status_of(session, rma_id) == "swapped"
    shot(page, "receive-wrong-unit-warning")

    scan(page, "receive", FAILED)
    assert page.locator(".warnings").count() == 0
    page.check("input[name=disposition][value=dispose]")
    shot(page, "receive-preview")
    page.click("button[data-confirm]")
    page.wait_for_url(f"**/ui/logistics/rmas/{rma_id}?done=received")
    assert status_of(session, rma_id) == "closed"
    assert "rma.received" in page.inner_text("main")
    shot(page, "received")


def test_the_scan_bench_fits_a_handheld(
    session: Session,
    tmp_path: Path,
    phone_page: Callable[[str], Any],
    shot: Callable[[Any, str], Path],
) -> None:
    """A warehouse handheld (360 px): the scan, its warnings and the confirm without side scroll."""
    reserved_rma(session, tmp_path)
    page = phone_page("logistics")
    scan(page, "ship", SPARE)
    page.fill("#f-courier", "ヤマト運輸")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.locator("button[data-confirm]").is_visible()
    shot(page, "phone-ship-preview")

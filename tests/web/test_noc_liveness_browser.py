"""Device liveness in chromium: the device down now, and an RMA opened from its outage in one
click (the monitoring service links the two both ways)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.api.test_monitoring_api import an_outage
from tests.service.rma_builders import FAILED, build_world
from tests.web.conftest import WebServer


def test_an_rma_opened_from_an_outage_in_one_click(
    signed_in_page: Callable[..., Any],
    web_server: WebServer,
    session: Any,
    tmp_path: Path,
    shot: Callable[[Any, str], Any],
) -> None:
    build_world(session, tmp_path)
    outage_id = an_outage(session)
    page = signed_in_page("noc")
    page.goto("/ui/noc/liveness")
    row = page.locator(f"tr[data-outage='{outage_id}']")
    assert FAILED in row.inner_text() and "停止中" in row.inner_text()
    shot(page, "down-now")
    row.locator("button[type=submit]").click()
    page.wait_for_url("**/ui/noc/liveness?done=rma_opened*")
    told = page.locator("[data-done=rma_opened]").inner_text()
    number = page.locator(f"tr[data-outage='{outage_id}'] td").last.inner_text().strip()
    assert number and number in told
    assert page.locator(f"tr[data-outage='{outage_id}'] form").count() == 0  # opened once
    shot(page, "rma-opened")

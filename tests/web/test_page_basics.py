"""What every page shares, in chromium: the language toggle (kept on the account), keyboard
access (skip link, visible focus, labelled inputs), a 360 px phone without sideways scrolling,
and the scanner input (Enter submits; a camera button only where BarcodeDetector exists)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import select

from core.models import AuditEntry
from tests.web import probe
from tests.web.conftest import WebServer, sign_in

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden' && !e.labels.length && !e.getAttribute('aria-label'))
  .map(e => e.name)"""
WIDER_THAN_SCREEN = "() => document.documentElement.scrollWidth > window.innerWidth"


def test_the_language_toggle_switches_the_page_and_is_kept_on_the_account(
    browser: Any, web_server: WebServer, web_account: Callable[..., tuple[str, str]]
) -> None:
    name, password = web_account("noc")
    context = browser.new_context(base_url=web_server.url)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto("/ui/login")
        page.get_by_role("link", name="English").click()
        assert page.locator("h1").inner_text() == "Sign in"  # before signing in: a cookie
        sign_in(page, name, password)
        assert page.locator("h1").inner_text() == "NOC home"
        page.get_by_role("link", name="日本語").click()
        assert page.url == web_server.url + "/ui/noc/"
        assert page.locator("h1").inner_text() == "NOC ホーム"
        assert page.locator("html").get_attribute("lang") == "ja"
        page.get_by_role("link", name="English").click()
        assert page.locator("html").get_attribute("lang") == "en"
    finally:
        context.close()
    elsewhere = browser.new_context(base_url=web_server.url)  # another browser, no cookie
    try:
        page = elsewhere.new_page()
        page.goto("/ui/login")
        assert page.locator("h1").inner_text() == "サインイン"
        sign_in(page, name, password)
        assert page.locator("h1").inner_text() == "NOC home"  # the account's choice
    finally:
        elsewhere.close()


def test_keyboard_and_phone_basics(
    browser: Any,
    web_server: WebServer,
    signed_in_page: Callable[..., Any],
    phone_page: Callable[..., Any],
    shot: Callable[[Any, str], Any],
) -> None:
    context = browser.new_context(base_url=web_server.url)
    try:
        login = context.new_page()
        login.goto("/ui/login")
        assert login.evaluate(UNLABELLED) == []
        assert login.evaluate("document.activeElement.id") == "name"  # ready to type
        outline = login.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("", "none")  # focus is visible
    finally:
        context.close()
    page = signed_in_page("noc")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.inner_text() == "本文へ移動"  # the first stop: skip the menu
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for role in ("logistics", "customer"):
        phone = phone_page(role)
        assert phone.evaluate(WIDER_THAN_SCREEN) is False, role
        assert phone.evaluate(UNLABELLED) == []
        shot(phone, f"phone-{role}")
    phone.goto("/ui/login?next=/ui/portal/")  # signed in: straight on
    assert phone.url.endswith("/ui/portal/")


def test_a_scanner_types_and_enter_submits_and_the_camera_needs_barcodedetector(
    browser: Any, web_server: WebServer, signed_in_page: Callable[..., Any]
) -> None:
    web_server.app.api.include_router(probe.router)
    page = signed_in_page("logistics")
    page.context.add_init_script("delete window.BarcodeDetector;")
    page.goto("/ui/probe/")
    assert page.evaluate("document.activeElement.name") == "serial"  # focused for the scanner
    assert page.locator("[data-scan-camera]").is_hidden()  # no BarcodeDetector: no button
    page.keyboard.type("Q2FY-AAAA-0001")
    page.keyboard.press("Enter")
    page.locator("#scanned").wait_for()
    assert page.locator("#scanned").inner_text() == "Q2FY-AAAA-0001"
    page.goto("/ui/probe/")  # an HTMX form without the hidden token: app.js sends the header
    page.get_by_role("button", name="htmx", exact=True).click()
    page.locator("#hx-result h1").wait_for()
    page.get_by_role("button", name="htmx empty").click()  # a 422 re-render is swapped in
    assert page.locator("#hx-422 ul.problems li").inner_text() == "must not be empty"
    with web_server.db() as session:
        sent = session.exec(select(AuditEntry).where(AuditEntry.action == "probe.note")).all()
    assert [e.entity_id for e in sent] == ["by htmx"]
    with_camera = signed_in_page("logistics")
    with_camera.context.add_init_script("window.BarcodeDetector = class { detect() {} };")
    with_camera.goto("/ui/probe/")
    assert with_camera.get_by_role("button", name="カメラで読み取る").is_visible()

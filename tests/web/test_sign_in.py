"""Signing in through the real login form in chromium: each role lands on its own home; a wrong
password is told and signs no one in; signing out ends the session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.web.conftest import WebServer, sign_in

# Where each role's work is (issue 12), stated here, not read from web/session.py.
HOMES = {
    "logistics": ("/ui/logistics/", "物流ホーム"),
    "noc": ("/ui/noc/", "NOC ホーム"),
    "admin": ("/ui/noc/", "NOC ホーム"),
    "field": ("/ui/field/", "現地作業ホーム"),
    "customer": ("/ui/portal/", "お客様ポータル"),
}


def test_each_role_lands_on_its_home(
    browser: Any,
    web_server: WebServer,
    web_account: Callable[..., tuple[str, str]],
    shot: Callable[[Any, str], Any],
) -> None:
    context = browser.new_context(base_url=web_server.url)
    try:
        page = context.new_page()
        for role, (path, heading) in HOMES.items():
            name, password = web_account(role)
            sign_in(page, name, password)
            assert page.url == web_server.url + path, role
            assert page.locator("h1").inner_text() == heading
            assert page.locator("html").get_attribute("lang") == "ja"
            if role == "customer":
                shot(page, "portal-home")
            page.click("form[action='/ui/logout'] button")
            page.wait_for_url("**/ui/login?out=1")
    finally:
        context.close()


def test_a_wrong_password_is_told_and_signs_no_one_in(
    browser: Any, web_server: WebServer, web_account: Callable[..., tuple[str, str]]
) -> None:
    name, _password = web_account("noc")
    context = browser.new_context(base_url=web_server.url)
    try:
        page = context.new_page()
        sign_in(page, name, "not-the-password")
        assert "/ui/login" in page.url
        assert page.get_by_role("alert").inner_text() == (
            "アカウント名またはパスワードが違うか、アカウントが無効です。"
        )
        page.goto("/ui/noc/")
        assert "/ui/login?next=/ui/noc/" in page.url  # still not signed in
    finally:
        context.close()


def test_signing_out_ends_the_session(
    signed_in_page: Callable[..., Any], web_server: WebServer
) -> None:
    page = signed_in_page("field")
    assert page.url.endswith("/ui/field/")
    page.click("form[action='/ui/logout'] button")
    page.wait_for_url("**/ui/login?out=1")
    assert page.get_by_role("status").inner_text() == "サインアウトしました。"
    page.goto("/ui/field/")
    assert "/ui/login" in page.url


@pytest.mark.parametrize("role", ["field"])
def test_a_staff_page_refuses_a_customer_and_the_portal_refuses_staff(
    web_client: Callable[..., Any], role: str
) -> None:
    customer = web_client("customer")
    assert customer.get("/ui/field/").status_code == 403
    staff = web_client(role)
    refused = staff.get("/ui/portal/")
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]
    assert "この操作は許可されていません。" in refused.text

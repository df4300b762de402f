"""Sign-in details: only a local /ui path may follow sign-in (no open redirect), the cookie's
flags, and who the audit names for a page's action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import LOGIN_TOKEN
from web.session import WebUser, actor_of, safe_next


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/ui/", "//evil.example/ui/", "/api/v1/devices", "/ui\\..\\x", "", None],
)
def test_only_a_local_ui_path_may_follow_sign_in(target: str | None) -> None:
    assert safe_next(target) is None


def test_a_local_ui_path_follows_sign_in() -> None:
    assert safe_next("/ui/logistics/rma/RMA-000004?tab=ship") == (
        "/ui/logistics/rma/RMA-000004?tab=ship"
    )


def test_the_audit_names_the_account_and_a_customer_as_such() -> None:
    staff = WebUser(account="sato", role="noc", customer=None, locale="ja", csrf_token="t")
    customer = WebUser(
        account="aoba", role="customer", customer="あおば", locale="ja", csrf_token="t"
    )
    assert (actor_of(staff).name, actor_of(staff).role) == ("sato", "noc")
    assert (actor_of(customer).name, actor_of(customer).role) == ("customer:aoba", "customer")


def test_sign_in_sets_a_strict_cookie_and_goes_where_it_was_asked_locally(
    web_app: Any, web_account: Callable[..., tuple[str, str]]
) -> None:
    name, password = web_account("logistics")
    for asked, landed in (
        ("/ui/logistics/?tab=stock", "/ui/logistics/?tab=stock"),
        ("https://evil.example/", "/ui/logistics/"),
    ):
        with TestClient(web_app) as client:
            form = client.get("/ui/login", params={"next": asked})
            token = LOGIN_TOKEN.search(form.text)
            assert token
            answer = client.post(
                "/ui/login",
                data={
                    "name": name,
                    "password": password,
                    "login_token": token.group(1),
                    "next": asked,
                },
                follow_redirects=False,
            )
            assert answer.headers["location"] == landed
            cookie = answer.headers["set-cookie"].lower()
            assert "netkeep_session=" in cookie and "httponly" in cookie
            assert "samesite=lax" in cookie and "path=/" in cookie
    with TestClient(web_app) as client:
        client.get("/ui/login")
        forged = client.post(
            "/ui/login",
            data={"name": name, "password": password, "login_token": "made-up"},
            follow_redirects=False,
        )
        assert forged.status_code == 403  # the sign-in form's own token

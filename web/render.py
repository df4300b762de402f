"""Pages rendered from Jinja2 templates, with what every template may use in its context."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from core.timeutil import TOKYO, as_utc
from web.i18n import LANG_COOKIE, normal_lang, translator
from web.session import WebUser

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        tokyo=tokyo, yen=yen, new_form_key=new_form_key, nav_links=nav_links, page_url=page_url
    )
    return env


def tokyo(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) instant as people here read it: Asia/Tokyo."""
    if value is None:
        return ""
    return as_utc(value).astimezone(TOKYO).strftime(fmt)


def yen(amount: int | None) -> str:
    """Integer yen: ¥12,345 (a minus sign before the yen sign)."""
    if amount is None:
        return ""
    return f"-¥{-amount:,}" if amount < 0 else f"¥{amount:,}"


NAV: dict[str, tuple[tuple[str, str], ...]] = {
    "admin": (
        ("common.nav_noc", "/ui/noc/"),
        ("common.nav_logistics", "/ui/logistics/"),
        ("common.nav_field", "/ui/field/"),
    ),
    "noc": (("common.nav_noc", "/ui/noc/"),),
    "viewer": (("common.nav_noc", "/ui/noc/"),),
    "logistics": (("common.nav_logistics", "/ui/logistics/"),),
    "field": (("common.nav_field", "/ui/field/"),),
    "customer": (("common.nav_portal", "/ui/portal/"),),
}


def nav_links(role: str) -> tuple[tuple[str, str], ...]:
    """The menu of a role: (message key, href)."""
    return NAV.get(role, ())


def page_url(request: Request, offset: int, limit: int) -> str:
    """This page's URL with another offset (and limit), its other query parameters kept."""
    params = dict(request.query_params)
    params.update(offset=str(offset), limit=str(limit))
    return request.url.path + "?" + urlencode(params)


def new_form_key() -> str:
    """A fresh idempotency key for one rendering of a form (hidden field `form_key`)."""
    return secrets.token_urlsafe(16)


def request_lang(request: Request, user: WebUser | None) -> str:
    if user is not None:
        return normal_lang(user.locale)
    return normal_lang(request.cookies.get(LANG_COOKIE))


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    user: WebUser | None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The template rendered for `user` in their language (an anonymous visitor: the cookie's)."""
    full = {**page_context(request, user), **context}
    html = environment().get_template(template).render(full)
    return HTMLResponse(
        html, status_code=status_code, headers={"Cache-Control": "no-store", **(headers or {})}
    )


def page_context(request: Request, user: WebUser | None) -> dict[str, Any]:
    """What every template may use: user, _, lang, csrf_token, new_form_key, request, tokyo,
    yen, request_id and here (this page's path and query)."""
    lang = request_lang(request, user)
    return {
        "user": user,
        "_": translator(lang),
        "lang": lang,
        "csrf_token": user.csrf_token if user is not None else "",
        "new_form_key": new_form_key,
        "request": request,
        "tokyo": tokyo,
        "yen": yen,
        "request_id": getattr(request.state, "request_id", ""),
        "here": _here(request),
    }


def _here(request: Request) -> str:
    path = request.url.path
    return path + ("?" + request.url.query if request.url.query else "")

"""Errors under /ui answered as pages: the API's status, in the reader's language."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from web.i18n import catalogue
from web.session import LoginRequired, WebUser, login_redirect_url

Handler = Callable[[Request, Exception], Awaitable[Response]]


def is_page(request: Request) -> bool:
    path = request.url.path
    return path == "/ui" or path.startswith("/ui/")


def page_aware(handler: Handler) -> Handler:
    """`handler` (the API's JSON error) as an error page when the request is for /ui."""

    async def answer(request: Request, exc: Exception) -> Response:
        response = await handler(request, exc)
        if not is_page(request) or not isinstance(response, Response):
            return response
        return error_page(request, exc, response)

    return answer


def error_page(request: Request, exc: Exception, api_answer: Response) -> HTMLResponse:
    from web.render import render

    body: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        body = json.loads(bytes(api_answer.body))
    status = api_answer.status_code
    user: WebUser | None = getattr(request.state, "web_user", None)
    code = str(body.get("error", ""))
    key = "common.error_csrf" if code == "csrf_refused" else f"common.error_{status}"
    if key not in catalogue():
        key = "common.error_500" if status >= 500 else "common.error_400"
    headers = {k: v for k, v in api_answer.headers.items() if k.lower() in ("retry-after", "allow")}
    return render(
        request,
        "error.html",
        {
            "status": status,
            "summary_key": key,
            "message": str(body.get("message", "")),
            "problems": list(body.get("problems", [])),
            "code": code,
        },
        user=user,
        status_code=status,
        headers=headers,
    )


async def login_required(request: Request, exc: Exception) -> Response:
    """No live session: to the sign-in page (HTMX: told to go there itself)."""
    assert isinstance(exc, LoginRequired)
    target = login_redirect_url(exc.next_path)
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)

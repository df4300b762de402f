"""The /ui pages mounted on the API app: static files, sign-in/out, language, audiences."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import FormData

from api.deps import SessionDep, SessionRoute
from core.audit import Actor
from core.errors import AuthenticationFailed
from core.policy import Operation
from core.settings import Settings
from core.timeutil import utcnow
from web import accounts, sign_in_throttle
from web.errors import login_required
from web.forms import CheckedForm, CsrfRefused
from web.i18n import LANG_COOKIE, LANGS
from web.progress import events_for, read_job
from web.render import render
from web.session import (
    COOKIE,
    CurrentWebUser,
    LoginRequired,
    WebUser,
    end_session,
    home_of,
    live_session,
    safe_next,
    staff_user,
    start_session,
)
from web.sse import sse_response

STATIC = Path(__file__).parent / "static"
LOGIN_COOKIE = "netkeep_login"  # the sign-in form's own CSRF token (double submit)
router = APIRouter(prefix="/ui", include_in_schema=False, route_class=SessionRoute)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def _form(request: Request) -> FormData:
    return await request.form()


RawForm = Annotated[FormData, Depends(_form)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.get("", include_in_schema=False)
def ui_root_bare() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=303)


@router.get("/")
def ui_root(user: CurrentWebUser) -> RedirectResponse:
    """The signed-in user's home, by role."""
    return RedirectResponse(home_of(user.role), status_code=303)


def _login_page(
    request: Request,
    *,
    next_path: str,
    status_code: int = 200,
    failed: bool = False,
    retry_after: int | None = None,
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    notice = None
    if request.query_params.get("out") == "1":
        notice = "common.signed_out"
    elif request.query_params.get("next") and not failed and retry_after is None:
        notice = "common.session_ended"
    response = render(
        request,
        "login.html",
        {
            "next": next_path,
            "login_token": token,
            "failed": failed,
            "notice": notice,
            "locked_minutes": None if retry_after is None else -(-retry_after // 60),
        },
        user=None,
        status_code=status_code,
        headers=None if retry_after is None else {"Retry-After": str(retry_after)},
    )
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/ui"
    )
    return response


def _attempt(request: Request, name: str) -> sign_in_throttle.Attempt:
    """Who is trying to sign in, from where (the audit's actor is the anonymous browser)."""
    address = request.client.host if request.client else "unknown"
    actor = Actor(
        name="anonymous", role="none", request_id=getattr(request.state, "request_id", None)
    )
    return sign_in_throttle.Attempt(name=accounts.normal_name(name), address=address, actor=actor)


@router.get("/login")
def login_form(request: Request, session: SessionDep) -> Response:
    settings: Settings = request.app.state.settings
    next_path = safe_next(request.query_params.get("next")) or ""
    found = live_session(
        session=session, token=request.cookies.get(COOKIE), settings=settings, now=utcnow()
    )
    if found is not None:
        return RedirectResponse(next_path or home_of(found[1].role), status_code=303)
    return _login_page(request, next_path=next_path)


@router.post("/login")
def login(request: Request, session: SessionDep, form: RawForm) -> Response:
    """Check the name and password; on success a new session and its home (or `next`)."""
    sent = _text(form, "login_token")
    kept = request.cookies.get(LOGIN_COOKIE, "")
    if not sent or not kept or not hmac.compare_digest(sent.encode(), kept.encode()):
        raise CsrfRefused("the sign-in form has expired; nothing was changed")
    next_path = safe_next(_text(form, "next")) or ""
    settings: Settings = request.app.state.settings
    attempt = _attempt(request, _text(form, "name"))
    now = utcnow()
    if (wait := sign_in_throttle.refusal(session=session, attempt=attempt, now=now)) is not None:
        return _login_page(request, next_path=next_path, status_code=429, retry_after=wait)
    try:
        account = accounts.verify_password(
            session=session, name=attempt.name, password=_text(form, "password")
        )
    except AuthenticationFailed:
        wait = sign_in_throttle.record_failure(
            session=session, attempt=attempt, now=now, settings=settings
        )
        if wait is not None:
            return _login_page(request, next_path=next_path, status_code=429, retry_after=wait)
        return _login_page(request, next_path=next_path, status_code=401, failed=True)
    sign_in_throttle.record_success(session=session, attempt=attempt)
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGS and chosen != account.locale:  # the language picked on this browser last
        accounts.set_locale(session=session, name=account.name, locale=chosen)
    end_session(session=session, token=request.cookies.get(COOKIE))
    token = start_session(session=session, account=account, settings=settings, now=utcnow())
    response = RedirectResponse(next_path or home_of(account.role), status_code=303)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="lax", secure=_secure(request), path="/"
    )
    response.delete_cookie(LOGIN_COOKIE, path="/ui")
    return response


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, user: CurrentWebUser, form: CheckedForm
) -> Response:
    end_session(session=session, token=request.cookies.get(COOKIE))
    response = RedirectResponse("/ui/login?out=1", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/lang")
def switch_language(request: Request, session: SessionDep) -> Response:
    """`?to=en&next=/ui/…`: the language for this browser, and the signed-in account's too."""
    to = request.query_params.get("to", "")
    target = safe_next(request.query_params.get("next")) or "/ui/"
    response = RedirectResponse(target, status_code=303)
    if to not in LANGS:
        return response
    settings: Settings = request.app.state.settings
    found = live_session(
        session=session, token=request.cookies.get(COOKIE), settings=settings, now=utcnow()
    )
    if found is not None:
        accounts.set_locale(session=session, name=found[1].name, locale=to)
    response.set_cookie(
        LANG_COOKIE, to, max_age=365 * 86400, samesite="lax", secure=_secure(request), path="/"
    )
    return response


@router.get("/jobs/{job_id}/events")
def job_events(
    request: Request,
    job_id: int,
    session: SessionDep,
    user: Annotated[WebUser, staff_user(Operation.READ)],
) -> Response:
    """A provisioning job's progress as server-sent events (web/progress.py), for staff."""
    read_job(session=session, job_id=job_id)  # 404 page for an unknown job, before streaming
    return sse_response(events_for(request, user, job_id))


def mount_web(app: FastAPI) -> None:
    """Static files, the sign-in routes and each audience's pages, kept out of the OpenAPI."""
    from web import field, logistics, noc, portal

    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.add_exception_handler(LoginRequired, login_required)
    app.include_router(router)
    for audience in (logistics, noc, field, portal):
        app.include_router(audience.router, include_in_schema=False)

"""Posted forms: the CSRF check, idempotency keys (a double submit does one thing), problems."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from starlette.datastructures import FormData

from core.errors import Conflict, PermissionDenied, Problem, ValidationFailed
from web.models import FormSubmission
from web.session import CurrentWebUser, WebUser

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
FORM_KEY_FIELD = "form_key"
FORM_KEY_MAX = 64
GENERAL = "__all__"


class CsrfRefused(PermissionDenied):
    """The form's CSRF token is missing or is not this session's."""

    code = "csrf_refused"


async def posted_form(request: Request, user: WebUser) -> FormData:
    """The posted form once its CSRF token (field or header) is the session's; else a 403 page."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    token = sent if isinstance(sent, str) and sent else request.headers.get(CSRF_HEADER, "")
    if not token or not hmac.compare_digest(token.encode(), user.csrf_token.encode()):
        raise CsrfRefused("the form's security token is missing or expired; nothing was changed")
    return form


def form_key_of(form: FormData) -> str:
    value = form.get(FORM_KEY_FIELD)
    return value if isinstance(value, str) else ""


def claim_submission(*, session: Session, key: str, account: str, scope: str) -> str | None:
    """Record a form's idempotency key in the caller's transaction.

    Returns None the first time (go on and do the work), else the earlier submission's result URL
    (redirect there; do nothing). A key another account used is refused. When the work is then
    refused (ValidationFailed), `release_submission` and re-render the form with its problems.
    """
    if not 8 <= len(key) <= FORM_KEY_MAX:
        raise ValidationFailed(
            [Problem("the form has no valid form key; reload the page", location=FORM_KEY_FIELD)]
        )
    earlier = _earlier(session, key)
    if earlier is None:
        try:
            with session.begin_nested():
                session.add(FormSubmission(key=key, account=account, scope=scope[:80]))
        except IntegrityError:  # the same form posted twice at once; the other one won
            earlier = _earlier(session, key)
            if earlier is None:
                raise
        else:
            return None
    if earlier.account != account:
        raise Conflict("this form was sent by another account; reload the page")
    return earlier.result_url or "/ui/"


def _earlier(session: Session, key: str) -> FormSubmission | None:
    return session.exec(select(FormSubmission).where(FormSubmission.key == key)).first()


def finish_submission(*, session: Session, key: str, result_url: str) -> None:
    """Where the submission's result is shown, for a repeated post to be sent there."""
    row = _earlier(session, key)
    if row is not None:
        row.result_url = result_url[:500]
        session.add(row)


def release_submission(*, session: Session, key: str) -> None:
    """Forget a claimed key whose work was refused (a 422 re-render): the same form may be
    corrected and sent again."""
    row = _earlier(session, key)
    if row is not None:
        session.delete(row)


def problems_by_field(exc: ValidationFailed) -> dict[str, list[str]]:
    """Each problem's message under its field (the last part of its location), so a form
    re-renders with every problem next to its field; unplaced ones under `__all__`."""
    found: dict[str, list[str]] = {}
    for problem in exc.problems:
        field = problem.location.rsplit(".", 1)[-1] if problem.location else GENERAL
        found.setdefault(field or GENERAL, []).append(problem.message)
    return found


async def _checked_form(request: Request, user: CurrentWebUser) -> FormData:
    return await posted_form(request, user)


CheckedForm = Annotated[FormData, Depends(_checked_form)]
"""The posted form of a signed-in user, its CSRF token checked (for sync handlers)."""

"""What the portal's page modules share: paging bounds, the account's customer, downloads, and
the one-effect posting of a form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Query
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from web.forms import CheckedForm, claim_submission, finish_submission, form_key_of
from web.session import WebUser

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]


def customer_of(user: WebUser) -> str:
    assert user.customer, "a customer account always names its customer"
    return user.customer


def attachment(body: bytes, media_type: str, name: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def once(
    *,
    session: Session,
    user: WebUser,
    form: CheckedForm,
    scope: str,
    result_url: str,
    act: Callable[[], object],
) -> RedirectResponse:
    """Do `act` once per rendered form (its idempotency key); a repeat goes to the first result.

    The key and the act share a savepoint: a refused act leaves the key unspent, so the form
    corrected and sent again is done.
    """
    key = form_key_of(form)
    with session.begin_nested():
        earlier = claim_submission(session=session, key=key, account=user.account, scope=scope)
        if earlier is not None:
            return RedirectResponse(earlier, status_code=303)
        act()
        finish_submission(session=session, key=key, result_url=result_url)
    return RedirectResponse(result_url, status_code=303)

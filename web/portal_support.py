"""What the portal's page modules share: paging bounds, the account's customer, the list pages,
and the one-effect posting of a form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session

from api.deps import SessionDep
from api.pages import CustomerLister
from web.forms import CheckedForm, claim_submission, finish_submission, form_key_of
from web.render import render
from web.session import CustomerWebUser, WebUser

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]


def customer_of(user: WebUser) -> str:
    assert user.customer, "a customer account always names its customer"
    return user.customer


def customer_list_page(
    router: APIRouter, path: str, template: str, lister: CustomerLister[Any]
) -> None:
    """`GET path`: a page of one of the account's customer's lists, rendered by `template`."""

    def listing(
        request: Request,
        session: SessionDep,
        user: CustomerWebUser,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> HTMLResponse:
        page = lister(session=session, customer=customer_of(user), limit=limit, offset=offset)
        return render(request, template, {"page": page}, user=user)

    router.add_api_route(path, listing, methods=["GET"], name=path.strip("/").replace("-", "_"))


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

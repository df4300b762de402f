"""The portal pages (a stub of the foundation; the portal helper replaces it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from web.render import render
from web.session import CustomerWebUser

router = APIRouter(prefix="/ui/portal", include_in_schema=False)


@router.get("/")
def index(request: Request, user: CustomerWebUser) -> HTMLResponse:
    return render(request, "portal/index.html", {}, user=user)

"""The noc pages (a stub of the foundation; the noc helper replaces it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from core.policy import Operation
from web.render import render
from web.session import WebUser, staff_user

router = APIRouter(prefix="/ui/noc", include_in_schema=False)


@router.get("/")
def index(request: Request, user: Annotated[WebUser, staff_user(Operation.READ)]) -> HTMLResponse:
    return render(request, "noc/index.html", {}, user=user)

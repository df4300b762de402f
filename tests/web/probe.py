"""A test-only page on the foundation, as an audience module would write one: a form whose
posting records an audit entry once per form key, a scanner form, a job's progress page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SessionDep
from core import audit
from core.errors import Problem, ValidationFailed
from core.policy import Operation
from web.forms import (
    CheckedForm,
    claim_submission,
    finish_submission,
    form_key_of,
    problems_by_field,
)
from web.progress import progress_context
from web.render import environment, page_context
from web.session import CurrentWebUser, WebUser, actor_of, staff_user

router = APIRouter(prefix="/ui/probe", include_in_schema=False)
Staff = Annotated[WebUser, staff_user(Operation.DEVICE_STATUS)]

PAGE = """{% extends "base.html" %}{% import "macros.html" as m with context %}
{% block content %}<h1>probe</h1>
<form method="post" action="/ui/probe/note">{{ m.csrf() }}{{ m.form_key() }}
{{ m.field("text", "Text", value, by_field.get("text")) }}
<button type="submit">{{ _("common.save") }}</button></form>
<form method="post" action="/ui/probe/scanned">{{ m.csrf() }}
{{ m.scan_input("serial", "Serial") }}</form>
<form hx-post="/ui/probe/note" hx-target="#hx-result" hx-select="h1">{{ m.form_key() }}
<input type="hidden" name="text" value="by htmx"><button type="submit">htmx</button></form>
<div id="hx-result"></div>
<form hx-post="/ui/probe/note" hx-target="#hx-422" hx-select="ul.problems">{{ m.form_key() }}
<input type="hidden" name="text" value=" "><button type="submit">htmx empty</button></form>
<div id="hx-422"></div>
{% if job %}{% include "partials/job_progress.html" %}{% endif %}
{% endblock %}"""


def _page(request: Request, user: WebUser, status_code: int = 200, **extra: Any) -> HTMLResponse:
    context = {"value": "", "by_field": {}, "job": None, **extra}
    html = environment().from_string(PAGE).render(**page_context(request, user), **context)
    return HTMLResponse(html, status_code=status_code)


@router.get("/")
def probe_page(request: Request, user: CurrentWebUser) -> HTMLResponse:
    return _page(request, user)


@router.post("/note")
def probe_note(request: Request, session: SessionDep, user: Staff, form: CheckedForm) -> Response:
    key = form_key_of(form)
    text = str(form.get("text", ""))
    if not text.strip():  # a service's ValidationFailed, shown next to its field
        problems = problems_by_field(
            ValidationFailed([Problem("must not be empty", location="body.text")])
        )
        return _page(request, user, status_code=422, value=text, by_field=problems)
    earlier = claim_submission(session=session, key=key, account=user.account, scope="probe")
    if earlier is not None:
        return RedirectResponse(earlier, status_code=303)
    entry = audit.record(
        session,
        actor=actor_of(user, request),
        action="probe.note",
        entity_type="probe",
        entity_id=text[:100],
    )
    session.flush()
    url = f"/ui/probe/?noted={entry.id}"
    finish_submission(session=session, key=key, result_url=url)
    return RedirectResponse(url, status_code=303)


@router.post("/scanned")
def probe_scanned(request: Request, user: CurrentWebUser, form: CheckedForm) -> HTMLResponse:
    return HTMLResponse(f"<p id='scanned'>{form.get('serial')}</p>")


@router.get("/jobs/{job_id}")
def probe_job(request: Request, job_id: int, session: SessionDep, user: Staff) -> HTMLResponse:
    context = progress_context(
        session=session, job_id=job_id, events_url=f"/ui/jobs/{job_id}/events"
    )
    return _page(request, user, **context)

"""The web pages under /ui (issue 12): Jinja2 templates over the same services as the CLI/API.

How an audience module (web/logistics.py, noc.py, field.py, portal.py) writes a page:

    @router.get("/things")
    def things(request: Request, session: SessionDep,
               user: Annotated[WebUser, staff_user(Operation.READ)]) -> HTMLResponse:
        return render(request, "noc/things.html", {"page": ...}, user=user)

    @router.post("/things")
    def add(request: Request, session: SessionDep,
            user: Annotated[WebUser, staff_user(Operation.X)], form: CheckedForm) -> Response:
        key = form_key_of(form)
        if (earlier := claim_submission(session=session, key=key,
                                        account=user.account, scope="noc.things")):
            return RedirectResponse(earlier, status_code=303)   # a double submit: nothing done
        try:
            thing = service.add(session=session, actor=actor_of(user, request), ...)
        except ValidationFailed as exc:   # re-render with every problem by its field, 422
            release_submission(session=session, key=key)
            return render(..., {"by_field": problems_by_field(exc)}, user=user, status_code=422)
        url = f"/ui/noc/things/{thing.id}"
        finish_submission(session=session, key=key, result_url=url)
        return RedirectResponse(url, status_code=303)

Templates extend "base.html" and `{% import "macros.html" as m with context %}` (csrf, form_key,
field, problems, pager, scan_input); a DomainError raised in a handler becomes error.html with the
API's status. Messages: `_("<audience>.<key>")`, kept in web/messages/<audience>.yaml (ja and en).
Live job progress: `progress_context(...)` + `{% include "partials/job_progress.html" %}`, the
stream at /ui/jobs/{id}/events (staff) or `sse_response(job_progress_events(...))`.
"""

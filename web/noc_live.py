"""A change applied from its page, followed live.

The POST checks that the request may run and claims the apply (committed, so a second post or a
second tab gets the claim's refusal), answers with a redirect to the change's page, and then
carries the apply out in this process (after the answer), followed by the completion notice as
the API does. The process holds the apply from before the claim until the work ends
(`changes.applying.try_hold_apply`): if it dies first, the periodic `changes.resume_applies`
finishes the apply from its journal. The page follows the job's steps over server-sent events:
the request names its job once the job is journalled, before the first write
(`changes.applying.carry_out_apply`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from api.deps import SessionDep, SessionRoute, session_factory
from changes import acceptance, applying, service
from changes.domain import ChangeStatus
from changes.mailer import MailNotSent
from changes.ports import CliFactory, Mailer
from changes.router import get_cli_factory, get_mailer
from core.audit import Actor
from core.db import begin_write
from core.errors import DomainError
from core.policy import Operation
from core.process_claims import ClaimHeld, ProcessClaim
from core.settings import Settings, business_calendar
from core.timeutil import utcnow
from provisioning.ports import ProvisioningDashboard
from provisioning.router import get_provisioning_dashboard
from provisioning.service import ProvisioningOptions
from provisioning.sheet_model import Sheet
from web.forms import (
    CheckedForm,
    claim_submission,
    finish_submission,
    form_key_of,
    release_submission,
)
from web.i18n import translator
from web.noc_actions import Operator
from web.progress import job_progress_events
from web.render import environment
from web.session import WebUser, actor_of, staff_user
from web.sse import sse_response

log = logging.getLogger("netkeep.web.noc")
router = APIRouter(route_class=SessionRoute)
Reader = Annotated[WebUser, staff_user(Operation.READ)]
SessionFactory = Callable[[], AbstractContextManager[Session]]
POLL_SECONDS = 0.3
SETTLE_SECONDS = 30.0
"""How long the stream waits, once the job is over, for the request to record its outcome."""


@router.post("/changes/{request_id}/apply")
def apply(
    request_id: int,
    request: Request,
    user: Operator,
    session: SessionDep,
    form: CheckedForm,
    background: BackgroundTasks,
) -> Response:
    """Claim the apply now; write, verify and mail the notice after the answer."""
    from web.noc import change_page, change_url

    url = change_url(request_id)
    key = form_key_of(form)
    earlier = claim_submission(
        session=session, key=key, account=user.account, scope=f"noc.apply.{request_id}"
    )
    if earlier is not None:
        return RedirectResponse(earlier, status_code=303)
    finish_submission(session=session, key=key, result_url=url)
    cfg: Settings = request.app.state.settings
    actor = actor_of(user, request)
    options = ProvisioningOptions.from_settings(cfg)
    hold = applying.try_hold_apply(session, request_id)  # this process's, until the work ends
    try:
        if hold is None:
            raise ClaimHeld(applying.held_refusal(request_id))
        sheet = applying.begin_apply(
            session=session, actor=actor, calendar=business_calendar(cfg),
            request_id=request_id, now=utcnow(), options=options, allow_env=False,
        )  # fmt: skip
    except DomainError as exc:
        if hold is not None:
            hold.release()
        session.rollback()
        release_submission(session=session, key=key)  # nothing done: it may be sent again
        return change_page(
            request, user, session, request_id, refusal=exc, status_code=exc.http_status
        )
    work = ApplyWork(
        factory=session_factory(request),
        actor=actor,
        request_id=request_id,
        sheet=sheet,
        dashboard=get_provisioning_dashboard(request),
        options=options,
        cli_factory=get_cli_factory(request),
        mailer=get_mailer(request),
        settings=cfg,
        hold=hold,
    )
    background.add_task(work.run)
    return RedirectResponse(f"{url}?done=apply_started", status_code=303)


@dataclass(frozen=True)
class ApplyWork:
    """The claimed apply, run after the answer in a session of its own (a writer)."""

    factory: SessionFactory
    actor: Actor
    request_id: int
    sheet: Sheet
    dashboard: ProvisioningDashboard
    options: ProvisioningOptions
    cli_factory: CliFactory
    mailer: Mailer
    settings: Settings
    hold: ProcessClaim | None = None
    """This process's hold of the apply (`changes.applying.try_hold_apply`), released when the
    work ends; a process that dies before leaves the apply to `changes.resume_applies`."""

    def run(self) -> None:
        try:
            self._run()
        finally:
            if self.hold is not None:
                self.hold.release()

    def _run(self) -> None:
        with self.factory() as session:
            begin_write(session)  # SQLite: each of its transactions a writer from the start
            try:
                req = applying.carry_out_apply(
                    session=session, actor=self.actor, request_id=self.request_id,
                    sheet=self.sheet, now=utcnow(), dashboard=self.dashboard,
                    options=self.options, cli_factory=self.cli_factory, clock=utcnow,
                )  # fmt: skip
                if req.status == ChangeStatus.APPLIED:
                    self.notify(session)
            except Exception:  # after the answer: nobody else would see it
                log.exception("apply of change request %s failed", self.request_id)
                session.rollback()

    def notify(self, session: Session) -> None:
        cfg = self.settings
        try:
            acceptance.send_completion_notice(
                session=session, actor=self.actor, mailer=self.mailer, request_id=self.request_id,
                now=utcnow(), acceptance_days=cfg.change_acceptance_days,
                sender_name=cfg.smtp_from_name,
            )  # fmt: skip
            session.commit()
        except MailNotSent:
            session.commit()  # kept on the request (notice_error): the page offers to resend


@dataclass(frozen=True, slots=True)
class RequestState:
    job_id: int | None
    status: str
    claimed_for: str | None
    notice_error: str | None

    @property
    def settled(self) -> bool:
        """The apply recorded its outcome: failed, or applied and notified (or the mail failed)."""
        if self.claimed_for is not None or self.status == ChangeStatus.SCHEDULED:
            return False
        return self.status != ChangeStatus.APPLIED or self.notice_error is not None


def _state(factory: SessionFactory, request_id: int) -> RequestState:
    with factory() as session:
        req = service.get_request(session=session, request_id=request_id)
        session.refresh(req)
        return RequestState(req.job_id, req.status, req.claimed_for, req.notice_error)


def outcome_html(state: RequestState, job_html: str, locale: str, url: str) -> str:
    template = environment().get_template("noc/outcome.html")
    return template.render(_=translator(locale), state=state, job_html=job_html, url=url)


async def change_progress(
    request_id: int,
    *,
    factory: SessionFactory,
    locale: str,
    poll_seconds: float = POLL_SECONDS,
    settle_seconds: float = SETTLE_SECONDS,
) -> AsyncIterator[tuple[str, str]]:
    """The job's `step` events as each step completes, then one `done` once the request has
    recorded the outcome (applied and notified, or failed) — at once when nothing runs."""
    from web.noc import change_url

    def state() -> Awaitable[RequestState]:
        return anyio.to_thread.run_sync(_state, factory, request_id)

    now = await state()
    while now.job_id is None and now.claimed_for == "apply":  # planning: no job journalled yet
        await asyncio.sleep(poll_seconds)
        now = await state()
    job_html = ""
    if now.job_id is not None:
        async for event, data in job_progress_events(
            now.job_id, session_factory=factory, locale=locale, poll_seconds=poll_seconds
        ):
            if event == "done":
                job_html = data
                break
            yield event, data
    waited = 0.0
    now = await state()
    while not now.settled and waited < settle_seconds:
        await asyncio.sleep(poll_seconds)
        waited += poll_seconds
        now = await state()
    yield "done", outcome_html(now, job_html, locale, change_url(request_id))


@router.get("/changes/{request_id}/progress")
def progress(request_id: int, request: Request, user: Reader, session: SessionDep) -> Response:
    """The apply's progress as server-sent events (`step` rows, then `done`)."""
    service.get_request(session=session, request_id=request_id)  # a 404 page before the stream
    factory = session_factory(request)
    return sse_response(change_progress(request_id, factory=factory, locale=user.locale))

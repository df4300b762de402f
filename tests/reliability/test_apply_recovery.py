"""Crash: a change request's apply whose process dies between its claim and its outcome.

Rule (issue 15): an apply does not live only in the memory of the process that started it. The
API's `POST /change-requests/{id}/apply` and the NOC page's apply (a background task after the
answer) claim the request, then write; if that process dies in between, the request is not left
claimed for ever: the periodic job `changes.resume_applies` (a worker on PostgreSQL, `netkeep
serve`'s scheduler on SQLite) finishes it — the provisioning job resumed from its journal,
nothing the dead process sent is sent again — and mails the completion notice once. While the
process holding the apply lives, the sweep leaves it alone.

The death is simulated in the process: the apply is held as the NOC page holds it
(`try_hold_apply`), the dashboard "dies" right after its first action batch was answered (the
dashboard did it; the journal never heard: its job is resumed) or while the apply is still
planning (nothing sent, no job: it is applied again), and the hold is let go as a dead
process's is.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from changes import applying
from changes.mailer import SmtpMailer
from changes.models import ChangeRequest
from core.models import AuditEntry
from core.settings import Settings
from jobs.catalogue import JobContext, change_resume_applies
from provisioning.models import ProvisioningJob
from provisioning.service import ProvisioningOptions
from sandbox.server import SandboxServer
from tests.service.test_changes_lifecycle import NOC
from tests.service.test_claim_once import (
    CAL,
    _scheduled_change_request,
    database,  # noqa: F401 (the fixture)
    writer,
)
from tests.service.test_provisioning_apply import dashboard_for
from tests.unit.changes.builders import (
    ENV,
    TUESDAY_10,
    Inbox,
    smtp_inbox_fixture,  # noqa: F401 (the fixture)
)


class Killed(BaseException):
    """The process died: nothing catches it, as nothing survives a SIGKILL."""


class Dies:
    """The sandbox's dashboard until the process dies: at its first call while planning
    (nothing sent, no job journalled), or right after the answer to its first action batch."""

    def __init__(self, real: Any, when: str) -> None:
        self.real, self.when, self.died = real, when, False

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.real, name)
        if self.when != "planning" or not callable(found) or self.died:
            return found

        def die(*_args: Any, **_kwargs: Any) -> Any:
            self.died = True
            raise Killed(f"the process died planning ({name})")

        return die

    def submit_batch(self, *args: Any, **kwargs: Any) -> Any:
        answer = self.real.submit_batch(*args, **kwargs)
        if self.when == "after_first_batch" and not self.died:
            self.died = True
            raise Killed("the process died after the dashboard took its first batch")
        return answer


def writes(sandbox: SandboxServer) -> list[tuple[Any, Any]]:
    log = sandbox.app.state.runtime.dashboard.request_log
    return [(e.get("operationId"), e.get("path")) for e in list(log) if e.get("method") != "GET"]


@pytest.mark.parametrize("when", ["after_first_batch", "planning"])
def test_an_apply_whose_process_died_is_finished_by_the_sweep_once(
    when: str,
    database: Engine,  # noqa: F811
    sandbox: SandboxServer,
    smtp_inbox: Inbox,
    tmp_path: Path,
    figure: Callable[[str, Any], None],
) -> None:
    settings = Settings(database_url=str(database.url), var_dir=tmp_path / "var", _env_file=None)
    options = ProvisioningOptions.from_settings(settings)  # the worker's: the same key
    request_id = _scheduled_change_request(database, sandbox)
    before = len(writes(sandbox))
    dying = Dies(dashboard_for(sandbox), when)
    with writer(database) as session:
        hold = applying.try_hold_apply(session, request_id)
        assert hold is not None
        sheet = applying.begin_apply(
            session=session, actor=NOC, calendar=CAL, request_id=request_id, now=TUESDAY_10,
            options=options, environ=ENV,
        )  # fmt: skip
        with suppress(Killed):
            applying.carry_out_apply(
                session=session, actor=NOC, request_id=request_id, sheet=sheet,
                now=TUESDAY_10, dashboard=dying, options=options, environ=ENV,
            )  # fmt: skip
    assert dying.died, f"the apply never reached {when}: nothing was interrupted"
    sent_by_the_dead = len(writes(sandbox)) - before
    mailer = SmtpMailer(
        host=smtp_inbox.host, port=smtp_inbox.port, sender="noc@example.jp", sender_name="NOC"
    )
    ctx = JobContext(
        settings=settings,
        engine=database,
        adapters={"provisioning": dashboard_for(sandbox), "mailer": mailer, "environ": ENV},
    )
    later = TUESDAY_10 + timedelta(minutes=3)

    # the process still lives: its apply is left alone
    assert change_resume_applies(ctx, later) == {"resumed": {}, "alive": 1}
    assert len(writes(sandbox)) - before == sent_by_the_dead

    hold.release()  # the process is gone, and its hold with it
    with Session(database) as session:
        req = session.get(ChangeRequest, request_id)
        assert req is not None and (req.status, req.claimed_for) == ("scheduled", "apply")
    assert change_resume_applies(ctx, later) == {
        "resumed": {str(request_id): "applied"},
        "alive": 0,
    }
    assert change_resume_applies(ctx, later + timedelta(minutes=1)) == {"resumed": {}, "alive": 0}

    sent = writes(sandbox)[before:]
    assert len(set(sent)) == len(sent), sent  # nothing sent twice
    with Session(database) as session:
        req = session.get(ChangeRequest, request_id)
        assert req is not None
        assert (req.status, req.claimed_for, req.apply_error) == ("notified", None, None)
        job = session.get(ProvisioningJob, req.job_id)
        assert job is not None and job.status == "done"
        resumed = session.exec(
            select(func.count()).where(col(AuditEntry.action) == "change_request.apply_resumed")
        ).one()
    assert resumed == 1
    assert len(smtp_inbox.messages()) == 1
    if when == "planning":
        assert sent_by_the_dead == 0
    figure(f"apply_recovered_{database.dialect.name}_{when}", f"{len(sent)} writes, none twice")

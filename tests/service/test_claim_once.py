"""Issue 20, item 1: a unit's claim goes out to the dashboard once, however many applies race.

Rule (docs/architecture.md, "One claim per unit"): before a job's claim of a unit is sent, the
unit is held by that job in the database — a conditional UPDATE only one racer wins, committed
before any dashboard call. The loser is refused naming the job that holds the unit and sends
nothing (no network, no claim); the hold ends when the claim is done, when the job fails, or
when it is rolled back; a crashed job's hold is taken over by its own resume, not by another.

Two applies run at once in threads, each on its own connection, against a real SQLite file and
a PostgreSQL schema with committed rows (the rolled-back `session` fixture cannot show
concurrency); the sandbox's request log says how many claims reached the dashboard.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from changes import acceptance, applying, scheduling
from changes import service as changes
from changes.mailer import SmtpMailer
from changes.models import ChangeNotice, ChangeRequest
from core import migrate
from core.calendar import BusinessCalendar
from core.db import begin_write, make_engine
from core.errors import Conflict, DomainError, ValidationFailed
from core.models import AuditEntry
from inventory.catalogue_defaults import seed_catalogue
from inventory.models import Device
from provisioning.journal import ApplyHooks
from provisioning.models import JobStep, ProvisioningJob
from provisioning.service import apply_plan, plan_sheet, resume_job, rollback_job
from provisioning.sheet_io import load_sheet
from provisioning.sheet_model import Sheet
from sandbox.server import SandboxServer
from tests.conftest import PG_URL
from tests.service.helpers import seed_demo_inventory
from tests.service.test_changes_lifecycle import FIELD, NOC
from tests.service.test_provisioning_apply import ACTOR, OPTIONS, apply, dashboard_for
from tests.service.test_provisioning_units import UTM_UNIT, clock, utm_with
from tests.unit.changes.builders import (
    ENV,
    TUESDAY_10,
    Inbox,
    as_bytes,
    build_contracts,
    link_site,
    smtp_inbox_fixture,  # noqa: F401  (the smtp_inbox fixture)
    typical_utm_change,
)
from tests.unit.provisioning.sheets import EXAMPLE_ENV, EXAMPLES

CAL = BusinessCalendar()

SITE_A, SITE_B = "さくら商事 本社", "さくら商事 大阪支店"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh migrated database with committed rows each connection can see."""
    if request.param == "sqlite":
        yield from _migrated(f"sqlite:///{tmp_path / 'claims.db'}")
        return
    schema = f"nk_claim_{uuid.uuid4().hex[:10]}"
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield from _migrated(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _migrated(url: str) -> Iterator[Engine]:
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def committed(database: Engine) -> Engine:
    """The demo inventory committed."""
    with Session(database) as session:
        seed_demo_inventory(session)
        session.commit()
    return database


def claims_sent(sandbox: SandboxServer, serial: str) -> int:
    """Claim requests for `serial` the sandbox answered (direct or inside an action batch)."""
    log = sandbox.app.state.runtime.dashboard.request_log
    return sum(
        1
        for entry in list(log)
        if entry.get("operationId") == "claimNetworkDevices"
        and serial in ((entry.get("body") or {}).get("serials") or [])
    )


def networks_created(sandbox: SandboxServer, *names: str) -> int:
    log = sandbox.app.state.runtime.dashboard.request_log
    return sum(
        1
        for entry in list(log)
        if entry.get("operationId") == "createOrganizationNetwork"
        and (entry.get("body") or {}).get("name") in names
    )


def writer(engine: Engine) -> Session:
    """A session as the API opens one for a POST: a writer (SQLite: BEGIN IMMEDIATE)."""
    session = Session(engine, expire_on_commit=False)
    begin_write(session)
    return session


def held_by(engine: Engine, serial: str) -> tuple[int | None, str]:
    with Session(engine) as session:
        device = session.exec(select(Device).where(Device.serial == serial)).one()
        return device.held_by_job, device.status


def test_two_racing_applies_send_one_claim_and_the_loser_is_refused_naming_the_job(
    committed: Engine, sandbox: SandboxServer
) -> None:
    sheets = [utm_with(UTM_UNIT, name=SITE_A), utm_with(UTM_UNIT, name=SITE_B)]
    barrier = threading.Barrier(len(sheets))
    done: list[ProvisioningJob] = []
    refusals: list[DomainError] = []
    crashes: list[BaseException] = []
    lock = threading.Lock()

    def one(sheet: Sheet) -> None:
        dash = dashboard_for(sandbox)
        try:
            with writer(committed) as session:
                plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS, session=session)
                barrier.wait(timeout=30)  # both planned: the unit was in stock for both
                try:
                    job = apply_plan(
                        session=session, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR,
                        clock=clock, options=OPTIONS,
                    )  # fmt: skip
                    session.commit()
                    with lock:
                        done.append(job)
                except DomainError as exc:
                    session.rollback()
                    with lock:
                        refusals.append(exc)
        except BaseException as exc:
            with lock:
                crashes.append(exc)

    before = claims_sent(sandbox, UTM_UNIT), networks_created(sandbox, SITE_A, SITE_B)
    sandbox.admin.set_faults(latency_ms=100)  # the winner's apply is still under way meanwhile
    threads = [threading.Thread(target=one, args=(s,)) for s in sheets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    sandbox.admin.clear_faults()
    assert crashes == []
    assert len(done) == 1 and len(refusals) == 1
    winner = done[0]
    assert winner.status == "done"
    refusal = refusals[0]
    assert isinstance(refusal, Conflict | ValidationFailed)  # 409 / 422 over the API, never 5xx
    assert f"provisioning job {winner.id}" in str(refusal)
    assert claims_sent(sandbox, UTM_UNIT) - before[0] == 1
    assert networks_created(sandbox, SITE_A, SITE_B) - before[1] == 1  # the loser: nothing
    held, status = held_by(committed, UTM_UNIT)
    assert (held, status) == (None, "deployed")  # the claim is done: the hold ended
    with Session(committed) as session:
        jobs = list(session.exec(select(ProvisioningJob)))
        assert [j.id for j in jobs] == [winner.id]  # the loser journalled nothing
        trail = select(AuditEntry).where(AuditEntry.entity_id == UTM_UNIT)
        actions = [a.action for a in session.exec(trail.order_by(col(AuditEntry.id)))]
        assert actions[-3:] == ["device.hold", "device.deploy", "device.release"]


class Crash(Exception):
    """The process died here (a test's hook stops the run between two steps)."""


def _crash_before_claim(step: JobStep) -> None:
    if step.action.startswith("create "):  # the network exists; the claim batch not yet sent
        raise Crash


def test_a_crashed_jobs_hold_is_taken_over_by_its_resume_not_by_a_stranger(
    committed: Engine, sandbox: SandboxServer
) -> None:
    sheet = utm_with(UTM_UNIT, name=SITE_A)
    dash = dashboard_for(sandbox)
    with writer(committed) as session:
        plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS, session=session)
        with pytest.raises(Crash):
            apply_plan(
                session=session, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR,
                clock=clock, options=OPTIONS, hooks=ApplyHooks(after_step=_crash_before_claim),
            )  # fmt: skip
    with Session(committed) as session:
        crashed = session.exec(select(ProvisioningJob)).one()
    assert crashed.status == "running"
    assert held_by(committed, UTM_UNIT) == (crashed.id, "in_stock")
    claims = claims_sent(sandbox, UTM_UNIT)

    stranger = utm_with(UTM_UNIT, name=SITE_B)
    with writer(committed) as session, pytest.raises(ValidationFailed) as caught:
        plan_sheet(dashboard=dash, sheet=stranger, options=OPTIONS, session=session)
    assert [p.location for p in caught.value.problems] == ["devices[0].serial"]
    assert f"provisioning job {crashed.id}" in caught.value.problems[0].message
    assert claims_sent(sandbox, UTM_UNIT) == claims

    assert crashed.id is not None
    with writer(committed) as session:
        resumed = resume_job(
            session=session, dashboard=dash, job_id=crashed.id, sheet=sheet, actor=ACTOR,
            clock=clock, options=OPTIONS,
        )  # fmt: skip
        session.commit()
    assert resumed.status == "done"
    assert claims_sent(sandbox, UTM_UNIT) == claims + 1
    assert held_by(committed, UTM_UNIT) == (None, "deployed")


def test_a_failed_job_releases_its_hold_and_a_rollback_leaves_none(
    committed: Engine, sandbox: SandboxServer
) -> None:
    sheet = utm_with(UTM_UNIT, name=SITE_A)
    dash = dashboard_for(sandbox)
    with writer(committed) as session:
        plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS, session=session)
        # someone claimed it by hand on the dashboard meanwhile: the claim batch fails there
        sandbox.dashboard_api().networks.claimNetworkDevices("N_demo_osaka", serials=[UTM_UNIT])
        job = apply_plan(
            session=session, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR,
            clock=clock, options=OPTIONS,
        )  # fmt: skip
        session.commit()
    assert job.status == "failed"
    assert held_by(committed, UTM_UNIT) == (None, "in_stock")
    with Session(committed) as session:
        released = session.exec(
            select(AuditEntry).where(
                AuditEntry.entity_id == UTM_UNIT, AuditEntry.action == "device.release"
            )
        ).one()
        after: dict[str, Any] = dict(released.after or {})
    assert after == {"held_by_job": None, "reason": f"job {job.id} failed"}
    assert job.id is not None
    with writer(committed) as session:
        rollback_job(
            session=session, dashboard=dash, job_id=job.id, actor=ACTOR, clock=clock,
            options=OPTIONS, delete_network=True,
        )  # fmt: skip
        session.commit()
    assert held_by(committed, UTM_UNIT) == (None, "in_stock")


def _scheduled_change_request(engine: Engine, sandbox: SandboxServer) -> int:
    """さくら商事's UTM change request, validated, approved and scheduled (committed)."""
    with Session(engine, expire_on_commit=False) as session:
        seed_catalogue(session=session, actor=ACTOR)
        build_contracts(session)
        utm = load_sheet(EXAMPLES / "utm.yaml", environ=EXAMPLE_ENV)
        job = apply(session, dashboard_for(sandbox), utm)
        link_site(session, job.network_id)
        req = changes.submit_request(
            session=session, actor=FIELD, filename="cr.yaml",
            content=as_bytes(typical_utm_change()), notice_email="soumu@sakura.example.jp",
            now=TUESDAY_10, environ=ENV,
        )  # fmt: skip
        assert req.id is not None and req.status == "validated", req.problems
        changes.approve_request(session=session, actor=NOC, request_id=req.id, now=TUESDAY_10)
        scheduling.schedule_request(
            session=session, actor=NOC, calendar=CAL, request_id=req.id, now=TUESDAY_10
        )
        session.commit()
        return req.id


def _race(count: int, work: Callable[[], Any]) -> tuple[list[Any], list[DomainError]]:
    """`work` run by `count` threads at once; what each returned, and the DomainErrors."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    refusals: list[DomainError] = []
    crashes: list[BaseException] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            barrier.wait(timeout=30)
            result = work()
            with lock:
                results.append(result)
        except DomainError as exc:
            with lock:
                refusals.append(exc)
        except BaseException as exc:
            with lock:
                crashes.append(exc)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert crashes == []
    return results, refusals


def test_racing_applies_and_notices_of_one_change_request_each_go_out_once(
    database: Engine, sandbox: SandboxServer, smtp_inbox: Inbox
) -> None:
    request_id = _scheduled_change_request(database, sandbox)
    log = sandbox.app.state.runtime.dashboard.request_log
    writes_before = sum(1 for e in list(log) if e.get("method") != "GET")

    def apply_it() -> Any:
        with writer(database) as session:
            return applying.apply_request(
                session=session, actor=NOC, calendar=CAL, request_id=request_id, now=TUESDAY_10,
                dashboard=dashboard_for(sandbox), options=OPTIONS, environ=ENV,
            )  # fmt: skip

    applied, refused = _race(3, apply_it)
    assert [r.status for r in applied] == ["applied"]
    assert len(refused) == 2 and all(isinstance(r, Conflict) for r in refused)
    writes = [e for e in list(log) if e.get("method") != "GET"][writes_before:]
    assert writes and len({e.get("operationId") for e in writes}) == len(writes)  # none twice
    with Session(database) as session:
        assert len(list(session.exec(select(ProvisioningJob)))) == 2  # utm.yaml's and this one

    mailer = SmtpMailer(
        host=smtp_inbox.host, port=smtp_inbox.port, sender="noc@example.jp", sender_name="NOC"
    )

    def notify() -> Any:
        with writer(database) as session:
            req = acceptance.send_completion_notice(
                session=session, actor=NOC, mailer=mailer, request_id=request_id,
                now=TUESDAY_10 + timedelta(minutes=5), acceptance_days=7,
            )  # fmt: skip
            session.commit()  # as the API's request session does
            return req

    notified, refused = _race(3, notify)
    assert [r.status for r in notified] == ["notified"]
    assert len(refused) == 2 and all(isinstance(r, Conflict) for r in refused)
    assert len(smtp_inbox.messages()) == 1
    with Session(database) as session:
        req = session.get(ChangeRequest, request_id)
        assert req is not None and (req.claimed_for, req.claimed_at) == (None, None)
        assert len(list(session.exec(select(ChangeNotice)))) == 1


def test_two_racing_applies_over_the_api_send_one_claim_and_never_answer_5xx(
    committed: Engine, sandbox: SandboxServer, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from core import auth
    from core.auth import Role
    from core.settings import Settings
    from dashboard.provisioning import MerakiProvisioning
    from dashboard.session import build_sdk
    from tests.conftest import ADMIN, bearer

    url = committed.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, var_dir=tmp_path / "var", _env_file=None)  # type: ignore[call-arg]
    with Session(committed) as session:
        token = auth.create_token(session=session, actor=ADMIN, name="racer", role=Role.FIELD)
        session.commit()
    utm = (EXAMPLES / "utm.yaml").read_text(encoding="utf-8")
    assert f"serial: {UTM_UNIT}" in utm and f"name: {SITE_A}" in utm
    bodies = [utm, utm.replace(f"name: {SITE_A}", f"name: {SITE_B}", 1)]
    app = create_app(settings, committed)
    sdk = build_sdk(api_key=sandbox.api_key, base_url=sandbox.base_url)
    app.state.provisioning_dashboard = MerakiProvisioning(sdk, organization_id="537758")
    before = claims_sent(sandbox, UTM_UNIT)
    sandbox.admin.set_faults(latency_ms=100)  # the winner's apply is still under way meanwhile
    barrier = threading.Barrier(len(bodies))
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()
    with TestClient(app) as client:

        def post(body: str) -> None:
            files = {"file": ("utm.yaml", body.encode("utf-8"), "application/x-yaml")}
            barrier.wait(timeout=30)
            answer = client.post("/api/v1/jobs", files=files, headers=bearer(token.token))
            with lock:
                answers.append((answer.status_code, answer.text))

        threads = [threading.Thread(target=post, args=(b,)) for b in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    sandbox.admin.clear_faults()
    statuses = sorted(s for s, _ in answers)
    assert statuses in ([201, 409], [201, 422]), answers
    refusal = next(text for s, text in answers if s != 201)
    assert "provisioning job" in refusal and "nothing was sent" in refusal
    assert claims_sent(sandbox, UTM_UNIT) - before == 1


def test_a_failed_mail_ends_the_notice_claim_and_a_stale_claim_is_taken_over(
    database: Engine, sandbox: SandboxServer, smtp_inbox: Inbox
) -> None:
    from changes.mailer import MailNotSent
    from tests.unit.changes.builders import free_port

    request_id = _scheduled_change_request(database, sandbox)
    with writer(database) as session:
        applied = applying.apply_request(
            session=session, actor=NOC, calendar=CAL, request_id=request_id, now=TUESDAY_10,
            dashboard=dashboard_for(sandbox), options=OPTIONS, environ=ENV,
        )  # fmt: skip
    assert applied.status == "applied"
    nobody = SmtpMailer(host="127.0.0.1", port=free_port(), sender="noc@example.jp")
    later = TUESDAY_10 + timedelta(minutes=5)
    with writer(database) as session, pytest.raises(MailNotSent):
        acceptance.send_completion_notice(
            session=session, actor=NOC, mailer=nobody, request_id=request_id, now=later,
            acceptance_days=7,
        )  # fmt: skip
    with Session(database) as session:
        req = session.get(ChangeRequest, request_id)
        assert req is not None
        assert (req.status, req.claimed_for, req.claimed_at) == ("applied", None, None)
        assert req.notice_error
        # a process died holding the claim 31 minutes ago (past STALE_AFTER, 30 minutes)
        req.claimed_for, req.claimed_at = "notice", later - timedelta(minutes=31)
        session.add(req)
        session.commit()
    mailer = SmtpMailer(
        host=smtp_inbox.host, port=smtp_inbox.port, sender="noc@example.jp", sender_name="NOC"
    )
    with writer(database) as session:
        notified = acceptance.send_completion_notice(
            session=session, actor=NOC, mailer=mailer, request_id=request_id, now=later,
            acceptance_days=7,
        )  # fmt: skip
        session.commit()
    assert notified.status == "notified" and len(smtp_inbox.messages()) == 1
    with Session(database) as session:
        trail = select(AuditEntry.action).where(
            AuditEntry.entity_type == "change_request", AuditEntry.entity_id == str(request_id)
        )
        actions = list(session.exec(trail.order_by(col(AuditEntry.id))))
    assert actions.count("change_request.notice_claimed") == 2
    assert actions.count("change_request.apply_claimed") == 1


def test_a_fresh_claim_is_not_taken_over(database: Engine, sandbox: SandboxServer) -> None:
    request_id = _scheduled_change_request(database, sandbox)
    with Session(database) as session:
        req = session.get(ChangeRequest, request_id)
        assert req is not None
        req.claimed_for, req.claimed_at = "apply", TUESDAY_10 - timedelta(minutes=29)
        session.add(req)
        session.commit()
    with writer(database) as session, pytest.raises(Conflict) as caught:
        applying.apply_request(
            session=session, actor=NOC, calendar=CAL, request_id=request_id, now=TUESDAY_10,
            dashboard=dashboard_for(sandbox), options=OPTIONS, environ=ENV,
        )  # fmt: skip
    assert "its apply is under way since" in caught.value.message


def test_two_racing_rollbacks_of_one_job_journal_one_and_send_its_writes_once(
    committed: Engine, sandbox: SandboxServer
) -> None:
    sheet = utm_with(UTM_UNIT, name=SITE_A)
    dash = dashboard_for(sandbox)
    with writer(committed) as session:
        plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS, session=session)
        job = apply_plan(
            session=session, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR, clock=clock,
            options=OPTIONS,
        )  # fmt: skip
        session.commit()
    assert job.status == "done" and job.id is not None
    apply_id = job.id
    log = sandbox.app.state.runtime.dashboard.request_log
    deletions = sum(1 for e in list(log) if e.get("operationId") == "deleteNetwork")

    # every request takes 0.3 s: the winner's rollback, journalled first, is still running
    # (several requests to go) when the other comes to journal its own
    sandbox.admin.set_faults(latency_ms=300)

    def roll_back() -> Any:
        with writer(committed) as session:
            back = rollback_job(
                session=session, dashboard=dashboard_for(sandbox), job_id=apply_id, actor=ACTOR,
                clock=clock, options=OPTIONS, delete_network=True,
            )  # fmt: skip
            session.commit()
            return back

    try:
        backs, refused = _race(2, roll_back)
    finally:
        sandbox.admin.clear_faults()
    assert [b.status for b in backs] == ["done"]
    assert len(refused) == 1 and isinstance(refused[0], Conflict)
    assert f"rolled back by job {backs[0].id}" in refused[0].message
    assert sum(1 for e in list(log) if e.get("operationId") == "deleteNetwork") - deletions == 1
    with Session(committed) as session:
        rollbacks = session.exec(select(ProvisioningJob).where(ProvisioningJob.kind == "rollback"))
        assert [b.id for b in rollbacks] == [backs[0].id]
    assert held_by(committed, UTM_UNIT) == (None, "in_stock")

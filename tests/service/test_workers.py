"""Real procrastinate workers (`netkeep worker` subprocesses) on a PostgreSQL schema of their own.

Two workers run every periodic job once per tick, whichever takes it; a worker killed with
SIGKILL in the middle of a background rollout leaves it to another worker, which finishes it
from the journal. The schedules are shortened to every two seconds (NETKEEP_JOB_SCHEDULE).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from api.app import create_app
from core import auth, migrate
from core.auth import Role
from core.db import make_engine
from core.keys import installation_key
from core.settings import Settings
from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from inventory.catalogue_defaults import seed_catalogue
from jobs.catalogue import PERIODIC
from provisioning.domain import JobStatus, StepStatus
from provisioning.models import JobStep, ProvisioningJob
from sandbox.server import SandboxServer
from tests.conftest import ADMIN, PG_URL, bearer
from tests.service.helpers import seed_demo_inventory
from tests.service.rma_builders import build_world, shipped_rma
from tests.unit.provisioning.sheets import EXAMPLES

pytestmark = pytest.mark.postgres
NETKEEP = Path(sys.executable).with_name("netkeep")
EVERY_2S = "* * * * * */2"  # croniter: the sixth field is seconds
RUN_LINE = re.compile(r"netkeep\.jobs (?P<job>[\w.]+) at (?P<tick>\d+): ")
PERIODIC_JOBS = (
    "rma.sweep",
    "rma.reminders",
    "changes.auto_accept",
    "changes.resume_applies",
    "doctor.check",
    "helpdesk.auto_close",
    "monitor.poll",
    "monitor.notices",
)


def test_the_tick_test_shortens_every_periodic_job() -> None:
    """A periodic job left on its own cron line would fire inside the run at its minute of the
    hour (helpdesk.auto_close at :20 did) and count in the workers' logs but not in the ticks."""
    assert set(PERIODIC_JOBS) == {p.name for p in PERIODIC}


@pytest.fixture
def own_schema() -> Iterator[tuple[str, Engine]]:
    """A PostgreSQL schema migrated to head (procrastinate's tables included), committed to."""
    schema = f"nk_w_{uuid.uuid4().hex[:10]}"
    admin = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        seed_catalogue(session=session, actor=ADMIN)
        session.commit()
    try:
        yield url, engine
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


class Worker:
    """`netkeep worker` in its own process; its output goes to a log file read on failure."""

    def __init__(self, env: dict[str, str], name: str, folder: Path, concurrency: int = 1) -> None:
        self.log = folder / f"{name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(NETKEEP), "worker", "--name", name, "--concurrency", str(concurrency)],
                env=env,
                cwd=folder,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        """SIGTERM: procrastinate finishes the jobs it runs, then exits."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL: nothing of the worker runs after this, as when a host dies."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def output(self, tail: int = 4000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-tail:]

    def runs(self) -> Counter[tuple[str, int]]:
        """The periodic runs this worker logged: (job, tick)."""
        found = RUN_LINE.finditer(self.output(tail=10**7))
        return Counter((m["job"], int(m["tick"])) for m in found)


def worker_env(url: str, sandbox: SandboxServer, folder: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETKEEP_")}
    env.update(
        NETKEEP_DATABASE_URL=url,
        NETKEEP_VAR_DIR=str(folder / "var"),
        NETKEEP_SURVEY_DIR=str(folder / "var" / "survey"),
        NETKEEP_MERAKI_BASE_URL=sandbox.base_url,
        NETKEEP_MERAKI_API_KEY=sandbox.api_key,
        NETKEEP_MERAKI_ORG_ID="537758",
        NETKEEP_JOB_HEARTBEAT_SECONDS="1",
        NETKEEP_JOB_STALLED_AFTER_SECONDS="3",
        **extra,
    )
    return env


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=env["NETKEEP_DATABASE_URL"],
        var_dir=Path(env["NETKEEP_VAR_DIR"]),
        _env_file=None,
    )


def wait_for(what: str, condition: Callable[[], bool], seconds: float, workers: list[Worker]):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    logs = "\n".join(f"--- {w.log.name}\n{w.output()}" for w in workers)
    pytest.fail(f"timed out waiting for {what}\n{logs}")


def finished_long_ago(engine: Engine, status: str) -> int:
    """A job of an older release that ended 30 days ago (the prune job's material)."""
    with engine.begin() as c:
        job_id = c.execute(
            text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status) "
                "VALUES ('periodic', 'old.task', '{}', CAST(:status AS procrastinate_job_status)) "
                "RETURNING id"
            ),
            {"status": status},
        ).scalar_one()
        c.execute(
            text(
                "INSERT INTO procrastinate_events (job_id, type, at) VALUES "
                "(:id, CAST(:status AS procrastinate_job_event_type), now() - interval '30 days')"
            ),
            {"id": job_id, "status": status},
        )
    return int(job_id)


def test_two_workers_run_each_periodic_job_once_per_tick(
    own_schema: tuple[str, Engine], sandbox: SandboxServer, tmp_path: Path
) -> None:
    url, engine = own_schema
    with Session(engine, expire_on_commit=False) as session:
        build_world(session, tmp_path)
        rma = shipped_rma(session)  # due 2026-06-12: long overdue for today's ticks
        rma_id, number = rma.id, rma.number
        session.commit()
    old = {status: finished_long_ago(engine, status) for status in ("succeeded", "failed")}
    schedule = dict.fromkeys((*PERIODIC_JOBS, "jobs.prune_finished"), EVERY_2S)
    env = worker_env(url, sandbox, tmp_path, NETKEEP_JOB_SCHEDULE=json.dumps(schedule))
    installation_key(settings_of(env))  # created once here, not raced by two workers
    workers = [Worker(env, "w1", tmp_path), Worker(env, "w2", tmp_path, concurrency=3)]
    try:

        def doctor_runs() -> int:
            with engine.connect() as c:
                found = c.execute(
                    text("SELECT count(*) FROM audit_log WHERE action = 'doctor.checked'")
                ).scalar_one()
            return int(found)

        wait_for("four doctor runs", lambda: doctor_runs() >= 4, 60, workers)
    finally:
        for w in workers:
            w.stop()
    with engine.connect() as c:
        jobs = c.execute(
            text(
                "SELECT task_name, (args->>'timestamp')::bigint AS tick, status, worker_id "
                "FROM procrastinate_jobs WHERE task_name = ANY(:names)"
            ),
            {"names": list(PERIODIC_JOBS)},
        ).all()
        doctor_at = [
            row.at
            for row in c.execute(text("SELECT at FROM audit_log WHERE action = 'doctor.checked'"))
        ]
        charges = c.execute(
            text("SELECT count(*) FROM rma_damage_charge WHERE rma_id = :id"), {"id": rma_id}
        ).scalar_one()
        overdue_audits = c.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE entity_type = 'rma' AND entity_id = :n "
                "AND action = 'rma.overdue'"
            ),
            {"n": number},
        ).scalar_one()
        reminders = c.execute(
            text("SELECT count(*) FROM rma_notice WHERE rma_id = :id AND kind = 'reminder'"),
            {"id": rma_id},
        ).scalar_one()
    with engine.connect() as c:
        kept = c.execute(text("SELECT id FROM procrastinate_jobs WHERE task_name = 'old.task'"))
        assert [row.id for row in kept] == [old["failed"]]  # pruned: succeeded 30 days ago
    per_tick = Counter((j.task_name, j.tick) for j in jobs)
    assert per_tick and max(per_tick.values()) == 1, per_tick  # one job per job and tick
    for name in PERIODIC_JOBS:
        done = [j for j in jobs if j.task_name == name and j.status == "succeeded"]
        assert len(done) >= 2, (name, jobs)
    failed = [j for j in jobs if j.status == "failed"]
    assert failed == [], "\n".join(w.output() for w in workers)
    doctor_done = {
        j.tick for j in jobs if j.task_name == "doctor.check" and j.status == "succeeded"
    }
    # one recorded result per doctor tick, at the tick's time: no tick ran twice
    assert Counter(doctor_at) == Counter(datetime.fromtimestamp(t, UTC) for t in doctor_done)
    # the workers' own logs agree: each tick's job ran in one worker, once
    assert workers[0].runs() + workers[1].runs() == Counter(
        (j.task_name, j.tick) for j in jobs if j.status == "succeeded"
    )
    assert charges == 1 and overdue_audits == 1  # the sweep ran at every tick, charged once
    assert reminders <= 3  # reminders 7, 3 and 1 days before the due date, each at most once


def rollout_steps(engine: Engine, rollout: str) -> list[tuple[str, str]]:
    """(job status, step status) of every step of the rollout's jobs."""
    with Session(engine) as session:
        rows = session.exec(
            select(ProvisioningJob.status, JobStep.status)
            .join(JobStep, col(JobStep.job_id) == col(ProvisioningJob.id))
            .where(ProvisioningJob.rollout == rollout)
        ).all()
    return [(str(job), str(step)) for job, step in rows]


def test_a_killed_workers_rollout_is_finished_by_another_worker(
    own_schema: tuple[str, Engine], sandbox: SandboxServer, tmp_path: Path
) -> None:
    url, engine = own_schema
    env = worker_env(
        url, sandbox, tmp_path, NETKEEP_JOB_SCHEDULE=json.dumps({"jobs.retry_stalled": EVERY_2S})
    )
    settings = settings_of(env)
    installation_key(settings)
    sandbox.admin.set_batch_delay(2.0)  # each action batch pending 2 s: time to kill mid-way
    with Session(engine) as session:
        seed_demo_inventory(session)  # the example sheets' units and contracts
        token = auth.create_token(session=session, actor=ADMIN, name="field-w", role=Role.FIELD)
        session.commit()
    dashboard = MerakiProvisioning(
        build_sdk(api_key=sandbox.api_key, base_url=sandbox.base_url), organization_id="537758"
    )
    app = create_app(settings, engine)
    app.state.provisioning_dashboard = dashboard
    files = [
        ("files", (f"{n}.yaml", (EXAMPLES / f"{n}.yaml").read_bytes(), "application/x-yaml"))
        for n in ("utm", "router")
    ]
    with TestClient(app) as client:
        accepted = client.post(
            "/api/v1/rollouts?wait=false", files=files, headers=bearer(token.token)
        )
    assert accepted.status_code == 202, accepted.text
    rollout = accepted.json()["rollout"]
    assert {job for job, _ in rollout_steps(engine, rollout)} == {JobStatus.PENDING.value}

    first = Worker(env, "first", tmp_path)
    second: Worker | None = None
    try:
        wait_for(
            "the first worker to be inside the rollout",
            lambda: StepStatus.DONE.value in {s for _, s in rollout_steps(engine, rollout)},
            60,
            [first],
        )
        first.kill()
        killed_at = time.monotonic()
        left = rollout_steps(engine, rollout)
        assert {s for _, s in left} != {StepStatus.DONE.value}, "killed too late: all done"
        second = Worker(env, "second", tmp_path)
        wait_for(
            "the second worker to finish the rollout",
            lambda: {j for j, _ in rollout_steps(engine, rollout)} == {JobStatus.DONE.value},
            120,
            [first, second],
        )
        print(f"rollout finished {time.monotonic() - killed_at:.1f} s after the kill")  # -s
    finally:
        first.kill()
        if second is not None:
            second.stop()
    assert {s for _, s in rollout_steps(engine, rollout)} == {StepStatus.DONE.value}
    with engine.connect() as c:
        queued = c.execute(
            text("SELECT status, attempts FROM procrastinate_jobs WHERE lock = :lock"),
            {"lock": f"rollout:{rollout}"},
        ).all()
    # two attempts: the one killed with its worker, and the one that finished
    assert [(q.status, q.attempts) for q in queued] == [("succeeded", 2)]
    assert second is not None and f"rollout {rollout}: " in second.output(tail=10**7)
    names = Counter(n["name"] for n in dashboard.list_networks())
    assert names["さくら商事 本社"] == 1 and max(names.values()) == 1  # nothing created twice

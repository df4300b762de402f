"""Benchmark the shared dashboard budget: N processes, 1 organization (run by hand; figures).

    .venv/bin/python bench/shared_budget.py                 # 4 processes, 20 calls each
    .venv/bin/python bench/shared_budget.py --calls 50 --share 8
    .venv/bin/python bench/shared_budget.py --rollouts      # 4 `netkeep worker`s, 4 rollouts
    .venv/bin/python bench/shared_budget.py --rollouts --sheets 6

For each budget (PostgreSQL schema of database `test`, Redis at 127.0.0.1:6379, and for
comparison the in-process bucket every process would have on SQLite) the processes call one
organization of a sandbox that enforces the dashboard's 10 req/s. Printed: the most requests
the sandbox saw in one second (must stay ≤ the share for a shared budget), the mean over the
full seconds, 429s, and wall time against the floor of calls ÷ share.

--rollouts: real work instead of raw calls. N rollouts of --sheets generated sheets each (half
UTM, half wireless: bench/provisioning.py's sheets, their units stocked first) are journalled
and queued through `POST /api/v1/rollouts?wait=false` into ONE organization of a PostgreSQL
schema, then N `netkeep worker` processes start and each runs one of them at once (their
PostgreSQL budget shared). Printed: the calls the sandbox counted for the organization, the most
in one second (must stay ≤ the share), 429s, the rollouts' wall time (first to last request the
sandbox saw) against the floor of calls ÷ share, and whether every job of every rollout is done.
A worker woken late on a loaded machine can carry one request past a second's edge: one second
may then show the share + 1 (tests/service/test_shared_budget.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import migrate
from dashboard.budget_probe import run_processes
from dashboard.budgets import RedisBudget
from sandbox.app import SandboxConfig
from sandbox.server import SandboxServer, running_sandbox

DSN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
ORG = "537758"
NETKEEP = Path(sys.executable).with_name("netkeep")
UNIT_HEADER = (
    "serial,model,mac,status,customer,site,contract,acquisition,leasing_company,"
    "license_expiry,network_id,notes\n"
)
NEVER = "0 0 1 1 *"  # the periodic jobs' cron while rollouts are measured: 1 January only


@dataclass(slots=True)
class RolloutsRun:
    """What the sandbox and the database saw of N workers running N rollouts of one org."""

    rollouts: list[str]
    share: float
    calls: int  # requests of the organization the sandbox counted while the workers ran
    per_second: dict[int, int]
    rate_limited: int  # requests the sandbox answered 429 (any organization)
    wall_s: float  # first to last second in which the sandbox saw a request of the org
    started_s: float  # workers started to every rollout finished
    jobs: dict[str, int] = field(default_factory=dict)  # provisioning job status: count
    queued: dict[str, int] = field(default_factory=dict)  # procrastinate job status: count
    workers: dict[str, str] = field(default_factory=dict)  # rollout: the worker that ran it
    # (from the workers' logs)
    logs: str = ""

    @property
    def max_per_second(self) -> int:
        return max(self.per_second.values(), default=0)

    @property
    def mean_per_full_second(self) -> float:
        """Requests per second over the seconds wholly inside the run (first and last left out)."""
        full = sorted(self.per_second)[1:-1] or sorted(self.per_second)
        return sum(self.per_second[s] for s in full) / len(full) if full else 0.0

    @property
    def floor_s(self) -> float:
        return self.calls / self.share

    @property
    def all_done(self) -> bool:
        return set(self.jobs) == {"done"} and set(self.queued) == {"succeeded"}


def rollout_sheets(tag: str, count: int) -> list[Any]:
    """Rollout `tag`'s sheets: UTM and wireless in turn (bench/provisioning.py's)."""
    from bench.provisioning import utm_sheet, wireless_sheet

    return [utm_sheet(tag, i) if i % 2 == 0 else wireless_sheet(tag, i) for i in range(count)]


def _stock(engine: Any, folder: Path, sheets: list[Any]) -> None:
    """Every sheet's units in stock (apply checks the inventory first)."""
    from sqlmodel import Session

    from core.audit import Actor
    from core.timeutil import utcnow
    from inventory import importer
    from inventory.catalogue_defaults import seed_catalogue

    rows = [f"{d.serial},{d.model},,in_stock,,,,,,,,\n" for s in sheets for d in s.devices or []]
    path = folder / "units.csv"
    path.write_text(UNIT_HEADER + "".join(rows), encoding="utf-8")
    actor = Actor(name="bench", role="admin")
    with Session(engine) as session:
        seed_catalogue(session=session, actor=actor)
        session.flush()
        report = importer.import_devices(
            session=session, actor=actor, path=path, now=utcnow(), commit=True
        )
        session.commit()
    if len(report.created) != len(rows):
        raise RuntimeError(f"stocked {len(report.created)} of {len(rows)} units")


def worker_env(settings: Any, sandbox: SandboxServer) -> dict[str, str]:
    """A `netkeep worker`'s environment: these settings, no periodic job due while measured."""
    from jobs.catalogue import PERIODIC, PRUNE_FINISHED, RETRY_STALLED

    env = {k: v for k, v in os.environ.items() if not k.startswith("NETKEEP_")}
    quiet = dict.fromkeys([*(p.name for p in PERIODIC), RETRY_STALLED, PRUNE_FINISHED], NEVER)
    env.update(
        NETKEEP_DATABASE_URL=settings.database_url,
        NETKEEP_VAR_DIR=str(settings.var_dir),
        NETKEEP_SURVEY_DIR=str(settings.survey_dir),
        NETKEEP_MERAKI_BASE_URL=sandbox.base_url,
        NETKEEP_MERAKI_API_KEY=sandbox.api_key,
        NETKEEP_MERAKI_ORG_ID=settings.meraki_org_id,
        NETKEEP_PROVISIONING_RATE_PER_ORG=f"{settings.provisioning_rate_per_org:g}",
        NETKEEP_PROVISIONING_CLAIM_LIMIT="0",
        NETKEEP_PROVISIONING_REQUIRE_SURVEY="false",
        NETKEEP_PROVISIONING_NETWORK_SETTLE_SECONDS=(
            f"{settings.provisioning_network_settle_seconds:g}"
        ),
        NETKEEP_JOB_SCHEDULE=__import__("json").dumps(quiet),
    )
    return env


def run_rollout_workers(
    *,
    database_url: str,
    sandbox: SandboxServer,
    folder: Path,
    workers: int = 4,
    sheets: int = 4,
    share: float = 8.0,
    timeout_s: float = 600.0,
) -> RolloutsRun:
    """`workers` rollouts of `sheets` sheets each into ONE organization, queued through the
    API, run by as many `netkeep worker` processes at once; the sandbox's counters read after.

    `database_url`: an empty PostgreSQL database (schema) migrated here. The sandbox should
    enforce the dashboard's 10 req/s per organization.
    """
    from fastapi.testclient import TestClient
    from sqlalchemy import text
    from sqlmodel import Session

    from api.app import create_app
    from core import auth
    from core.audit import Actor
    from core.auth import Role
    from core.db import make_engine
    from core.keys import installation_key
    from core.settings import Settings
    from provisioning.sheet_io import dump_yaml

    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    tags = [chr(ord("A") + w) for w in range(workers)]
    by_tag = {tag: rollout_sheets(tag, sheets) for tag in tags}
    _stock(engine, folder, [s for tag in tags for s in by_tag[tag]])
    settings = Settings(
        database_url=database_url,
        var_dir=folder / "var",
        survey_dir=folder / "var" / "survey",
        meraki_base_url=sandbox.base_url,
        meraki_api_key=sandbox.api_key,
        meraki_org_id=ORG,
        provisioning_rate_per_org=share,
        provisioning_claim_limit=0,
        provisioning_require_survey=False,
        _env_file=None,
    )
    installation_key(settings)  # made once here, not raced by the workers
    with Session(engine) as session:
        token = auth.create_token(
            session=session,
            actor=Actor(name="bench", role="admin"),
            name="bench-rollouts",
            role=Role.FIELD,
        ).token
        session.commit()
    rollouts: list[str] = []
    with TestClient(create_app(settings, engine)) as client:
        for tag in tags:
            files = [
                (
                    "files",
                    (
                        f"{s.site.name}.yaml",
                        dump_yaml(s, reveal_secrets=True),
                        "application/x-yaml",
                    ),
                )
                for s in by_tag[tag]
            ]
            answer = client.post(
                "/api/v1/rollouts?wait=false",
                files=files,
                headers={"Authorization": f"Bearer {token}"},
            )
            if answer.status_code != 202:
                raise RuntimeError(f"rollout {tag} not queued: {answer.status_code} {answer.text}")
            rollouts.append(answer.json()["rollout"])
    sandbox.admin.reset_counters()  # the API's planning reads are not the workers' calls
    env = worker_env(settings, sandbox)
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    started = time.monotonic()
    try:
        for w in range(workers):
            log = folder / f"worker-{w + 1}.log"
            with log.open("wb") as out:
                procs.append(
                    (
                        subprocess.Popen(
                            [str(NETKEEP), "worker", "--name", f"w{w + 1}", "--concurrency", "1"],
                            env=env,
                            cwd=folder,
                            stdout=out,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                        ),
                        log,
                    )
                )
        queued: dict[str, int] = {}
        while time.monotonic() - started < timeout_s:
            with engine.connect() as conn:
                queued = dict(
                    conn.execute(
                        text(
                            "SELECT status::text, count(*) FROM procrastinate_jobs "
                            "WHERE task_name = 'provisioning.rollout' GROUP BY status"
                        )
                    ).all()
                )
            if set(queued) <= {"succeeded", "failed", "cancelled", "aborted"}:
                break
            if any(p.poll() is not None for p, _ in procs):
                break  # a worker died: read what it left
            time.sleep(0.2)
        finished_s = time.monotonic() - started
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    with engine.connect() as conn:
        jobs: dict[str, int] = dict(
            conn.execute(
                text(
                    "SELECT status, count(*) FROM provisioning_job WHERE rollout = ANY(:r) "
                    "GROUP BY status"
                ),
                {"r": rollouts},
            ).all()
        )
    engine.dispose()
    seen = sandbox.admin.per_second(ORG)
    totals = sandbox.admin.counters()["totals"]
    return RolloutsRun(
        rollouts=rollouts,
        share=share,
        calls=sum(seen.values()),
        per_second=seen,
        rate_limited=int(totals.get("429", 0)),
        wall_s=float(max(seen) - min(seen) + 1) if seen else 0.0,
        started_s=finished_s,
        jobs={str(k): int(v) for k, v in jobs.items()},
        queued={str(k): int(v) for k, v in queued.items()},
        workers={
            rollout: log.stem
            for _, log in procs
            for rollout in rollouts
            if f"rollout {rollout}: running" in log.read_text(errors="replace")
        },
        logs="\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for _, log in procs
        ),
    )


def main_rollouts(args: argparse.Namespace) -> None:
    schema = f"bench_rollouts_{uuid.uuid4().hex[:8]}"
    pg_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    folder = Path(tempfile.mkdtemp(prefix="netkeep-rollouts-"))
    print(
        f"{args.processes} `netkeep worker` processes × 1 rollout of {args.sheets} sheets each, "
        f"1 organization, PostgreSQL budget, share {args.share:g} req/s (dashboard limit 10)"
    )
    try:
        config = SandboxConfig(rate_limit=10.0, ip_rate_limit=100.0)
        with running_sandbox(config) as sandbox:
            run = run_rollout_workers(
                database_url=pg_url,
                sandbox=sandbox,
                folder=folder,
                workers=args.processes,
                sheets=args.sheets,
                share=args.share,
            )
        print(f"  rollouts {', '.join(run.rollouts)}")
        print(f"  ran by   {', '.join(f'{r}: {w}' for r, w in sorted(run.workers.items()))}")
        line = " ".join(f"{n}" for _, n in sorted(run.per_second.items()))
        print(f"  per second seen by the sandbox for {ORG}: {line}")
        print(
            f"  calls {run.calls}, max {run.max_per_second}/s, "
            f"mean {run.mean_per_full_second:.2f}/s over full seconds (share {args.share:g}), "
            f"429s {run.rate_limited}, wall {run.wall_s:.0f} s vs floor {run.floor_s:.1f} s "
            f"(calls ÷ share), workers started to all done {run.started_s:.1f} s"
        )
        print(f"  provisioning jobs {run.jobs}; queued rollout jobs {run.queued}")
        print(f"  every job done: {run.all_done}")
        if not run.all_done:
            print(run.logs)
    finally:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--calls", type=int, default=20, help="per process")
    parser.add_argument("--share", type=float, default=8.0, help="req/s per organization")
    parser.add_argument(
        "--rollouts", action="store_true", help="workers running rollouts, not raw calls"
    )
    parser.add_argument("--sheets", type=int, default=4, help="--rollouts: sheets per rollout")
    args = parser.parse_args()
    if args.rollouts:
        main_rollouts(args)
        return
    schema = f"bench_budget_{uuid.uuid4().hex[:8]}"
    pg_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    tmp = Path("/tmp") / f"netkeep-budget-{schema}.db"
    try:
        migrate.upgrade(pg_url)
        budgets = {
            "postgresql": {"database_url": pg_url},
            "redis": {"database_url": pg_url, "redis_url": REDIS_URL},
            "in-process (SQLite)": {"database_url": f"sqlite:///{tmp}"},
        }
        total = args.processes * args.calls
        print(
            f"{args.processes} processes × {args.calls} calls, 1 organization, share "
            f"{args.share:g} req/s (dashboard limit 10); floor {total / args.share:.2f} s"
        )
        print(
            f"  {'budget':<20} {'max/s':>6} {'mean/s':>7} {'429s':>5} {'wall s':>7} {'floor s':>8}"
        )
        with running_sandbox(SandboxConfig(rate_limit=10.0, ip_rate_limit=100.0)) as sandbox:
            for name, fields in budgets.items():
                redis.Redis.from_url(REDIS_URL).delete(RedisBudget.KEY.format(ORG))
                sandbox.admin.reset_counters()
                result = run_processes(
                    settings_fields=fields
                    | {
                        "provisioning_rate_per_org": args.share,
                        "meraki_base_url": sandbox.base_url,
                        "meraki_api_key": sandbox.api_key,
                    },
                    organization_id=ORG,
                    processes=args.processes,
                    calls=args.calls,
                )
                seen = sandbox.admin.per_second(ORG)
                full = sorted(seen)[1:-1] or sorted(seen)
                mean = sum(seen[s] for s in full) / len(full)
                print(
                    f"  {name:<20} {max(seen.values()):>6} {mean:>7.2f} "
                    f"{result.rate_limited:>5} {result.wall_s:>7.2f} {total / args.share:>8.2f}"
                )
    finally:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        tmp.unlink(missing_ok=True)


if __name__ == "__main__":
    main()

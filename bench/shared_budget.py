"""Benchmark the shared dashboard budget: N processes, 1 organization (run by hand; figures).

    .venv/bin/python bench/shared_budget.py                 # 4 processes, 20 calls each
    .venv/bin/python bench/shared_budget.py --calls 50 --share 8

For each budget (PostgreSQL schema of database `test`, Redis at 127.0.0.1:6379, and for
comparison the in-process bucket every process would have on SQLite) the processes call one
organization of a sandbox that enforces the dashboard's 10 req/s. Printed: the most requests
the sandbox saw in one second (must stay ≤ the share for a shared budget), the mean over the
full seconds, 429s, and wall time against the floor of calls ÷ share.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import migrate
from dashboard.budget_probe import run_processes
from dashboard.budgets import RedisBudget
from sandbox.app import SandboxConfig
from sandbox.server import running_sandbox

DSN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
ORG = "537758"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--calls", type=int, default=20, help="per process")
    parser.add_argument("--share", type=float, default=8.0, help="req/s per organization")
    args = parser.parse_args()
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

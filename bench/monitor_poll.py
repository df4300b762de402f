"""Benchmark: one liveness poll over 10,000 devices in 10 organizations, both ways.

Run by hand:  .venv/bin/python -m bench.monitor_poll [--orgs 10] [--devices 1000] [--down 0.01]
              [--per-page 1000] [--concurrency 10] [--pace 9]

The sandbox enforces 10 requests/s per organization. For each organization: a baseline poll
(full list), then 1% of the devices go offline (admin call) and two more polls run both ways
(change history, then full list), each with the organizations polled in turn (the old way,
the baseline) and side by side (`monitoring.polling.poll_organizations`), on separate
databases -- the debounce's second sighting opens the outages. Printed per row: calls, calls ÷
rate, wall time and its ratio to calls ÷ rate, the floor (the busiest organization's calls ÷
rate: what side by side could reach), CPU time (sandbox included: it runs in this process),
the most requests one organization got in one second, outages stored.
Goal (issue 11): calls ≤ ceil(devices/1000) per org per poll; wall ≤ 1.2 × calls ÷ rate.
The webhook ingest rate is `bench/webhook_ingest.py`.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from core import migrate
from core.audit import SYSTEM
from core.db import make_engine
from dashboard.monitoring import PER_PAGE, MerakiMonitoring
from dashboard.pacing import IpCap, OrgRateLimiter
from monitoring import service
from monitoring.domain import Debounce
from monitoring.models import Outage
from monitoring.polling import poll_organizations
from sandbox.app import SandboxConfig
from sandbox.server import SandboxServer, running_sandbox

RATE = 10.0
AVAIL = "GET /organizations/{organizationId}/devices/availabilities"
HISTORY = "GET /organizations/{organizationId}/devices/availabilities/changeHistory"


def calls(sb: SandboxServer, template: str) -> int:
    method, path = template.split(" ", 1)
    return sb.admin.count(method, path)


def networked_world(sb: SandboxServer, orgs: int, devices: int) -> list[str]:
    ids = sb.admin.generate_organizations(orgs, devices)
    state = sb.admin.snapshot()
    for dev in state["devices"].values():
        if dev["organizationId"] in ids:
            dev["networkId"] = f"N_bench_{dev['organizationId']}"
            dev["status"] = "online"
    sb.admin.load_state(state)
    return ids


def database(tmp: Path, name: str) -> Engine:
    url = f"sqlite:///{tmp / name}"
    migrate.upgrade(url)
    return make_engine(url)


def poll_all(
    engine: Engine,
    dash: MerakiMonitoring,
    ids: list[str],
    now: datetime,
    history: bool,
    concurrency: int,
) -> tuple[float, float]:
    """One poll of every organization: one after another (concurrency 1: the old way, in one
    session) or side by side (`poll_organizations`)."""
    wall, cpu = time.perf_counter(), time.process_time()
    if concurrency == 1:
        with Session(engine, expire_on_commit=False) as session:
            for org in ids:
                service.poll(
                    session=session,
                    dashboard=dash,
                    organization_id=org,
                    actor=SYSTEM,
                    now=now,
                    debounce=Debounce(polls=2),
                    prefer_change_history=history,
                )
                session.commit()
    else:
        done = poll_organizations(
            session_factory=lambda: Session(engine, expire_on_commit=False),
            dashboard=dash,
            organization_ids=ids,
            actor=SYSTEM,
            now=now,
            debounce=Debounce(polls=2),
            prefer_change_history=history,
            concurrency=concurrency,
        )
        if done.failed:
            raise SystemExit(f"polls failed: {done.failed}")
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--devices", type=int, default=1000, help="per organization")
    parser.add_argument("--down", type=float, default=0.01)
    parser.add_argument("--per-page", type=int, default=PER_PAGE, help="devices per page")
    parser.add_argument(
        "--concurrency", type=int, default=10, help="organizations polled at once (1: in turn)"
    )
    parser.add_argument(
        "--pace", type=float, default=9.0, help="netkeep's own pacing, req/s per organization"
    )
    args = parser.parse_args()
    total = args.orgs * args.devices
    modes = [("in turn", 1), ("side by side", args.concurrency)]
    with (
        tempfile.TemporaryDirectory() as tmp_dir,
        running_sandbox(SandboxConfig(rate_limit=RATE, ip_rate_limit=None, seed="empty")) as sb,
    ):
        tmp = Path(tmp_dir)
        ids = networked_world(sb, args.orgs, args.devices)
        dash = MerakiMonitoring(
            api_key=sb.api_key,
            base_url=sb.base_url,
            limiter=OrgRateLimiter(rate=args.pace, ip_cap=IpCap()),
            per_page=args.per_page,
        )
        dbs = {
            (path, mode, k): database(tmp, f"{path}-{k}.db")
            for path in ("change history", "full list")
            for mode, k in modes
        }
        start = datetime.now(UTC) - timedelta(minutes=5)
        for engine in dbs.values():  # the baseline every path needs
            poll_all(engine, dash, ids, start, False, args.concurrency)
        state = sb.admin.snapshot()
        victims = [s for s, d in state["devices"].items() if d["organizationId"] in ids]
        victims = victims[:: max(1, round(1 / args.down))]
        for serial in victims:
            sb.admin.set_device_status(serial, "offline")
        print(
            f"{total} devices in {args.orgs} organizations ({args.per_page} a page), "
            f"{len(victims)} taken offline; sandbox {RATE:g} req/s per organization, "
            f"netkeep paces {args.pace:g}; two polls per row"
        )
        print(
            f"{'path':<15} {'organizations':<17} {'calls':>5} {'per org':>7} {'calls/rate':>10} "
            f"{'wall s':>7} {'÷(calls/rate)':>13} {'floor s':>7} {'÷floor':>6} {'cpu s':>6} "
            f"{'max/s/org':>9} {'outages':>7}"
        )
        for (label, mode, k), engine in dbs.items():
            history = label == "change history"
            sb.admin.reset_counters()
            wall = cpu = 0.0
            for tick in (1, 2):
                now = datetime.now(UTC) + timedelta(seconds=tick)
                w, c = poll_all(engine, dash, ids, now, history, k)
                wall, cpu = wall + w, cpu + c
            n = calls(sb, AVAIL) + calls(sb, HISTORY)
            per_org = [sum(sb.admin.per_second(org).values()) for org in ids]
            busiest = max(max(sb.admin.per_second(org).values(), default=0) for org in ids)
            floor = max(per_org) / RATE
            with Session(engine) as session:
                stored = session.exec(select(func.count()).select_from(Outage)).one()
            print(
                f"{label:<15} {f'{mode} ({k})':<17} {n:>5} {n / (2 * args.orgs):>7.1f} "
                f"{n / RATE:>10.2f} {wall:>7.2f} {wall / (n / RATE):>13.2f} "
                f"{floor:>7.2f} {wall / floor:>6.2f} {cpu:>6.2f} {busiest:>9} {stored:>7}"
            )
        print(
            f"goal: ≤ {math.ceil(args.devices / 1000)} call(s) per org per poll; "
            "wall ≤ 1.2 × calls/rate (floor: the busiest organization's calls ÷ rate)"
        )


if __name__ == "__main__":
    main()

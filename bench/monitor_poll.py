"""Benchmark: one liveness poll over 10,000 devices in 10 organizations, both ways.

Run by hand:  .venv/bin/python -m bench.monitor_poll [--orgs 10] [--devices 1000] [--down 0.01]
              [--webhooks 1000]

The sandbox enforces 10 requests/s per organization. For each organization: a baseline poll
(full list), then 1% of the devices go offline (admin call) and two more polls run both ways
(change history, then full list, on separate databases) -- the debounce's second sighting opens
the outages. Printed per path: calls, calls ÷ rate, wall time, CPU time, outages stored.
Goal (issue 11): calls ≤ ceil(devices/1000) per org per poll; wall ≤ 1.2 × calls ÷ rate.
Last, the webhook receiver's ingest rate: N alerts through `receive_alert` on one process.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, func, select

from core import migrate
from core.audit import SYSTEM
from core.db import make_engine
from dashboard.monitoring import MerakiMonitoring
from monitoring import service
from monitoring.alerts import ReceiverPolicy, receive_alert
from monitoring.domain import Debounce
from monitoring.models import Outage
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


def database(tmp: Path, name: str) -> Session:
    url = f"sqlite:///{tmp / name}"
    migrate.upgrade(url)
    return Session(make_engine(url), expire_on_commit=False)


def poll_all(
    session: Session, dash: MerakiMonitoring, ids: list[str], now: datetime, history: bool
) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
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
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--down", type=float, default=0.01)
    parser.add_argument("--webhooks", type=int, default=1000)
    args = parser.parse_args()
    total = args.orgs * args.devices
    with (
        tempfile.TemporaryDirectory() as tmp_dir,
        running_sandbox(SandboxConfig(rate_limit=RATE, ip_rate_limit=None, seed="empty")) as sb,
    ):
        tmp = Path(tmp_dir)
        ids = networked_world(sb, args.orgs, args.devices)
        dash = MerakiMonitoring(api_key=sb.api_key, base_url=sb.base_url)
        dbs = {"change history": database(tmp, "history.db"), "full list": database(tmp, "full.db")}
        start = datetime.now(UTC) - timedelta(minutes=5)
        for session in dbs.values():  # the baseline every path needs
            poll_all(session, dash, ids, start, history=False)
        state = sb.admin.snapshot()
        victims = [s for s, d in state["devices"].items() if d["organizationId"] in ids]
        victims = victims[:: max(1, round(1 / args.down))]
        for serial in victims:
            sb.admin.set_device_status(serial, "offline")
        print(
            f"{total} devices in {args.orgs} organizations, {len(victims)} taken offline; "
            f"sandbox {RATE:g} req/s per organization"
        )
        print(
            f"{'path':<15} {'calls':>5} {'per org':>7} {'calls/rate':>10} {'wall s':>7} "
            f"{'cpu s':>6} {'outages':>7}"
        )
        for label, session in dbs.items():
            history = label == "change history"
            sb.admin.reset_counters()
            wall = cpu = 0.0
            for k in (1, 2):
                w, c = poll_all(
                    session, dash, ids, datetime.now(UTC) + timedelta(seconds=k), history
                )
                wall, cpu = wall + w, cpu + c
            n = calls(sb, HISTORY if history else AVAIL)
            other = calls(sb, AVAIL) if history else calls(sb, HISTORY)
            stored = session.exec(select(func.count()).select_from(Outage)).one()
            per_org = (n + other) / (2 * args.orgs)
            print(
                f"{label:<15} {n + other:>5} {per_org:>7.1f} {(n + other) / RATE:>10.2f} "
                f"{wall:>7.2f} {cpu:>6.2f} {stored:>7}"
            )
        print(f"goal: ≤ {math.ceil(args.devices / 1000)} call(s) per org per poll")
        session = database(tmp, "webhooks.db")
        policy = ReceiverPolicy("bench-secret")
        now = datetime.now(UTC)
        bodies = [
            json.dumps(
                {
                    "sharedSecret": "bench-secret",
                    "sentAt": now.isoformat(),
                    "alertId": f"a{i:08d}",
                    "alertType": "Settings changed",
                    "networkId": "N_bench",
                    "organizationId": "1",
                }
            ).encode()
            for i in range(args.webhooks)
        ]
        wall, cpu = time.perf_counter(), time.process_time()
        for raw in bodies:
            receive_alert(session=session, raw=raw, policy=policy, actor=SYSTEM, now=now)
            session.commit()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"webhooks: {args.webhooks} received and committed one by one in {wall:.2f} s "
            f"({args.webhooks / wall:.0f}/s), cpu {cpu:.2f} s (SQLite file, no HTTP)"
        )


if __name__ == "__main__":
    main()

"""Benchmark: Meraki webhooks ingested per second by one API worker process, over loopback HTTP.

Run by hand:  .venv/bin/python -m bench.webhook_ingest [--seconds 10] [--connections 32]
                [--db postgresql | --db URL] [--down 0.0] [--baseline ../old-checkout]

`--baseline` serves another checkout's app first under the same load (before/after in one run).
Besides webhooks/s the server's CPU time is printed: on a shared machine webhooks per CPU
second say what one worker does with a core to itself.

`netkeep`'s app runs under uvicorn (one worker, a separate process) with a webhook secret set;
the load generator is wrk (a C client, 2 threads, keep-alive; Debian: `apt-get install wrk`)
with a Lua script that sends each request a fresh `sentAt` and a unique `alertId`, so every
alert passes the secret, stale and replay checks and is stored. Without wrk an asyncio httpx
client is used (then the client competes for the same 2 cores). `--down` sends that share as
"Appliance went down"/"came up" pairs for a few serials (the outage path), the rest "Settings
changed". After the run every alert answered 2xx must be in the database: the bench counts them.
Goal (issue 11): 1,000 webhooks/s on one worker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlmodel import Session, func, select

from bench.api_device_get import free_port, fresh_pg_schema, wait_up
from core import migrate
from core.db import make_engine
from monitoring.models import MonitorAlert

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-webhook-secret"

WRK_SCRIPT = """
local nonce = "%(nonce)s"
local down = %(down)f
local threads = 0
setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local counter = 0
request = function()
  counter = counter + 1
  local kind = "Settings changed"
  local serial = ""
  if math.random() < down then
    if counter %% 2 == 0 then kind = "Appliance went down" else kind = "Appliance came up" end
    serial = string.format(',"deviceSerial":"Q2BN-%%04d-0001"', counter %% 50)
  end
  local body = string.format(
    '{"version":"0.1","sharedSecret":"%(secret)s","sentAt":"%%s","organizationId":"1",' ..
    '"networkId":"N_bench","alertId":"%%s-%%d-%%d","alertType":"%%s","alertData":{}%%s}',
    os.date("!%%Y-%%m-%%dT%%H:%%M:%%SZ"), nonce, tid, counter, kind, serial)
  return wrk.format("POST", "/webhooks/meraki", {["Content-Type"] = "application/json"}, body)
end
"""


def load_wrk(
    base: str, seconds: float, connections: int, down: float, tmp: Path
) -> dict[str, float]:
    script = tmp / "ingest.lua"
    nonce = uuid.uuid4().hex[:8]
    script.write_text(WRK_SCRIPT % {"nonce": nonce, "down": down, "secret": SECRET})
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{int(seconds)}s", "--latency",
         "-s", str(script), base],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    found = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def pct(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if match is None:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    if "Socket errors" in out:
        print(out)
    return {
        "rps": float(out.split("Requests/sec:")[1].split()[0]),
        "requests": float(found.group(1)) if found else 0.0,
        "refused": float(non2xx.group(1)) if non2xx else 0.0,
        "p50": pct("50%"),
        "p99": pct("99%"),
    }


async def load_httpx(base: str, seconds: float, connections: int) -> dict[str, float]:
    nonce = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    refused = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits) as client:

        async def worker(k: int) -> None:
            nonlocal refused
            i = 0
            while time.perf_counter() < deadline:
                i += 1
                body = {
                    "version": "0.1",
                    "sharedSecret": SECRET,
                    "sentAt": datetime.now(UTC).isoformat(),
                    "organizationId": "1",
                    "networkId": "N_bench",
                    "alertId": f"{nonce}-{k}-{i}",
                    "alertType": "Settings changed",
                    "alertData": {},
                }
                start = time.perf_counter()
                r = await client.post("/webhooks/meraki", json=body)
                latencies.append(time.perf_counter() - start)
                refused += r.status_code >= 300

        start = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(connections)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "requests": float(len(latencies)),
        "refused": float(refused),
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(args: argparse.Namespace, db_url: str, tmp: Path, root: Path = ROOT) -> None:
    migrate.upgrade(db_url)
    env = os.environ | {
        "NETKEEP_DATABASE_URL": db_url,
        "NETKEEP_MONITOR_WEBHOOK_SECRET": SECRET,
    }
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=root, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(f"{base}/healthz")
        wrk = shutil.which("wrk") is not None
        print(
            f"POST /webhooks/meraki served from {root}: one uvicorn worker, "
            f"{args.connections} keep-alive connections, {args.seconds:g} s, "
            f"{db_url.split(':')[0]}; load generator: "
            + ("wrk (2 threads, Lua)" if wrk else "asyncio httpx (wrk not installed)")
        )
        cpu = cpu_seconds(server.pid)
        if wrk:
            result = load_wrk(base, args.seconds, args.connections, args.down, tmp)
        else:
            result = asyncio.run(load_httpx(base, args.seconds, args.connections))
        cpu = cpu_seconds(server.pid) - cpu
    finally:
        server.terminate()
        server.wait(timeout=30)
    engine = make_engine(db_url)
    with Session(engine) as session:
        stored = session.exec(select(func.count()).select_from(MonitorAlert)).one()
    engine.dispose()
    accepted = int(result["requests"] - result["refused"])
    print(
        f"  {result['rps']:8,.0f} webhooks/s   p50 {result['p50']:6.2f} ms   "
        f"p99 {result['p99']:6.2f} ms   (goal ≥ 1,000/s)"
    )
    print(
        f"  server CPU {cpu:.2f} s: {result['requests'] / cpu:8,.0f} webhooks per CPU second "
        f"(what the worker does with a core of its own; the machine is shared)"
    )
    print(
        f"  {int(result['requests'])} answered, {int(result['refused'])} refused, "
        f"{accepted} accepted; {stored} stored "
        f"({'every accepted alert stored' if stored >= accepted else 'ALERTS LOST'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--down", type=float, default=0.0, help="share of down/up alerts")
    parser.add_argument(
        "--db",
        default="",
        help="database URL, or `postgresql` for a fresh schema (default: a fresh SQLite file)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also serve the app from this checkout first (e.g. ../old-checkout), same load",
    )
    args = parser.parse_args()
    roots = [args.baseline.resolve(), ROOT] if args.baseline else [ROOT]
    for k, root in enumerate(roots):
        tmp = Path(tempfile.mkdtemp())
        if args.db == "postgresql":
            with fresh_pg_schema() as url:
                run(args, url, tmp, root)
        else:
            run(args, args.db or f"sqlite:///{tmp / f'ingest{k}.db'}", tmp, root)


if __name__ == "__main__":
    main()

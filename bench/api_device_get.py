"""Benchmark: GET /api/v1/devices/{serial} against a bare Starlette endpoint with the same JSON.

Both are served the same way (uvicorn, one worker, a separate process) in the same run, loaded by
the same asyncio httpx client with keep-alive; prints requests/s, p50/p99 and the ratio.
Run by hand:  .venv/bin/python bench/api_device_get.py [--seconds 10] [--concurrency 16]
                [--db postgresql | --db URL] [--rounds 6]
With wrk installed (Debian: `apt-get install wrk`) wrk is the load generator; each server is
first warmed for 2 s. Also printed: each server's CPU time (user + system, from /proc) per
request, whose ratio holds on a machine shared with other work, where requests/s does not;
and with `--rounds N` the servers take turns N times (each round's ratio and their median).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SERIALS = [f"Q2FY-BNCH-{i:04d}" for i in range(2000)]

BARE_APP = """
import json, os
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
BODY = json.loads(os.environ["BENCH_BODY"])
async def device(request):
    return JSONResponse(BODY)
app = Starlette(routes=[Route("/api/v1/devices/{serial}", device)])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str) -> None:
    for _ in range(200):
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def prepare(db_url: str) -> str:
    """Migrate, load devices, issue a viewer token; returns the token."""
    code = f"""
from sqlmodel import Session
from core import migrate, auth
from core.audit import Actor
from core.auth import Role
from core.db import make_engine
from core.timeutil import utcnow
from inventory.catalogue_defaults import seed_catalogue
from inventory import importer
from pathlib import Path
import tempfile
url = {db_url!r}
migrate.upgrade(url)
eng = make_engine(url)
actor = Actor(name="bench", role="admin")
csv = Path(tempfile.mkdtemp()) / "d.csv"
rows = "".join(f"{{s}},MX67,本社\\n" for s in {SERIALS!r})
csv.write_text("serial,model,site\\n" + rows, encoding="utf-8")
with Session(eng) as s:
    seed_catalogue(session=s, actor=actor)
    importer.import_devices(session=s, actor=actor, path=csv, now=utcnow(), commit=True)
    print(auth.create_token(session=s, actor=actor, name="bench", role=Role.VIEWER).token)
    s.commit()
"""
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return out.stdout.strip().splitlines()[-1]


async def load(
    base: str, token: str, seconds: float, concurrency: int
) -> tuple[float, list[float], int]:
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:

        async def worker(k: int) -> None:
            nonlocal errors
            i = k
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                r = await client.get(f"/api/v1/devices/{SERIALS[i % len(SERIALS)]}")
                latencies.append(time.perf_counter() - start)
                errors += r.status_code != 200
                i += concurrency

        start = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        elapsed = time.perf_counter() - start
    return len(latencies) / elapsed, sorted(latencies), errors


WRK_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", string.format("/api/v1/devices/Q2FY-BNCH-%04d", counter % 2000))
end
"""


def load_wrk(
    base: str, token: str, seconds: float, concurrency: int, tmp: Path
) -> tuple[float, float, float]:
    """Requests/s, p50 and p99 in ms from wrk (a C load generator: the client is not the limit)."""
    script = tmp / "serials.lua"
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(concurrency),
            "-d",
            f"{int(seconds)}s",
            "--latency",
            "-s",
            str(script),
            "-H",
            f"Authorization: Bearer {token}",
            base,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(out.split("Requests/sec:")[1].split()[0])

    def pct(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no {label} latency in wrk output:\n{out}")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(out)
    return rps, pct("50%"), pct("99%")


def rounds_wrk(
    servers: tuple[tuple[subprocess.Popen[bytes], int], ...],
    token: str,
    args: argparse.Namespace,
    tmp: Path,
) -> tuple[list[tuple[float, float, float]], list[float], list[float]]:
    """`args.rounds` short runs of each server, taking turns (bare, netkeep, netkeep, bare, ...):
    on a machine shared with other work each pair of runs meets the same load. Returns each
    server's mean req/s with its runs' median p50 and p99, CPU µs per request, and each round's
    req/s ratio (netkeep / bare)."""
    seconds = max(1, int(args.seconds))
    print(f"  load generator: wrk (2 threads), {args.rounds} rounds of {seconds} s each, in turns")
    for _, port in servers:
        load_wrk(f"http://127.0.0.1:{port}", token, 2, args.concurrency, tmp)
    runs: list[list[tuple[float, float, float]]] = [[] for _ in servers]
    used = [0.0 for _ in servers]
    ratios = []
    for round_ in range(args.rounds):
        order = range(len(servers)) if round_ % 2 == 0 else reversed(range(len(servers)))
        for i in order:
            proc, port = servers[i]
            before = cpu_seconds(proc.pid)
            runs[i].append(
                load_wrk(f"http://127.0.0.1:{port}", token, seconds, args.concurrency, tmp)
            )
            used[i] += cpu_seconds(proc.pid) - before
        ratios.append(runs[1][-1][0] / runs[0][-1][0])
    results = [
        (
            statistics.fmean(r[0] for r in server_runs),
            statistics.median(r[1] for r in server_runs),
            statistics.median(r[2] for r in server_runs),
        )
        for server_runs in runs
    ]
    cpu = [used[i] / sum(r[0] * seconds for r in runs[i]) * 1e6 for i in range(len(servers))]
    return results, cpu, ratios


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *args, "--log-level", "warning", "--no-access-log"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def summarise(result: tuple[float, list[float], int]) -> tuple[float, float, float]:
    rps, lat, errors = result
    if errors:
        raise RuntimeError(f"{errors} requests failed")
    return rps, lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="with wrk: that many runs of --seconds per server, taking turns (a shared machine)",
    )
    parser.add_argument(
        "--db",
        default="",
        help="database URL, or `postgresql` for a fresh schema in NETKEEP_TEST_PG_URL's database "
        "(default: a fresh SQLite file)",
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    if args.db == "postgresql":
        with fresh_pg_schema() as url:
            run(args, url, tmp)
    else:
        run(args, args.db or f"sqlite:///{tmp / 'bench.db'}", tmp)


@contextmanager
def fresh_pg_schema() -> Iterator[str]:
    """A throw-away schema in the test PostgreSQL database, dropped afterwards."""
    import psycopg

    base = os.environ.get(
        "NETKEEP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    admin = base.replace("postgresql+psycopg://", "postgresql://")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run(args: argparse.Namespace, db_url: str, tmp: Path) -> None:
    token = prepare(db_url)
    env = os.environ | {"NETKEEP_DATABASE_URL": db_url}
    netkeep_port, bare_port = free_port(), free_port()
    api = serve(["api.main:app", "--port", str(netkeep_port)], env)
    try:
        wait_up(f"http://127.0.0.1:{netkeep_port}/healthz")
        body = httpx.get(
            f"http://127.0.0.1:{netkeep_port}/api/v1/devices/{SERIALS[0]}",
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        (tmp / "bare.py").write_text(BARE_APP)
        bare = serve(
            ["bare:app", "--app-dir", str(tmp), "--port", str(bare_port)],
            env | {"BENCH_BODY": json.dumps(body)},
        )
        try:
            wait_up(f"http://127.0.0.1:{bare_port}/api/v1/devices/x")
            print(
                f"GET /api/v1/devices/{{serial}}: {args.concurrency} keep-alive clients, "
                f"{args.seconds:.0f} s each, {db_url.split(':')[0]}"
            )
            cpu: list[float] = []
            ratios: list[float] = []
            if shutil.which("wrk") and args.rounds > 1:
                results, cpu, ratios = rounds_wrk(
                    ((bare, bare_port), (api, netkeep_port)), token, args, tmp
                )
            elif shutil.which("wrk"):
                print("  load generator: wrk (2 threads), 2 s of warm-up each")
                results = []
                for proc, p in ((bare, bare_port), (api, netkeep_port)):
                    load_wrk(f"http://127.0.0.1:{p}", token, 2, args.concurrency, tmp)
                    url = f"http://127.0.0.1:{p}"
                    before = cpu_seconds(proc.pid)
                    results.append(load_wrk(url, token, args.seconds, args.concurrency, tmp))
                    served = results[-1][0] * int(args.seconds)  # wrk's req/s x its duration
                    cpu.append((cpu_seconds(proc.pid) - before) / served * 1e6)
            else:
                print("  load generator: asyncio httpx (with wrk the client is not the limit)")
                results = [
                    summarise(
                        asyncio.run(
                            load(f"http://127.0.0.1:{p}", token, args.seconds, args.concurrency)
                        )
                    )
                    for p in (bare_port, netkeep_port)
                ]
            for label, (rps, p50, p99) in zip(
                ("bare Starlette (same JSON)", "netkeep (auth + 1 query)"), results, strict=True
            ):
                print(f"  {label:28} {rps:8,.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
            print(f"  ratio netkeep / bare: {results[1][0] / results[0][0]:.2f}  (target ≥ 0.80)")
            if ratios:
                print(
                    f"  ratio per round: {' '.join(f'{r:.2f}' for r in ratios)}; "
                    f"median {statistics.median(ratios):.2f}"
                )
            if cpu and cpu[1] > 0:
                print(
                    f"  server CPU per request: bare {cpu[0]:.0f} µs, netkeep {cpu[1]:.0f} µs; "
                    f"ratio {cpu[0] / cpu[1]:.2f}"
                )
        finally:
            bare.terminate()
    finally:
        api.terminate()


if __name__ == "__main__":
    main()

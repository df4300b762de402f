"""Load: the device and RMA reads with 1,000,000 devices and RMAs in PostgreSQL (run by hand).

    .venv/bin/python bench/load_million.py                    # 1,000,000 rows, 15 s per endpoint
    .venv/bin/python bench/load_million.py --rows 100000 --seconds 10 --workers 2

Devices and RMAs are COPY-loaded into a fresh schema of database `test` (bench/rma_sweep.py's
rows: 86% closed RMAs, 1% overdue, ...), a viewer token is issued, and `uvicorn api.main:app`
(netkeep) and a bare Starlette app are started side by side with the same number of processes.
The bare app reads the same row with one psycopg query from a pool and returns it as JSON: no
auth, no ORM, no middleware. wrk (2 threads, keep-alive) then loads each pair in turn with random
keys chosen by a Lua script:

- GET /api/v1/devices/{serial}        a random device
- GET /api/v1/rmas/{id}               a random RMA
- GET /api/v1/rmas?serial=..&limit=20 the RMA list filtered by a random serial

and prints requests/s, p50, p99 and the ratio netkeep / bare for each. The schema is dropped
afterwards unless --keep. Needs wrk (`apt-get install wrk`). The machine's load average is
printed before and after: on a shared machine the figures move with it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from rma_sweep import DSN, load_postgres  # noqa: E402
from sqlmodel import Session  # noqa: E402

from core import auth, migrate  # noqa: E402
from core.audit import Actor  # noqa: E402
from core.auth import Role  # noqa: E402
from core.db import make_engine  # noqa: E402
from inventory.catalogue_defaults import seed_catalogue  # noqa: E402

BENCH = Actor(name="bench", role="admin")

BARE_APP = """
import os
from datetime import date, datetime
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

POOL = ConnectionPool(os.environ["BENCH_DSN"], min_size=4, max_size=16,
                      kwargs={"row_factory": dict_row, "autocommit": True})
DEVICE = "SELECT id, serial, model, status, customer, site, network_id, notes FROM device "
RMA = ("SELECT id, status, waiting_status, failed_serial, failed_model, symptom, reporter, "
       "reported_at, shipped_at, due_date, closed_at FROM rma ")

def plain(row):
    return {k: v.isoformat() if isinstance(v, (date, datetime)) else v for k, v in row.items()}

def one(sql, *params):
    with POOL.connection() as conn:
        row = conn.execute(sql, params).fetchone()
    return JSONResponse(plain(row)) if row else JSONResponse({"error": "not found"}, 404)

def device(request):
    return one(DEVICE + "WHERE serial = %s", request.path_params["serial"])

def rma(request):
    return one(RMA + "WHERE id = %s", int(request.path_params["rma_id"]))

def rmas(request):
    serial, limit = request.query_params["serial"], int(request.query_params.get("limit", 20))
    with POOL.connection() as conn:
        where = "WHERE failed_serial = %s OR replacement_serial = %s"  # as rma.views.list_rmas
        total = conn.execute("SELECT count(*) AS n FROM rma " + where,
                             (serial, serial)).fetchone()["n"]
        items = conn.execute(RMA + where + " ORDER BY id LIMIT %s",
                             (serial, serial, limit)).fetchall()
    return JSONResponse({"total": total, "items": [plain(r) for r in items]})

app = Starlette(routes=[
    Route("/api/v1/devices/{serial}", device),
    Route("/api/v1/rmas/{rma_id:int}", rma),
    Route("/api/v1/rmas", rmas),
])
"""

# wrk: each thread draws its own random keys (seeded per thread, so the threads differ).
LUA = """
local n = {rows}
local seeded = false
request = function()
  if not seeded then
    math.randomseed(os.time() + tonumber(tostring({{}}):sub(8), 16))
    seeded = true
  end
  local i = math.random(0, n - 1)
  local serial = string.format("QBEN-%04d-%04d", math.floor(i / 10000), i % 10000)
  local path = string.format("{template}", {args})
  return wrk.format("GET", path)
end
"""

ENDPOINTS = (
    ("GET /api/v1/devices/{serial}", "/api/v1/devices/%s", "serial"),
    ("GET /api/v1/rmas/{id}", "/api/v1/rmas/%d", "i + 1"),
    ("GET /api/v1/rmas?serial=&limit=20", "/api/v1/rmas?serial=%s&limit=20", "serial"),
)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def uptime() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def wait_up(url: str, headers: dict[str, str] | None = None) -> None:
    for _ in range(600):
        try:
            if httpx.get(url, timeout=2, headers=headers).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def wrk(base: str, script: Path, token: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [
            *("wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency"),
            *("-s", str(script), "-H", f"Authorization: Bearer {token}", base),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(out)

    def pct(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no {label} latency in wrk output:\n{out}")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(out.split("Requests/sec:")[1].split()[0])
    return {"rps": rps, "p50": pct("50%"), "p99": pct("99%")}


def serve(
    app: str, port: int, workers: int, env: dict[str, str], app_dir: Path
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir)),
            *("--port", str(port), "--workers", str(workers)),
            *("--log-level", "warning", "--no-access-log"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="processes of each app")
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="use the schema a --keep run left (no reload)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    schema = f"bench_load_{args.rows}"
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    if not args.reuse:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')
    tmp = Path(tempfile.mkdtemp(prefix="netkeep-load-"))
    processes: list[subprocess.Popen[bytes]] = []
    print(f"load average before: {uptime()}")
    try:
        started = time.perf_counter()
        migrate.upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            if not args.reuse:
                seed_catalogue(session=session, actor=BENCH)
            token = auth.create_token(
                session=session, actor=BENCH, name=f"bench-{time.time_ns()}", role=Role.VIEWER
            ).token
            session.commit()
        engine.dispose()
        if not args.reuse:
            load_postgres(schema, args.rows, 0.01)
        print(
            f"PostgreSQL schema {schema}: {args.rows:,} devices and RMAs "
            f"{'reused' if args.reuse else 'COPY-loaded'} in {time.perf_counter() - started:.1f} s"
        )
        (tmp / "bare.py").write_text(BARE_APP)
        env = os.environ | {
            "NETKEEP_DATABASE_URL": url,
            "NETKEEP_VAR_DIR": str(tmp / "var"),
            "BENCH_DSN": f"{DSN}?options=-csearch_path%3D{schema}",
        }
        nk_port, bare_port = free_port(), free_port()
        processes.append(serve("api.main:app", nk_port, args.workers, env, ROOT))
        processes.append(serve("bare:app", bare_port, args.workers, env, tmp))
        auth_header = {"Authorization": f"Bearer {token}"}
        wait_up(f"http://127.0.0.1:{nk_port}/api/v1/devices/QBEN-0000-0001", auth_header)
        wait_up(f"http://127.0.0.1:{bare_port}/api/v1/devices/QBEN-0000-0001")
        print(
            f"wrk: 2 threads, {args.connections} keep-alive connections, {args.seconds} s each, "
            f"{args.workers} process(es) per app, random keys over {args.rows:,} rows"
        )
        for label, template, key in ENDPOINTS:
            script = tmp / f"{abs(hash(label))}.lua"
            script.write_text(LUA.format(rows=args.rows, template=template, args=key))
            bare = wrk(
                f"http://127.0.0.1:{bare_port}", script, token, args.seconds, args.connections
            )
            nk = wrk(f"http://127.0.0.1:{nk_port}", script, token, args.seconds, args.connections)
            print(f"  {label}")
            for name, r in (("bare Starlette + psycopg", bare), ("netkeep", nk)):
                print(
                    f"    {name:26} {r['rps']:8,.0f} req/s   p50 {r['p50']:7.2f} ms   "
                    f"p99 {r['p99']:7.2f} ms"
                )
            print(f"    ratio netkeep / bare: {nk['rps'] / bare['rps']:.2f} (throughput)")
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        print(f"load average after: {uptime()}")
        if args.keep:
            print(f"kept: {url}")
        else:
            with psycopg.connect(DSN, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

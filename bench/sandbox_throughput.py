"""Requests per second the sandbox serves on loopback, 50 organizations hit concurrently.

Run by hand:  .venv/bin/python bench/sandbox_throughput.py [--orgs 50] [--seconds 10]
The sandbox runs in its own process (python -m sandbox.cli); each organization gets its own
httpx keep-alive client in its own thread, cycling through
GET network, GET org networks, GET inventory (perPage=10), PUT device. Rate limits are lifted.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from sandbox.server import SandboxAdmin

ADMIN = secrets.token_urlsafe(16)  # the sandbox has no well-known admin token


def hammer(
    base_url: str,
    api_key: str,
    org_id: str,
    until: float,
    counts: dict[str, int],
    errors: dict[str, int],
) -> None:
    """One org's client: loop over a small mix of reads and a write until the deadline."""
    net = f"N_bench_{org_id}"
    paths = [
        ("GET", f"/networks/{net}", None),
        ("GET", f"/organizations/{org_id}/networks", None),
        ("GET", f"/organizations/{org_id}/inventory/devices?perPage=10", None),
        ("PUT", f"/networks/{net}", {"notes": "bench"}),
    ]
    done = failed = 0
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=10
    ) as client:
        while time.perf_counter() < until:
            method, path, body = paths[done % len(paths)]
            response = client.request(method, path, json=body)
            done += 1
            failed += response.status_code >= 400
    counts[org_id] = done
    errors[org_id] = failed


@contextmanager
def sandbox_process() -> Iterator[tuple[str, SandboxAdmin]]:
    """The sandbox in its own process, so client threads do not share its GIL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.cli",
            "--port",
            str(port),
            "--rate-limit",
            "0",
            "--seed",
            "empty",
            "--admin-token",
            ADMIN,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{port}"
    admin = SandboxAdmin(root, ADMIN)
    try:
        for _ in range(200):
            try:
                admin.counters()
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        admin.set_rate_limit(None, None)
        yield f"{root}/api/v1", admin
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    """Start a sandbox, hit it from N threads for a bounded time, print figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orgs", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    seconds = min(args.seconds, 20.0)
    with sandbox_process() as (base_url, admin):
        org_ids = admin.generate_organizations(args.orgs, devices_each=20)
        counts: dict[str, int] = {}
        errors: dict[str, int] = {}
        until = time.perf_counter() + seconds
        threads = [
            threading.Thread(
                target=hammer, args=(base_url, "sandbox-api-key", o, until, counts, errors)
            )
            for o in org_ids
        ]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        served = admin.counters()["totals"].get("count", 0)
    per_org = [c / elapsed for c in counts.values()]
    total = sum(counts.values())
    print(f"organizations:        {args.orgs}")
    print(f"duration:             {elapsed:.1f} s")
    print(
        f"requests (client):    {total}  (server counted {served}, errors {sum(errors.values())})"
    )
    print(f"total throughput:     {total / elapsed:,.0f} req/s")
    print(
        f"per organization:     mean {statistics.mean(per_org):.1f} req/s, "
        f"min {min(per_org):.1f}, max {max(per_org):.1f}"
    )
    print(
        f"real dashboard limit: 10 req/s per organization -> "
        f"{'OK' if min(per_org) > 10 else 'TOO SLOW'} (min/limit = {min(per_org) / 10:.1f}x)"
    )


if __name__ == "__main__":
    main()

"""Schemathesis against a real `netkeep serve` on SQLite with an admin token, run by hand.

It loads the demo data into a fresh SQLite file, starts the dashboard sandbox and `netkeep serve`
on free loopback ports, lets schemathesis fuzz netkeep's own OpenAPI for `--seconds`, then counts
from the server's access log the responses >= 500 and the operations that drew one, and from its
error log the tracebacks by exception type. Schemathesis' own summary (schema violations) follows.

    .venv/bin/python -m bench.api_fuzz --seconds 180            # this tree
    PYTHONPATH=/tmp/old-tree .venv/bin/python -m bench.api_fuzz  # another checkout of netkeep
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')
EXCEPTION = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(Error|Exception|Warning)): ", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def operations(openapi: dict[str, object]) -> list[tuple[str, re.Pattern[str], str]]:
    """(method, path regex, label) for every operation of the schema, most specific first."""
    ops = []
    paths = openapi["paths"]
    assert isinstance(paths, dict)
    for template, methods in paths.items():
        regex = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
        for method in methods:
            ops.append((method.upper(), regex, f"{method.upper()} {template}"))
    ops.sort(key=lambda op: op[2].count("{"))
    return ops


def server_errors(log: str, ops: list[tuple[str, re.Pattern[str], str]]) -> dict[str, int]:
    """Responses >= 500 by operation, read from uvicorn's access log."""
    found: collections.Counter[str] = collections.Counter()
    for match in ACCESS.finditer(log):
        if int(match["status"]) < 500:
            continue
        path = match["path"].split("?", 1)[0]
        label = next(
            (lbl for m, rx, lbl in ops if m == match["method"] and rx.match(path)),
            f"{match['method']} {path}",
        )
        found[label] += 1
    return dict(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=180)
    parser.add_argument("--workers", default="1")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--no-tokens", action="store_true", help="leave the token routes out (no self-lockout)"
    )
    args = parser.parse_args()

    from netkeep.demo import load_demo

    work = Path(tempfile.mkdtemp(prefix="netkeep-fuzz-"))
    url = f"sqlite:///{work / 'netkeep.db'}"
    token = load_demo(url).admin_token
    sandbox_port, api_port = free_port(), free_port()
    env = os.environ | {
        "NETKEEP_DATABASE_URL": url,
        "NETKEEP_MERAKI_BASE_URL": f"http://127.0.0.1:{sandbox_port}/api/v1",
        "NETKEEP_VAR_DIR": str(work),
        "NETKEEP_SURVEY_DIR": str(work / "survey"),
    }
    cli = [sys.executable, "-c", "from netkeep.cli import main; main()"]
    log_path = work / "server.log"
    with open(log_path, "w") as log, open(work / "sandbox.log", "w") as sandbox_log:
        sandbox = subprocess.Popen(
            [*cli, "sandbox", "--port", str(sandbox_port)],
            env=env,
            stdout=sandbox_log,
            stderr=subprocess.STDOUT,
        )
        server = subprocess.Popen(
            [*cli, "serve", "--port", str(api_port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{api_port}"
            wait_http(f"{base}/healthz")
            with urllib.request.urlopen(f"{base}/openapi.json") as answer:
                openapi = json.load(answer)
            command = [
                str(Path(sys.executable).with_name("st")),
                "run",
                f"{base}/openapi.json",
                "-H",
                f"Authorization: Bearer {token}",
                "--max-time",
                str(args.seconds),
                "-w",
                args.workers,
                "--checks",
                "all",
                "--request-timeout",
                "60",
                "--suppress-health-check",
                "all",
                "--seed",
                "1",
            ]
            if args.no_tokens:
                command += ["--exclude-path-regex", ".*/tokens.*"]
            shown = [
                part if token not in part else "Authorization: Bearer $TOKEN" for part in command
            ]
            print("schemathesis:", " ".join(shown), flush=True)
            # In the temporary directory: schemathesis keeps its cache in the working directory.
            run = subprocess.run(command, capture_output=True, text=True, check=False, cwd=work)
        finally:
            for process in (server, sandbox):
                process.terminate()
                process.wait(timeout=20)
    log_text = log_path.read_text(errors="replace")
    errors = server_errors(log_text, operations(openapi))
    tracebacks = collections.Counter(m["type"] for m in EXCEPTION.finditer(log_text))
    requests = len(ACCESS.findall(log_text))
    print(f"operations in the schema: {len(operations(openapi))}")
    print(f"requests served: {requests}")
    print(f"responses >= 500: {sum(errors.values())} from {len(errors)} operations")
    by_status = collections.Counter(
        m["status"] for m in ACCESS.finditer(log_text) if int(m["status"]) >= 500
    )
    print(f"  by status: {dict(sorted(by_status.items()))}")
    for label, count in sorted(errors.items(), key=lambda kv: -kv[1]):
        print(f"  {count:5d}  {label}")
    print("exceptions in the server log:")
    for name, count in tracebacks.most_common():
        print(f"  {count:5d}  {name}")
    summary = run.stdout[run.stdout.find("SUMMARY") :] if "SUMMARY" in run.stdout else run.stdout
    print("schemathesis summary:\n" + summary[-6000:])
    (work / "schemathesis.txt").write_text(run.stdout + run.stderr)
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

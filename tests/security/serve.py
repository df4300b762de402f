"""A real `netkeep serve` in a subprocess, its resident memory, and a raw-socket client.

The raw client sends a request's head, then its body in pieces, and stops sending as soon as
the server has answered — as a browser or curl does when a server refuses an upload early.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from core import auth, migrate
from core.audit import Actor
from core.auth import Role
from core.db import make_engine, session_scope


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """Resident memory of a process in KiB (VmHWM: its peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


@dataclass
class Served:
    url: str
    port: int
    pid: int
    tokens: dict[str, str]


@contextmanager
def netkeep_serve(folder: Path, **env: str) -> Iterator[Served]:
    """`netkeep serve` on a free loopback port with its own SQLite file; stopped afterwards."""
    url = f"sqlite:///{folder / 'serve.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    actor = Actor(name="rss-test", role="admin", request_id="rss")
    with session_scope(engine) as session:
        tokens = {
            role.value: auth.create_token(
                session=session, actor=actor, name=f"rss-{role.value}", role=role
            ).token
            for role in Role
        }
    engine.dispose()
    port = free_port()
    environ = {
        **os.environ,
        "NETKEEP_DATABASE_URL": url,
        "NETKEEP_SURVEY_DIR": str(folder / "survey"),
        "NETKEEP_VAR_DIR": str(folder),
        **env,
    }
    script = Path(sys.executable).with_name("netkeep")
    process = subprocess.Popen(
        [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environ,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("netkeep serve did not start")
            time.sleep(0.2)
        yield Served(base, port, process.pid, tokens)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class RawAnswer:
    status: int
    head: str
    body: bytes
    sent: int
    seconds: float


def raw_post(
    port: int, path: str, headers: dict[str, str], body: Iterable[bytes], timeout: float = 30
) -> RawAnswer:
    """POST/PUT over a plain socket; stops sending once the server has started to answer."""
    method = headers.pop(":method", "POST")
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    started = time.perf_counter()
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(head.encode("latin-1"))
        for piece in body:
            readable, _, _ = select.select([conn], [], [], 0)
            if readable:
                break
            try:
                conn.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        received = b""
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    seconds = time.perf_counter() - started
    answer_head, _, answer_body = received.partition(b"\r\n\r\n")
    text = answer_head.decode("latin-1")
    status = int(text.split(" ", 2)[1]) if text.startswith("HTTP/") else 0
    return RawAnswer(status, text, answer_body, sent, seconds)

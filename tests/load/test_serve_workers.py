"""`netkeep serve --workers 2` on PostgreSQL: nothing depends on which API process answers.

A real `netkeep serve --workers 2` on a free loopback port and a real `netkeep worker`, on a
PostgreSQL schema of their own, driven over HTTP only. Each request goes on a new connection and
the kernel hands it to either API process; the test finds which one held the connection (the
server end of the socket in /proc/net/tcp, then the process whose descriptors hold that socket),
so every rule below is shown with both processes answering:

- tokens issued through one process work in both; devices edited through one read back in both;
  an RMA opened, decided, reserved and shipped step by step lands on both processes;
- a rollout accepted with `wait=false` is finished by the `netkeep worker`, and a change request
  on the site it provisioned is submitted and approved;
- a signed-in browser session (kept in the database) opens `/ui/` on both processes;
- a token revoked through one process is refused by every process for any request sent
  REVOCATION_CHECK_SECONDS after the revocation answered (api/identity.py's bound).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from api.identity import REVOCATION_CHECK_SECONDS
from core import auth
from core.auth import Role
from core.keys import installation_key
from provisioning.domain import JobStatus
from sandbox.server import SandboxServer
from tests.conftest import ADMIN
from tests.load.test_serve_load import _free_port
from tests.service.helpers import seed_demo_inventory
from tests.service.test_workers import (
    Worker,
    rollout_steps,
    settings_of,
    wait_for,
    worker_env,
)
from tests.service.test_workers import own_schema as own_schema  # the fixture
from tests.unit.changes.builders import as_bytes, change_raw
from tests.unit.provisioning.sheets import EXAMPLES
from web import accounts

pytestmark = pytest.mark.postgres
API = "/api/v1"
NETKEEP = Path(sys.executable).with_name("netkeep")
LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]*)"')
WEB_PASSWORD = "correct-horse-battery-9"


def _children(pid: int) -> set[int]:
    """uvicorn's API processes: children of `pid` started by multiprocessing's spawn (not its
    resource tracker)."""
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                command = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == pid and b"spawn_main" in command:
                found.add(int(entry))
    return found


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server end of the loopback connection from `client_port`."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            local, remote = cols[1], cols[2]
            if (
                int(local.rsplit(":", 1)[1], 16) == server_port
                and int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                return cols[9]
    return None


def _holder(inode: str, pids: set[int]) -> int | None:
    target = f"socket:[{inode}]"
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        try:
            names = os.listdir(fds)
        except OSError:
            continue
        for name in names:
            try:
                if os.readlink(fds / name) == target:
                    return pid
            except OSError:
                continue
    return None


@dataclass
class Cluster:
    """The served processes, and which of them answered each request."""

    base: str
    port: int
    workers: set[int]
    seen: Counter[int] = field(default_factory=Counter)
    by_worker: dict[int, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))

    def call(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> tuple[httpx.Response, int]:
        """One request on a new connection; the answer and the pid of the process that gave it."""
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        cookies = kwargs.pop("cookies", None)
        with httpx.Client(base_url=self.base, timeout=60, cookies=cookies) as client:
            answer = client.request(method, path, headers=headers, **kwargs)
            stream = answer.extensions["network_stream"]
            client_port = stream.get_extra_info("client_addr")[1]
            inode = _socket_inode(self.port, client_port)
            pid = _holder(inode, self.workers) if inode else None
        assert pid in self.workers, f"no API process holds the connection of {method} {path}"
        self.seen[pid] += 1
        self.by_worker[pid].append((path, answer.status_code))
        return answer, pid

    def on_each_worker(
        self, method: str, path: str, check: Callable[[httpx.Response], None], **kwargs: Any
    ) -> None:
        """Repeat the request until every API process has answered it, each answer checked."""
        answered: set[int] = set()
        for _ in range(200):
            answer, pid = self.call(method, path, **kwargs)
            check(answer)
            answered.add(pid)
            if answered == self.workers:
                return
        pytest.fail(f"{path}: only {sorted(answered)} of {sorted(self.workers)} answered")


@pytest.fixture
def cluster(
    own_schema: tuple[str, Engine],
    sandbox: SandboxServer,
    tmp_path: Path,
) -> Iterator[tuple[Cluster, Worker, dict[str, str], Engine]]:
    url, engine = own_schema
    env = worker_env(url, sandbox, tmp_path)
    installation_key(settings_of(env))
    with Session(engine) as session:
        seed_demo_inventory(session)  # the example sheets' units and contracts, a spare MX67
        tokens = {
            role.value: auth.create_token(
                session=session, actor=ADMIN, name=f"sw-{role.value}", role=role
            ).token
            for role in Role
        }
        accounts.create_account(
            session=session, actor=ADMIN, name="desk", password=WEB_PASSWORD, role="noc"
        )
        session.commit()
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        served = subprocess.Popen(
            [str(NETKEEP), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    worker = Worker(env, "w1", tmp_path)
    try:
        deadline = time.monotonic() + 120
        while len(_children(served.pid)) < 2 or not _healthy(base):
            assert served.poll() is None, log.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-4000:]
            time.sleep(0.2)
        yield Cluster(base, port, _children(served.pid)), worker, tokens, engine
    finally:
        worker.stop()
        served.terminate()
        try:
            served.wait(timeout=30)
        except subprocess.TimeoutExpired:
            served.kill()
            served.wait()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _ok(status: int = 200) -> Callable[[httpx.Response], None]:
    def check(answer: httpx.Response) -> None:
        assert answer.status_code == status, answer.text

    return check


def test_two_api_processes_serve_one_state(
    cluster: tuple[Cluster, Worker, dict[str, str], Engine],
) -> None:
    served, worker, tokens, engine = cluster
    assert len(served.workers) == 2
    admin, noc, logistics = tokens["admin"], tokens["noc"], tokens["logistics"]

    # a token issued through one process is known to every process
    issued, _ = served.call(
        "POST", f"{API}/tokens", token=admin, json={"name": "sw-desk", "role": "viewer"}
    )
    assert issued.status_code == 201, issued.text
    desk = issued.json()["token"]
    served.on_each_worker("GET", f"{API}/devices?limit=5", _ok(), token=desk)

    # a device edited through one process reads back the same from every process
    edited, _ = served.call(
        "PATCH", f"{API}/devices/Q2FY-AAAA-0001", token=admin, json={"notes": "rack 3, shelf 2"}
    )
    assert edited.status_code == 200, edited.text

    def edited_note(answer: httpx.Response) -> None:
        assert answer.status_code == 200 and answer.json()["notes"] == "rack 3, shelf 2"

    served.on_each_worker("GET", f"{API}/devices/Q2FY-AAAA-0001", edited_note, token=desk)

    # an RMA moved one step per request, whichever process takes each step
    sent = {"serial": "Q2FY-AAAA-0001", "symptom": "LED orange", "reporter": "総務"}
    opened, _ = served.call("POST", f"{API}/rmas", token=noc, json=sent)
    assert opened.status_code == 201, opened.text
    rma = opened.json()["id"]
    for step, body, who in (
        ("decide", {"replace": True}, noc),
        ("reserve", {"serial": "Q2FY-AAAA-0003"}, logistics),
        ("ship", {"courier": "ヤマト運輸", "tracking_number": "4412-0001-0002"}, logistics),
    ):
        moved, _ = served.call("POST", f"{API}/rmas/{rma}/{step}", token=who, json=body)
        assert moved.status_code == 200, (step, moved.text)

    def shipped(answer: httpx.Response) -> None:
        assert answer.status_code == 200 and answer.json()["status"] == "shipped", answer.text

    served.on_each_worker("GET", f"{API}/rmas/{rma}", shipped, token=desk)

    # a rollout accepted by one process is finished by the job worker, seen by every process
    files = [
        ("files", (f"{n}.yaml", (EXAMPLES / f"{n}.yaml").read_bytes(), "application/x-yaml"))
        for n in ("utm", "router")
    ]
    accepted, _ = served.call(
        "POST", f"{API}/rollouts?wait=false", token=tokens["field"], files=files
    )
    assert accepted.status_code == 202, accepted.text
    rollout = accepted.json()["rollout"]
    wait_for(
        "the job worker to finish the rollout",
        lambda: {j for j, _ in rollout_steps(engine, rollout)} == {JobStatus.DONE.value},
        120,
        [worker],
    )

    def done(answer: httpx.Response) -> None:
        assert answer.status_code == 200 and answer.json()["status"] == "done", answer.text

    served.on_each_worker("GET", f"{API}/rollouts/{rollout}", done, token=desk)

    # a change request on the provisioned site: submitted through one process, approved
    submitted, _ = served.call(
        "POST",
        f"{API}/change-requests",
        token=tokens["field"],
        files={"file": ("cr.yaml", as_bytes(change_raw()), "application/x-yaml")},
        data={"notice_email": "soumu@sakura.example.jp"},
    )
    assert submitted.status_code == 201, submitted.text
    request_id = submitted.json()["id"]
    approved, _ = served.call(
        "POST", f"{API}/change-requests/{request_id}/approve", token=noc, json={}
    )
    assert approved.status_code == 200, approved.text

    def is_approved(answer: httpx.Response) -> None:
        assert answer.status_code == 200 and answer.json()["status"] == "approved", answer.text

    served.on_each_worker("GET", f"{API}/change-requests/{request_id}", is_approved, token=desk)

    # many plain reads: both processes take a share, none answers a server error
    for i in range(40):
        answer, _ = served.call("GET", f"{API}/devices?limit=20&offset={i}", token=desk)
        assert answer.status_code == 200, answer.text
    assert set(served.seen) == served.workers
    errors = [hit for hits in served.by_worker.values() for hit in hits if hit[1] >= 500]
    assert errors == []
    print(f"answers per API process: {dict(served.seen)}")  # -s


def test_a_browser_session_is_signed_in_on_every_process(
    cluster: tuple[Cluster, Worker, dict[str, str], Engine],
) -> None:
    served = cluster[0]
    form, _ = served.call("GET", "/ui/login")
    found = LOGIN_TOKEN.search(form.text)
    assert found, form.text
    signed, _ = served.call(
        "POST",
        "/ui/login",
        data={"name": "desk", "password": WEB_PASSWORD, "login_token": found.group(1)},
        cookies=dict(form.cookies),
    )
    assert signed.status_code == 303, signed.text
    home = signed.headers["location"]
    cookie = {"netkeep_session": signed.cookies["netkeep_session"]}

    def signed_in(answer: httpx.Response) -> None:
        assert answer.status_code == 200, answer.text
        assert "desk" in answer.text and 'name="login_token"' not in answer.text

    served.on_each_worker("GET", home, signed_in, cookies=cookie)

    def to_login(answer: httpx.Response) -> None:  # without the cookie: not signed in
        assert answer.status_code in (302, 303, 401), answer.status_code

    served.on_each_worker("GET", home, to_login)


def test_a_token_revoked_through_one_process_is_refused_by_every_process(
    cluster: tuple[Cluster, Worker, dict[str, str], Engine],
) -> None:
    served, _, tokens, _ = cluster
    issued, _ = served.call(
        "POST", f"{API}/tokens", token=tokens["admin"], json={"name": "sw-gone", "role": "viewer"}
    )
    gone = issued.json()["token"]
    # both processes have verified the token and keep it in their cache
    served.on_each_worker("GET", f"{API}/devices?limit=1", _ok(), token=gone)
    revoked, by = served.call("DELETE", f"{API}/tokens/sw-gone", token=tokens["admin"])
    assert revoked.status_code == 200, revoked.text
    revoked_at = time.monotonic()
    refused_by: set[int] = set()
    late: list[tuple[float, int]] = []
    while refused_by != served.workers:
        sent_at = time.monotonic()
        answer, pid = served.call("GET", f"{API}/devices?limit=1", token=gone)
        if answer.status_code == 401:
            refused_by.add(pid)
        else:
            assert answer.status_code == 200, answer.text
            if sent_at - revoked_at >= REVOCATION_CHECK_SECONDS:
                late.append((sent_at - revoked_at, pid))
            assert pid != by, "the process that revoked the token still accepted it"
        assert time.monotonic() - revoked_at < 30, f"refused by {refused_by} only"
    assert late == [], f"accepted after the {REVOCATION_CHECK_SECONDS} s bound: {late}"
    for _ in range(10):  # and it stays refused everywhere
        answer, _ = served.call("GET", f"{API}/devices?limit=1", token=gone)
        assert answer.status_code == 401

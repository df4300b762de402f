"""Identical `POST /rmas/{id}/swap` racing against a real `netkeep serve --workers 4`.

Issue 20: 50 such requests on SQLite sent two `swaps/bulk` calls to the dashboard and 40 answers
were 500. The rule: however many identical swaps race, on SQLite and PostgreSQL, the dashboard
receives exactly one swap, one request records it, the others are refused with 409 (the swap is
claimed or done), and no answer is a server error.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func
from sqlmodel import Session, select

from api.app import create_app
from core import auth, migrate
from core.auth import Role
from core.db import make_engine
from core.models import AuditEntry
from core.settings import Settings
from inventory import service as inventory
from inventory.catalogue_defaults import seed_catalogue
from rma import service as rma_service
from sandbox.app import SandboxConfig
from sandbox.server import SandboxServer, running_sandbox
from tests.conftest import ADMIN
from tests.load.test_serve_load import _free_port, private_pg_schema
from tests.service.rma_builders import FAILED, SPARE, build_world, shipped_rma

# `make reliability` races 50 (NETKEEP_RELIABILITY_CLIENTS); `make test` 24
CLIENTS = int(os.environ.get("NETKEEP_RELIABILITY_CLIENTS", "24"))
BULK_SWAP = "/organizations/{organizationId}/inventory/devices/swaps/bulk"


@contextmanager
def _database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'race.db'}"
        return
    with private_pg_schema() as url:
        yield url


@contextmanager
def _serving(url: str, tmp: Path, sandbox: SandboxServer) -> Iterator[str]:
    """`netkeep serve --workers 4` on a free port, its dashboard the sandbox; its base URL."""
    port = _free_port()
    env = os.environ | {
        "NETKEEP_DATABASE_URL": url,
        "NETKEEP_VAR_DIR": str(tmp),
        "NETKEEP_MERAKI_BASE_URL": sandbox.base_url,
        "NETKEEP_MERAKI_API_KEY": sandbox.api_key,
        "NETKEEP_MERAKI_ORG_ID": "537758",
        "NETKEEP_MERAKI_MAX_RETRIES": "1",
    }
    log_path = tmp / f"serve-{port}.log"
    command = [sys.executable, "-c", "from netkeep.cli import main; main()", "serve"]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--workers", "4"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "netkeep serve did not start"
                time.sleep(0.3)
            time.sleep(2)  # let the other workers finish starting too
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def _in_process(url: str, tmp: Path, sandbox: SandboxServer) -> Iterator[TestClient]:
    """The API app in this process, its dashboard the sandbox: one client the racers share."""
    settings = Settings(  # type: ignore[call-arg]
        database_url=url,
        var_dir=tmp,
        meraki_base_url=sandbox.base_url,
        meraki_api_key=SecretStr(sandbox.api_key),
        meraki_org_id="537758",
        meraki_max_retries=1,
        _env_file=None,
    )
    engine = make_engine(url)
    try:
        with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
            yield client
    finally:
        engine.dispose()


def _client(base: str | TestClient) -> AbstractContextManager[httpx.Client]:
    if isinstance(base, TestClient):
        return nullcontext(base)
    return httpx.Client(base_url=base, timeout=120)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_racing_identical_swaps_reach_the_dashboard_once(kind: str, tmp_path: Path) -> None:
    race_swaps(kind, tmp_path, CLIENTS)


def race_swaps(kind: str, tmp_path: Path, clients: int, *, serve: bool = True) -> dict[str, Any]:
    """`clients` identical swaps raced and the rule checked; the figures of the race (also the
    reliability suite's, tests/reliability/test_concurrency.py). `serve`: against `netkeep
    serve --workers 4` (processes racing); off: the app in this process (threads racing)."""
    config = SandboxConfig(rate_limit=None, ip_rate_limit=None, batch_delay=0.05)
    with _database(kind, tmp_path) as url, running_sandbox(config) as sandbox:
        sandbox.admin.reset("demo")
        migrate.upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            seed_catalogue(session=session, actor=ADMIN)
            build_world(session, tmp_path)
            rma_id = shipped_rma(session, swap=False).id or 0
            token = auth.create_token(
                session=session, actor=ADMIN, name="logistics", role=Role.LOGISTICS
            ).token
            session.commit()
        sandbox.admin.reset_counters()

        answers: list[tuple[int, str]] = []
        lock = threading.Lock()
        served: AbstractContextManager[str | TestClient] = (
            _serving(url, tmp_path, sandbox) if serve else _in_process(url, tmp_path, sandbox)
        )
        with served as base:
            barrier = threading.Barrier(clients)

            def one() -> None:
                with _client(base) as client:
                    barrier.wait(timeout=60)
                    response = client.post(
                        f"/api/v1/rmas/{rma_id}/swap",
                        json={},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                with lock:
                    answers.append((response.status_code, response.text))

            threads = [threading.Thread(target=one) for _ in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=240)

        statuses = sorted(status for status, _ in answers)
        assert len(answers) == clients
        assert set(statuses) <= {200, 409}, answers
        assert statuses.count(200) == 1, statuses
        assert sandbox.admin.count("POST", BULK_SWAP) == 1
        sdk = sandbox.dashboard_api()
        in_network = {d["serial"] for d in sdk.networks.getNetworkDevices("N_demo_tokyo")}
        assert SPARE in in_network and FAILED not in in_network
        with Session(engine) as session:
            rma = rma_service.get_rma(session=session, rma_id=rma_id)
            assert rma.status == "swapped" and rma.swap_claimed_at is None
            assert rma.dashboard_swap is not None and rma.dashboard_swap.startswith("bulk_swap")
            assert inventory.get_device(session=session, serial=SPARE).status == "deployed"
            assert inventory.get_device(session=session, serial=FAILED).status == "in_rma"
            for action in ("rma.swapped", "rma.swap_claimed"):
                count = session.exec(select(func.count()).where(AuditEntry.action == action)).one()
                assert count == 1, action
        engine.dispose()
        return {
            "answers": {str(s): statuses.count(s) for s in sorted(set(statuses))},
            "bulk_swaps_sent": sandbox.admin.count("POST", BULK_SWAP),
        }

"""`POST /api/v1/rollouts` across organizations (issue 21): each sheet's network in its own one.

Rules, from the issue: a sheet names its organization in `site.organizationId` (absent: the
configured one); netkeep manages the configured organization and those of
NETKEEP_MONITOR_ORG_IDS, and a sheet naming another is refused (422, at its place) before any
dashboard request. A background rollout's job carries each sheet's organization, so a worker
that runs it after another one died part-way goes on in each sheet's own organization.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session

from api.app import create_app
from core.settings import Settings
from jobs.catalogue import JobContext, run_rollout
from provisioning import rollout as rollout_module
from provisioning.rollout import rollout_jobs
from sandbox.server import SandboxServer
from tests.conftest import SessionReadPath, bearer
from tests.service.helpers import import_csv, seed_demo_inventory, write_csv

API = "/api/v1"
CONFIGURED = "537758"


@pytest.fixture
def orgs(sandbox: SandboxServer) -> list[str]:
    return [CONFIGURED, *sandbox.admin.generate_organizations(2)]


@pytest.fixture
def cfg(settings: Settings, sandbox: SandboxServer, orgs: list[str]) -> Settings:
    """The app's settings: the sandbox's dashboard, two more customers' organizations managed."""
    sandbox.admin.set_claims(0.0)
    return settings.model_copy(
        update={
            "meraki_base_url": sandbox.base_url,
            "meraki_api_key": SecretStr(sandbox.api_key),
            "meraki_org_id": CONFIGURED,
            "monitor_org_ids": ",".join(orgs[1:]),
            "provisioning_rate_per_org": 500.0,
        }
    )


class HeldQueue:
    """A queue that keeps what it is given (no worker runs it until the test does)."""

    def __init__(self) -> None:
        self.payloads: list[Mapping[str, Any]] = []

    def defer_rollout(
        self,
        payload: Mapping[str, Any],
        *,
        after_response: Callable[[Callable[[], None]], None],
        dashboards: Mapping[str, Any] | None = None,
    ) -> int | None:
        self.payloads.append(payload)
        return None


@pytest.fixture
def client(cfg: Settings, engine: Engine, session: Session) -> Iterator[TestClient]:
    """An app building its own adapters from the settings (none injected)."""
    app = create_app(cfg, engine)
    app.state.session_factory = lambda: nullcontext(session)
    app.state.read_path = SessionReadPath(session)
    with TestClient(app) as test_client:
        app.state.background_jobs = HeldQueue()
        yield test_client


@pytest.fixture(autouse=True)
def _stock(session: Session, tmp_path: Path) -> None:
    seed_demo_inventory(session)  # the model catalogue
    rows = "".join(f"Q2FY-P{i:03d}-0001,MX67,,in_stock,,倉庫,,,,,,\n" for i in range(1, 9))
    import_csv(session, write_csv(tmp_path, rows, "stock.csv"))


def shop(i: int, name: str, organization: str | None) -> tuple[str, tuple[str, bytes, str]]:
    site: dict[str, Any] = {"name": name, "plan": "router"}
    if organization is not None:
        site["organizationId"] = organization
    sheet = {
        "format": "netkeep-sheet/1",
        "kind": "settings",
        "site": site,
        "devices": [{"serial": f"Q2FY-P{i:03d}-0001", "model": "MX67", "name": f"mx{i}"}],
        "vlans": [{"id": 10, "name": "lan", "subnet": "10.0.10.0/24", "applianceIp": "10.0.10.1"}],
    }
    body = yaml.safe_dump(sheet, allow_unicode=True).encode("utf-8")
    return ("files", (f"shop{i}.yaml", body, "application/x-yaml"))


def three_customers(orgs: list[str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    """A site in each organization, all three called 本店 (three networks, one per customer)."""
    return [shop(1, "本店", None), shop(2, "本店", orgs[1]), shop(3, "本店", orgs[2])]


def organization_of_device(sandbox: SandboxServer, serial: str) -> str:
    state = sandbox.admin.snapshot()
    network = state["networks"][state["devices"][serial]["networkId"]]
    return str(network["organizationId"])


def networks_named(sandbox: SandboxServer, name: str) -> list[str]:
    nets = sandbox.admin.snapshot()["networks"].values()
    return sorted(str(n["organizationId"]) for n in nets if n["name"] == name)


def test_a_rollout_over_http_creates_each_network_in_its_own_organization(
    client: TestClient, tokens: dict[str, str], sandbox: SandboxServer, orgs: list[str]
) -> None:
    done = client.post(
        f"{API}/rollouts", files=three_customers(orgs), headers=bearer(tokens["field"])
    )
    assert done.status_code == 201, done.text
    out = done.json()
    assert out["status"] == "done"
    assert [j["organization_id"] for j in out["jobs"]] == orgs
    assert networks_named(sandbox, "本店") == sorted(orgs)
    for i, org in enumerate(orgs, start=1):
        assert organization_of_device(sandbox, f"Q2FY-P{i:03d}-0001") == org


def test_an_unmanaged_organization_is_422_at_its_place_and_nothing_is_sent(
    client: TestClient, tokens: dict[str, str], sandbox: SandboxServer, orgs: list[str]
) -> None:
    files = [shop(1, "本店", orgs[1]), shop(8, "他社", "999999")]
    sandbox.admin.reset_counters()
    refused = client.post(f"{API}/rollouts", files=files, headers=bearer(tokens["field"]))
    assert refused.status_code == 422, refused.text
    places = [p["location"] for p in refused.json()["problems"]]
    assert places == ["shop8.yaml: site.organizationId"]
    plan = client.post(f"{API}/plans", files={"file": files[1][1]}, headers=bearer(tokens["field"]))
    assert plan.status_code == 422 and "site.organizationId" in plan.text
    assert sandbox.admin.counters()["operations"] == {}


class Crash(RuntimeError):
    """The worker died as one organization's jobs were about to run."""


def test_a_background_rollout_resumed_after_a_crash_keeps_each_sheets_organization(
    client: TestClient,
    tokens: dict[str, str],
    sandbox: SandboxServer,
    orgs: list[str],
    cfg: Settings,
    engine: Engine,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = [*three_customers(orgs), shop(4, "支店", orgs[1])]
    accepted = client.post(
        f"{API}/rollouts?wait=false", files=files, headers=bearer(tokens["field"])
    )
    assert accepted.status_code == 202, accepted.text
    rollout = accepted.json()["rollout"]
    (payload,) = client.app.state.background_jobs.payloads  # type: ignore[attr-defined]
    assert [s["organization"] for s in payload["sheets"]] == [*orgs, orgs[1]]

    real = rollout_module.run_organization

    def die_at_the_second(**kw: Any) -> dict[str, int]:
        if kw["dashboard"].organization_id == orgs[1]:
            raise Crash("the worker died")
        return real(**kw)

    def worker() -> JobContext:  # a worker process of its own: adapters built from the settings
        return JobContext(settings=cfg, engine=engine, session_factory=lambda: nullcontext(session))

    monkeypatch.setattr(rollout_module, "run_organization", die_at_the_second)
    with pytest.raises(Crash):
        run_rollout(worker(), payload)
    monkeypatch.setattr(rollout_module, "run_organization", real)
    session.rollback()  # the dead worker's open transaction goes with it
    left = [j for j in rollout_jobs(session=session, rollout=rollout) if j.status != "done"]
    assert {j.organization_id for j in left} >= {orgs[1]}
    assert networks_named(sandbox, "支店") == []

    assert run_rollout(worker(), payload) == {"rollout": rollout, "done": True}
    assert networks_named(sandbox, "本店") == sorted(orgs)
    assert networks_named(sandbox, "支店") == [orgs[1]]
    for i, org in enumerate([*orgs, orgs[1]], start=1):
        assert organization_of_device(sandbox, f"Q2FY-P{i:03d}-0001") == org

"""`netkeep apply SHEETS…` across organizations (issue 21): each sheet's network in its own one.

Rules, from the issue: a sheet names its organization in `site.organizationId` (absent: the
configured NETKEEP_MERAKI_ORG_ID); netkeep manages the configured organization and those of
NETKEEP_MONITOR_ORG_IDS. A rollout creates each network in the organization its sheet names;
two sites of one name in two organizations are two networks. A sheet naming an organization
netkeep does not manage is refused before any dashboard request, at its place. A rollout that
stopped part-way continues with `--rollout R` and goes on in each sheet's own organization.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from core.settings import get_settings
from netkeep.cli import app
from provisioning import rollout as rollout_module
from sandbox.server import SandboxServer
from tests.service.helpers import HEADER, seed_demo_inventory_at

CONFIGURED = "537758"


@pytest.fixture
def orgs(sandbox: SandboxServer) -> list[str]:
    """The configured organization and two more of the provider's customers."""
    return [CONFIGURED, *sandbox.admin.generate_organizations(2)]


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer, orgs: list[str]
) -> Iterator[CliRunner]:
    sandbox.admin.set_claims(0.0)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NETKEEP_DATABASE_URL", url)
    monkeypatch.setenv("NETKEEP_MERAKI_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("NETKEEP_MERAKI_ORG_ID", CONFIGURED)
    monkeypatch.setenv("NETKEEP_MONITOR_ORG_IDS", ",".join(orgs[1:]))
    monkeypatch.setenv("NETKEEP_PROVISIONING_RATE_PER_ORG", "500")
    monkeypatch.setenv("NETKEEP_ACTOR", "cli-test")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    seed_demo_inventory_at(url)  # the model catalogue (and the demo's stock)
    yield runner
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    return result.stdout


def shop(folder: Path, i: int, name: str, organization: str | None) -> str:
    """A router site with one MX of its own (serial Q2FY-O{i}-0001)."""
    site: dict[str, Any] = {"name": name, "plan": "router"}
    if organization is not None:
        site["organizationId"] = organization
    sheet = {
        "format": "netkeep-sheet/1",
        "kind": "settings",
        "site": site,
        "devices": [{"serial": f"Q2FY-O{i:03d}-0001", "model": "MX67", "name": f"mx{i}"}],
        "vlans": [{"id": 10, "name": "lan", "subnet": "10.0.10.0/24", "applianceIp": "10.0.10.1"}],
    }
    path = folder / f"shop{i}.yaml"
    path.write_text(yaml.safe_dump(sheet, allow_unicode=True), "utf-8")
    return str(path)


def stock(cli: CliRunner, folder: Path, *shops: int) -> None:
    rows = "".join(f"Q2FY-O{i:03d}-0001,MX67,,in_stock,,倉庫,,,,,,\n" for i in shops)
    csv = folder / "stock.csv"
    csv.write_text(HEADER + rows, encoding="utf-8")
    run(cli, "inventory", "import", str(csv), "--commit")


def where(sandbox: SandboxServer, serial: str) -> tuple[str, str]:
    """The organization and the name of the network a device is in, on the dashboard."""
    state = sandbox.admin.snapshot()
    device = state["devices"][serial]
    network = state["networks"][device["networkId"]]
    assert network["organizationId"] == device["organizationId"]
    return str(network["organizationId"]), str(network["name"])


def networks_named(sandbox: SandboxServer, name: str) -> list[str]:
    """The organizations holding a network of that name."""
    nets = sandbox.admin.snapshot()["networks"].values()
    return sorted(str(n["organizationId"]) for n in nets if n["name"] == name)


def six_shops(tmp_path: Path, orgs: list[str]) -> list[tuple[str, str, str]]:
    """Two sites in each organization; "店舗 本店" is a site of the first two customers both.
    The configured organization's sheets name none. (sheet, organization, serial) each."""
    a, b, c = orgs
    plan = [
        (1, "店舗 本店", None, a),
        (2, "店舗 A2", None, a),
        (3, "店舗 本店", b, b),
        (4, "店舗 B2", b, b),
        (5, "店舗 C1", c, c),
        (6, "店舗 C2", c, c),
    ]
    return [
        (shop(tmp_path, i, name, named), org, f"Q2FY-O{i:03d}-0001") for i, name, named, org in plan
    ]


def test_a_rollout_creates_each_network_in_its_own_organization(
    cli: CliRunner, tmp_path: Path, sandbox: SandboxServer, orgs: list[str]
) -> None:
    stock(cli, tmp_path, 1, 2, 3, 4, 5, 6)
    shops = six_shops(tmp_path, orgs)
    sheets = [path for path, _, _ in shops]
    planned = json.loads(run(cli, "plan", *sheets, "--json"))
    assert [p["network_id"] for p in planned["plans"]] == [None] * 6

    out = json.loads(run(cli, "apply", *sheets, "--yes", "--json"))
    assert out["status"] == "done" and len(out["jobs"]) == 6
    for (_, org, serial), job in zip(shops, out["jobs"], strict=True):
        assert job["organization_id"] == org  # journalled in its organization
        assert where(sandbox, serial) == (org, job["network_name"])
    assert networks_named(sandbox, "店舗 本店") == sorted([orgs[0], orgs[1]])
    for name in ("店舗 A2", "店舗 B2", "店舗 C1", "店舗 C2"):
        assert len(networks_named(sandbox, name)) == 1
    assert "nothing to do" in run(cli, "apply", *sheets, "--yes")


def test_a_single_sheet_goes_to_the_organization_it_names(
    cli: CliRunner, tmp_path: Path, sandbox: SandboxServer, orgs: list[str]
) -> None:
    stock(cli, tmp_path, 7)
    sheet = shop(tmp_path, 7, "店舗 単独", orgs[2])
    assert json.loads(run(cli, "plan", sheet, "--json"))["organization_id"] == orgs[2]
    job = json.loads(run(cli, "apply", sheet, "--yes", "--json"))
    assert job["status"] == "done" and job["organization_id"] == orgs[2]
    assert where(sandbox, "Q2FY-O007-0001") == (orgs[2], "店舗 単独")
    assert networks_named(sandbox, "店舗 単独") == [orgs[2]]
    back = json.loads(run(cli, "rollback", str(job["id"]), "--json"))  # in the job's organization
    assert back["status"] == "done" and back["organization_id"] == orgs[2]


def test_an_organization_netkeep_does_not_manage_is_refused_before_any_request(
    cli: CliRunner, tmp_path: Path, sandbox: SandboxServer, orgs: list[str]
) -> None:
    stock(cli, tmp_path, 1, 8)
    good = shop(tmp_path, 1, "店舗 本店", orgs[1])
    stranger = shop(tmp_path, 8, "店舗 他社", "999999")
    sandbox.admin.reset_counters()
    result = cli.invoke(app, ["apply", good, stranger, "--yes"])
    assert result.exit_code == 2, result.output
    assert "shop8.yaml: site.organizationId" in result.stderr and "999999" in result.stderr
    assert "shop1.yaml" not in result.stderr
    single = cli.invoke(app, ["apply", stranger, "--yes"])
    assert single.exit_code == 2 and "site.organizationId" in single.stderr
    invalid = cli.invoke(app, ["sheet", "validate", stranger])
    assert invalid.exit_code == 2 and "site.organizationId" in invalid.stderr
    assert sandbox.admin.counters()["operations"] == {}  # not one request, let alone a write
    assert json.loads(run(cli, "job", "list", "--json")) == []


class Crash(RuntimeError):
    """The process stopped (a crash, a kill) as one organization's jobs were about to run."""


def test_a_stopped_rollout_resumes_in_each_sheets_own_organization(
    cli: CliRunner,
    tmp_path: Path,
    sandbox: SandboxServer,
    orgs: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stock(cli, tmp_path, 1, 2, 3, 4, 5, 6)
    shops = six_shops(tmp_path, orgs)
    sheets = [path for path, _, _ in shops]
    real = rollout_module.run_organization

    def stop_at_the_second(**kw: Any) -> dict[str, int]:
        if kw["dashboard"].organization_id == orgs[1]:
            raise Crash("the process died")
        return real(**kw)

    monkeypatch.setattr(rollout_module, "run_organization", stop_at_the_second)
    crashed = cli.invoke(app, ["apply", *sheets, "--yes", "--json"])
    assert isinstance(crashed.exception, Crash)
    monkeypatch.setattr(rollout_module, "run_organization", real)

    jobs = json.loads(run(cli, "job", "list", "--json"))
    rollouts = {j["rollout"] for j in jobs}
    assert len(jobs) == 6 and len(rollouts) == 1
    (rollout,) = rollouts
    stopped = [j for j in jobs if j["status"] != "done"]
    assert {j["organization_id"] for j in stopped} >= {orgs[1]}
    assert networks_named(sandbox, "店舗 B2") == []  # the second customer's: not begun

    # a new process: the same sheets, in another order, regrouped by their organizations
    resumed = json.loads(run(cli, "apply", *reversed(sheets), "--rollout", rollout, "--json"))
    assert resumed["status"] == "done"
    assert sorted(j["id"] for j in resumed["jobs"]) == sorted(j["id"] for j in jobs)
    for _, org, serial in shops:
        assert where(sandbox, serial)[0] == org
    assert networks_named(sandbox, "店舗 本店") == sorted([orgs[0], orgs[1]])
    assert networks_named(sandbox, "店舗 B2") == [orgs[1]]
    assert "nothing to do" in run(cli, "apply", *sheets, "--yes")


def change_request(folder: Path, name: str, organization: str | None) -> str:
    """A change request for the site `name`: its LAN VLAN renamed."""
    site: dict[str, Any] = {"name": name, "plan": "router"}
    if organization is not None:
        site["organizationId"] = organization
    sheet = {
        "format": "netkeep-sheet/1",
        "kind": "change_request",
        "request": {
            "id": "CR-2026-0001",
            "customer": "株式会社テスト",
            "requester": "総務部",
            "date": "2026-12-01",
        },
        "site": site,
        "vlans": [
            {"id": 10, "name": "office", "subnet": "10.0.10.0/24", "applianceIp": "10.0.10.1"}
        ],
    }
    path = folder / f"cr-{organization}.yaml"
    path.write_text(yaml.safe_dump(sheet, allow_unicode=True), "utf-8")
    return str(path)


def vlan_name(sandbox: SandboxServer, serial: str) -> str:
    state = sandbox.admin.snapshot()
    network_id = state["devices"][serial]["networkId"]
    return str(state["network_settings"][network_id]["vlans"]["10"]["name"])


def test_a_change_request_changes_its_network_only_in_the_networks_own_organization(
    cli: CliRunner, tmp_path: Path, sandbox: SandboxServer, orgs: list[str]
) -> None:
    stock(cli, tmp_path, 9)
    built = json.loads(run(cli, "apply", shop(tmp_path, 9, "店舗 CR", orgs[1]), "-y", "--json"))
    assert built["status"] == "done" and vlan_name(sandbox, "Q2FY-O009-0001") == "lan"

    # another organization (named, or the configured one by default) has no such network
    for elsewhere in (orgs[2], None):
        sandbox.admin.reset_counters()
        refused = cli.invoke(app, ["apply", change_request(tmp_path, "店舗 CR", elsewhere), "-y"])
        assert refused.exit_code == 2, refused.output
        assert "site.name" in refused.stderr and "never creates one" in refused.stderr
        writes = [op for op in sandbox.admin.counters()["operations"] if not op.startswith("GET")]
        assert writes == []
    assert networks_named(sandbox, "店舗 CR") == [orgs[1]]

    changed = json.loads(
        run(cli, "apply", change_request(tmp_path, "店舗 CR", orgs[1]), "-y", "--json")
    )
    assert changed["status"] == "done" and changed["organization_id"] == orgs[1]
    assert vlan_name(sandbox, "Q2FY-O009-0001") == "office"

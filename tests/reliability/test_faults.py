"""Faults: generated sheets applied as one rollout while the dashboard misbehaves.

The sandbox answers 5% of requests with a 5xx, drops 2% of connections, and a storm of 15
consecutive 429s (Retry-After 0.01 s) is re-armed every 1.5 s. Rule (issue 15): every
job of the rollout converges to its sheet (done, planning it again finds nothing), each network
exists once, no VLAN id and no firewall rule twice, and no 429 surfaced (the waits are recorded).
Short form: 4 sheets; full form: 20.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bench.provisioning import utm_sheet, wireless_sheet
from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from provisioning.plan import change_rows
from provisioning.rollout import RolloutSite, apply_rollout, plan_rollout
from provisioning.service import plan_sheet
from sandbox.server import SandboxServer
from tests.service.helpers import migrated_writer_engine
from tests.service.test_provisioning_rollout import ACTOR, OPTIONS, ORG, clock

FAULTS = "5xx=0.05,drop=0.02,429burst=15,429after=0.01,seed={seed}"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with migrated_writer_engine(tmp_path / "faults.db") as made:
        yield made


def client(sb: SandboxServer) -> MerakiProvisioning:
    sdk = build_sdk(api_key=sb.api_key, base_url=sb.base_url, maximum_retries=8)
    return MerakiProvisioning(sdk, organization_id=ORG)


def statuses(sb: SandboxServer) -> Counter[str]:
    found: Counter[str] = Counter()
    for tally in sb.admin.counters()["operations"].values():
        for status, count in tally.items():
            if status.isdigit():
                found[status] += int(count)
    return found


def test_a_rollout_under_faults_converges_with_nothing_twice(
    sandbox: SandboxServer, engine: Engine, full: bool, figure: Callable[[str, Any], None]
) -> None:
    count = 20 if full else 4
    sheets = [utm_sheet("F", i) if i % 2 == 0 else wireless_sheet("F", i) for i in range(count)]
    sandbox.admin.set_claims(0.0)
    stop = threading.Event()
    storms = [0]

    def storm() -> None:
        while not stop.is_set():
            storms[0] += 1
            sandbox.admin.set_faults(FAULTS.format(seed=storms[0]))
            stop.wait(1.5)

    dash = client(sandbox)
    sites = [RolloutSite(dash, s) for s in sheets]
    storming = threading.Thread(target=storm, daemon=True)
    storming.start()
    try:
        plan_rollout(sites, OPTIONS)
        with Session(engine, expire_on_commit=False) as session:
            outcome = apply_rollout(
                session=session, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS
            )
    finally:
        stop.set()
        storming.join()
        sandbox.admin.clear_faults()
    seen = statuses(sandbox)
    figure("sheets", count)
    figure("storms", storms[0])
    figure("injected", {k: v for k, v in sorted(seen.items()) if k in {"429", "500", "502", "503"}})
    figure("calls", outcome.calls.get("calls"))
    figure("seconds", round(outcome.seconds, 1))
    not_done = [(j.network_name, j.status, j.error) for j in outcome.jobs if j.status != "done"]
    assert not_done == []
    assert sorted(j.network_name for j in outcome.jobs) == sorted(s.site.name for s in sheets)
    assert all("failures_surfaced" in (j.result or {}) for j in outcome.jobs)
    surfaced = sum(int((j.result or {}).get("failures_surfaced", 0)) for j in outcome.jobs)
    figure("surfaced_429s", surfaced)
    assert surfaced == 0
    assert seen["429"] >= 15  # the 5xx drawn (5%) are reported: a short run may draw none
    check = client(sandbox)
    names = Counter(n["name"] for n in check.list_networks())
    twice = {s.site.name: names[s.site.name] for s in sheets if names[s.site.name] != 1}
    duplicates = 0
    for sheet in sheets:
        net = check.find_network(sheet.site.name)
        assert net is not None
        if sheet.vlans:
            ids = [v["id"] for v in sandbox.dashboard_api().appliance.getNetworkApplianceVlans(
                net["id"])]  # fmt: skip
            duplicates += len(ids) - len(set(ids))
            rules = sandbox.dashboard_api().appliance.getNetworkApplianceFirewallL3FirewallRules(
                net["id"])["rules"]  # fmt: skip
            keys = [repr(sorted(r.items())) for r in rules]
            duplicates += len(keys) - len(set(keys))
        again = plan_sheet(dashboard=check, sheet=sheet, options=OPTIONS)
        assert again.empty, (sheet.site.name, change_rows(again.changes))
    figure("duplicates", len(twice) + duplicates)
    assert twice == {} and duplicates == 0

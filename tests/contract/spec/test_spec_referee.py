"""The published Dashboard API operations as the referee of what netkeep sends (issue 13).

The operations come from the installed ``meraki`` SDK, which Cisco generates from its OpenAPI
specification (the specification itself carries no licence, so it is not vendored; see
``sandbox/spec/__init__.py``). netkeep provisions the three example sites and rolls one back
against a sandbox of its own; every request it sent (direct calls and batch actions) is then
checked: no unknown property, no wrong type, no value outside an enum, every batch action a
batchable operation under that exact name. Known mismatches in netkeep's own bodies are listed
in ``sandbox/spec/known.py`` with their reason; a new one fails here, and so does an entry that
no longer occurs (delete it then).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import meraki
import pytest
from sqlmodel import Session

from core import migrate
from core.db import make_engine
from dashboard.meraki import MerakiDashboard
from dashboard.session import CALLER
from inventory.catalogue_defaults import seed_catalogue
from provisioning.batch_wait import BATCH_SLOTS
from provisioning.batching import ASYNC_BATCH_MAX, DIRECT_KINDS, SYNC_BATCH_MAX
from provisioning.service import rollback_job
from sandbox import batches as sandbox_batches
from sandbox.app import SandboxConfig
from sandbox.engine import Dashboard, base_router
from sandbox.seeds import build_seed
from sandbox.server import SandboxServer, running_sandbox
from sandbox.spec.known import NETKEEP_KNOWN_BATCH_MISMATCHES, NETKEEP_KNOWN_BODY_MISMATCHES
from sandbox.spec.referee import NETKEEP_CALLER, Findings, referee
from sandbox.spec.responses import answer_problems
from sandbox.spec.sdk import catalog
from tests.conftest import ADMIN
from tests.contract.spec.coverage_plugin import PROPERTY
from tests.service.test_provisioning_apply import (
    ACTOR,
    OPTIONS,
    ORG,
    apply,
    approved_survey,
    clock,
    dashboard_for,
    example,
)
from tests.service.test_provisioning_site_to_site import HUB, vpn_sheet

SANDBOX_ROUTES_NOT_IN_SPEC: dict[tuple[str, str], str] = {}
"""Sandbox routes the published specification lacks, each with the reason it is still served.
(`GET /organizations/{id}/inventoryDevices`, the SDK smart flow's, is gone: netkeep turns smart
flow off.)"""

SANDBOX_KNOWN_ANSWER_MISMATCHES: dict[str, str] = {}
"""Operations whose sandbox answer is off the documented shape, each with the reason."""


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxServer, Findings]]:
    """netkeep on a sandbox of its own: the three example sites applied and one rolled back, a
    site-to-site VPN hub set by a change request, and an RMA swap on the dashboard."""
    root = tmp_path_factory.mktemp("spec")
    url = f"sqlite:///{root / 'netkeep.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    config = SandboxConfig(rate_limit=None, ip_rate_limit=None, batch_delay=0.05)
    with running_sandbox(config) as sb, Session(engine, expire_on_commit=False) as session:
        seed_catalogue(session=session, actor=ADMIN)
        session.commit()
        dash = dashboard_for(sb)
        jobs = {}
        for name in ("utm", "router", "wireless"):
            if name == "wireless":
                approved_survey(session, root)
            jobs[name] = apply(session, dash, example(name))
            assert jobs[name].status == "done", (name, jobs[name].error)
        back = rollback_job(
            session=session, dashboard=dash, job_id=jobs["utm"].id, actor=ACTOR, clock=clock,
            options=OPTIONS,
        )  # fmt: skip
        assert back.status == "done", back.error
        hub = apply(session, dash, vpn_sheet("東京本社 Tokyo HQ", HUB))
        assert hub.status == "done", hub.error
        rma = MerakiDashboard(api_key=sb.api_key, base_url=sb.base_url, maximum_retries=1)
        rma.swap_poll_seconds = 0.05
        rma.swap_device(
            organization_id=ORG, network_id="N_demo_tokyo", old_serial="Q2FY-AAAA-0001",
            new_serial="Q2FY-ZZZZ-0099",
        )  # fmt: skip
        log = list(sb.app.state.runtime.dashboard.request_log)
        yield sb, referee(log, catalog(), base_router())
    engine.dispose()


def test_netkeep_identifies_itself_so_its_requests_can_be_told_apart() -> None:
    assert NETKEEP_CALLER in CALLER


def test_every_request_body_netkeep_sends_matches_the_published_schema(
    traffic: tuple[SandboxServer, Findings], record_property: Any
) -> None:
    _, found = traffic
    record_property(PROPERTY, found.table())
    assert found.requests > 50 and sum(found.validated.values()) > 50
    new = {k: m for k, m in found.body_mismatches.items() if k not in NETKEEP_KNOWN_BODY_MISMATCHES}
    assert new == {}, "netkeep sends bodies the published operations refuse"
    stale = set(NETKEEP_KNOWN_BODY_MISMATCHES) - set(found.body_mismatches)
    assert stale == set(), "fixed: delete these from NETKEEP_KNOWN_BODY_MISMATCHES"


def test_every_answer_netkeep_reads_has_the_documented_shape(
    traffic: tuple[SandboxServer, Findings],
) -> None:
    _, found = traffic
    assert sum(found.answers.values()) > 30 and len(found.answers) >= 10
    wrong = {op for op, _ in found.answer_mismatches}
    assert wrong == set(SANDBOX_KNOWN_ANSWER_MISMATCHES), found.answer_mismatches


def test_every_batch_action_netkeep_sends_is_batchable_under_that_name(
    traffic: tuple[SandboxServer, Findings],
) -> None:
    _, found = traffic
    assert found.batch_actions > 20
    new = {
        k: m for k, m in found.batch_mismatches.items() if k not in NETKEEP_KNOWN_BATCH_MISMATCHES
    }
    assert new == {}, "netkeep batches operations the SDK's batch module does not have"
    stale = set(NETKEEP_KNOWN_BATCH_MISMATCHES) - set(found.batch_mismatches)
    assert stale == set(), "fixed: delete these from NETKEEP_KNOWN_BATCH_MISMATCHES"


def test_netkeep_calls_no_route_the_specification_lacks_beyond_the_known_ones(
    traffic: tuple[SandboxServer, Findings],
) -> None:
    _, found = traffic
    assert set(found.not_in_spec) <= set(SANDBOX_ROUTES_NOT_IN_SPEC)


def test_every_sandbox_route_exists_in_the_specification_with_that_method() -> None:
    dash = Dashboard(build_seed("demo"))
    missing = {(r.method, r.template) for r in dash.router.routes if dash.operation_of(r) is None}
    assert missing == set(SANDBOX_ROUTES_NOT_IN_SPEC)
    assert len(dash.router.routes) > 60


def test_sandbox_admin_routes_live_under_the_sandbox_prefix(sandbox: SandboxServer) -> None:
    app = sandbox.app
    top = {str(getattr(r, "path", "")) for r in app.routes} - {"", "/{full_path:path}"}
    admin = {str(p) for p in app.openapi()["paths"]}
    assert len(admin) >= 10
    outside = sorted(p for p in top | admin if not p.startswith("/_sandbox/"))
    assert outside == []


def test_the_batch_limits_netkeep_assumes_are_the_documented_ones() -> None:
    """Action batches guide: 20 actions synchronous, 100 asynchronous, 5 running per org."""
    documented_sync, documented_async, documented_running = 20, 100, 5
    assert (SYNC_BATCH_MAX, ASYNC_BATCH_MAX, BATCH_SLOTS.limit) == (
        documented_sync, documented_async, documented_running,
    )  # fmt: skip
    sandbox_limits = (
        sandbox_batches.MAX_SYNC_ACTIONS,
        sandbox_batches.MAX_ASYNC_ACTIONS,
        sandbox_batches.MAX_RUNNING_PER_ORG,
    )
    assert sandbox_limits == (documented_sync, documented_async, documented_running)
    assert catalog().operations["createOrganizationActionBatch"].body["synchronous"].type == (
        "boolean"
    )
    source = Path(meraki.__file__).parent / "api" / "organizations.py"
    assert "at most 20 actions in synchronous batch" in source.read_text(encoding="utf-8")


def test_what_netkeep_sends_direct_has_no_batch_operation() -> None:
    """DIRECT_KINDS go as direct calls because the batch module lacks them (else: batch them)."""
    ops = catalog()
    for kind in DIRECT_KINDS:
        path = (
            kind
            if kind.startswith("security/") or kind == "contentFiltering"
            else (f"firewall/{kind}")
        )
        template = f"/networks/{{networkId}}/appliance/{path}"
        assert ops.find("PUT", template) is not None, template
        assert ops.find_batch(template, "update") is None, template


@pytest.mark.parametrize(
    ("operation", "answer", "problem"),
    [
        ("getNetwork", {"id": "N_1", "organizationId": "1"}, "'name' is missing"),
        ("getNetworkApplianceVlans", {"id": "1"}, "must be an array"),
        (
            "getNetworkApplianceVlans",
            [{"id": 1, "name": "a", "subnet": "10.0.0.0/24", "applianceIp": "10.0.0.1"}],
            "'id' must be of type string",
        ),
        ("getNetworkApplianceVlansSettings", {"vlansEnabled": "yes"}, "must be of type boolean"),
    ],
)
def test_an_answer_off_the_documented_shape_is_reported(
    operation: str, answer: Any, problem: str
) -> None:
    problems = answer_problems(operation, answer)
    assert any(problem in p for p in problems), problems


def test_a_bulk_swap_answer_must_be_the_documented_207_job() -> None:
    job = {"jobId": "J1", "swaps": []}
    assert answer_problems("createOrganizationInventoryDevicesSwapsBulk", job, 207) == []
    assert answer_problems("createOrganizationInventoryDevicesSwapsBulk", job, 202) == [
        "createOrganizationInventoryDevicesSwapsBulk: answered 202, documented 207"
    ]
    invented = {"id": "S1", "status": "complete"}
    assert answer_problems("createOrganizationInventoryDevicesSwapsBulk", invented, 207) == [
        "createOrganizationInventoryDevicesSwapsBulk: 'jobId' is missing",
        "createOrganizationInventoryDevicesSwapsBulk: 'swaps' is missing",
    ]

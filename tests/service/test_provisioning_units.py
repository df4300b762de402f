"""Issue 20, item 1: the inventory is the system of record for the units a sheet provisions.

Rules (docs/sheets.md, "Units and the inventory"): before any dashboard call each serial of a
sheet must be a unit the inventory holds in stock, or one already deployed at this very site,
of the sheet's model; a claim that is done deploys the unit (network, site, customer, contract)
in the same transaction; a rollback puts it back; a resumed job does not move it twice.
All through the real SDK against the sandbox, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from core.errors import ValidationFailed
from core.models import AuditEntry
from dashboard.meraki import MerakiDashboard
from doctor import service as doctor
from inventory import contracts
from inventory import service as inventory
from inventory.domain import DeviceStatus
from provisioning import apply as jobs
from provisioning import rollout as rollouts
from provisioning.journal import ApplyHooks
from provisioning.models import JobStep
from provisioning.service import apply_plan, plan_sheet, resume_job, rollback_job
from provisioning.sheet_model import Sheet
from provisioning.units import claimed_serials
from rma import replacement
from rma import service as rmas
from sandbox.server import SandboxServer
from tests.service.helpers import seed_demo_inventory
from tests.service.test_provisioning_apply import ACTOR, OPTIONS, ORG, dashboard_for, example

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
UTM_UNIT, ROUTER_UNIT = "Q2FY-AAAA-0002", "Q2KY-BBBB-0001"  # in stock in the demo's warehouse
TOKYO_UNIT = "Q2FY-AAAA-0001"  # deployed at 東京本社 (N_demo_tokyo) for 株式会社さくら商事
UTM_SITE = "さくら商事 本社"


def clock() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def demo(session: Session) -> Session:
    seed_demo_inventory(session)
    session.commit()
    return session


def utm_with(serial: str, model: str = "MX67", **site: Any) -> Sheet:
    sheet = example("utm")
    device = sheet.devices[0].model_copy(update={"serial": serial, "model": model})
    return sheet.model_copy(
        update={"devices": [device], "site": sheet.site.model_copy(update=site)}
    )


def refused(session: Session, sandbox: SandboxServer, sheet: Sheet) -> list[tuple[str, str]]:
    """The located problems, and proof that the dashboard was not called at all."""
    sandbox.admin.reset_counters()
    dash = dashboard_for(sandbox)
    with pytest.raises(ValidationFailed) as caught:
        plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS, session=session, source="utm.yaml")
    assert sandbox.admin.counters()["operations"] == {}  # the sandbox's request log: empty
    assert dash.stats.calls == 0  # the transport seam's RequestMeter
    assert "nothing was sent" in caught.value.message
    return [(p.location, p.message) for p in caught.value.problems]


ONLY = "only a unit in stock or already deployed at this site can be provisioned"


def test_an_unknown_serial_is_refused_before_any_call(
    demo: Session, sandbox: SandboxServer
) -> None:
    assert refused(demo, sandbox, utm_with("Q2FY-XXXX-9999")) == [
        (
            "utm.yaml: devices[0].serial",
            "serial Q2FY-XXXX-9999 is not in the inventory; add it first "
            "(netkeep inventory import FILE --commit)",
        )
    ]


def test_a_unit_of_another_model_is_refused(demo: Session, sandbox: SandboxServer) -> None:
    assert refused(demo, sandbox, utm_with("Q2KY-BBBB-0002", "MX67")) == [
        (
            "utm.yaml: devices[0].serial",
            "serial Q2KY-BBBB-0002 is a MX68 in the inventory, not a MX67",
        )
    ]


def test_a_unit_reserved_for_an_rma_is_refused_naming_it(
    demo: Session, sandbox: SandboxServer
) -> None:
    rma = rmas.open_rma(
        session=demo, actor=ACTOR, serial=TOKYO_UNIT, symptom="電源断", reporter="総務",
        reported_at=NOW, now=NOW,
    )  # fmt: skip
    assert rma.id is not None
    rmas.decide(session=demo, actor=ACTOR, rma_id=rma.id, replace=True, note="", now=NOW)
    replacement.reserve_replacement(
        session=demo, actor=ACTOR, rma_id=rma.id, now=NOW, serial=UTM_UNIT
    )
    demo.commit()
    assert refused(demo, sandbox, utm_with(UTM_UNIT)) == [
        (
            "utm.yaml: devices[0].serial",
            f"serial {UTM_UNIT} is reserved as the replacement of {rma.number}; {ONLY}",
        )
    ]


def test_a_unit_deployed_at_another_site_is_refused(demo: Session, sandbox: SandboxServer) -> None:
    assert refused(demo, sandbox, utm_with(TOKYO_UNIT)) == [
        (
            "utm.yaml: devices[0].serial",
            f"serial {TOKYO_UNIT} is deployed at 東京本社 (株式会社さくら商事, network "
            f"N_demo_tokyo), not at {UTM_SITE}; a unit is provisioned only from stock or at "
            "the site it is deployed at",
        )
    ]


@pytest.mark.parametrize(
    ("moves", "state"),
    [
        (["failed"], "failed"),
        (["failed", "in_rma"], "in RMA (on its way back to the provider)"),
        (["failed", "in_rma", "lost"], "lost"),
    ],
)
def test_a_failed_in_rma_or_lost_unit_is_refused(
    demo: Session, sandbox: SandboxServer, moves: list[str], state: str
) -> None:
    for target in moves:
        inventory.change_status(
            session=demo, actor=ACTOR, serial=TOKYO_UNIT, target=DeviceStatus(target), now=NOW
        )
    demo.commit()
    assert refused(demo, sandbox, utm_with(TOKYO_UNIT)) == [
        ("utm.yaml: devices[0].serial", f"serial {TOKYO_UNIT} is {state}; {ONLY}")
    ]


def test_a_disposed_unit_is_refused(demo: Session, sandbox: SandboxServer) -> None:
    inventory.change_status(
        session=demo, actor=ACTOR, serial=UTM_UNIT, target=DeviceStatus.DISPOSED, now=NOW
    )
    demo.commit()
    assert refused(demo, sandbox, utm_with(UTM_UNIT)) == [
        ("utm.yaml: devices[0].serial", f"serial {UTM_UNIT} is disposed; {ONLY}")
    ]


def test_a_customer_with_several_contracts_of_the_plan_must_name_one(
    demo: Session, sandbox: SandboxServer
) -> None:
    assert refused(demo, sandbox, utm_with(UTM_UNIT, contract=None)) == [
        (
            "utm.yaml: site.contract",
            "株式会社さくら商事 has 3 current utm contracts (C-2026-0001, C-2026-0004, "
            "C-2026-0005); name the one this site's units go on in site.contract",
        )
    ]
    assert refused(demo, sandbox, utm_with(UTM_UNIT, contract="C-2026-0003")) == [
        (
            "utm.yaml: site.contract",
            "contract C-2026-0003 is なにわ物産株式会社's, not 株式会社さくら商事's",
        )
    ]


def test_a_rollout_reports_every_sheets_refusals_at_once(
    demo: Session, sandbox: SandboxServer
) -> None:
    sandbox.admin.reset_counters()
    dash = dashboard_for(sandbox)
    router = example("router")
    router_device = router.devices[0].model_copy(update={"serial": "Q2KY-XXXX-0001"})
    sites = [
        rollouts.RolloutSite(dash, utm_with(TOKYO_UNIT), source="utm.yaml"),
        rollouts.RolloutSite(
            dash, router.model_copy(update={"devices": [router_device]}), source="router.yaml"
        ),
    ]
    with pytest.raises(ValidationFailed) as caught:
        rollouts.plan_rollout(sites, OPTIONS, session=demo)
    assert [p.location for p in caught.value.problems] == [
        "utm.yaml: devices[0].serial",
        "router.yaml: devices[0].serial",
    ]
    assert sandbox.admin.counters()["operations"] == {}


def deploys(session: Session, serial: str) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(
        AuditEntry.entity_id == serial, AuditEntry.action == "device.deploy"
    )
    return list(session.exec(stmt.order_by(col(AuditEntry.id))))


def test_the_tour_rollout_deploys_its_units_and_the_doctor_finds_nothing(
    demo: Session, sandbox: SandboxServer
) -> None:
    dash = dashboard_for(sandbox)
    sites = [
        rollouts.RolloutSite(dash, example("utm"), source="utm.yaml"),
        rollouts.RolloutSite(dash, example("router"), source="router.yaml"),
    ]
    rollouts.plan_rollout(sites, OPTIONS, session=demo)
    outcome = rollouts.apply_rollout(
        session=demo, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS
    )
    assert [j.status for j in outcome.jobs] == ["done", "done"]
    expected = [
        (UTM_UNIT, UTM_SITE, "株式会社さくら商事", "C-2026-0005"),
        (ROUTER_UNIT, "みどり設計 事務所", "有限会社みどり設計", "C-2026-0006"),
    ]
    for job, (serial, site, customer, contract) in zip(outcome.jobs, expected, strict=True):
        network_id = job.network_id
        assert network_id is not None and network_id.startswith("N_")
        unit = inventory.get_device(session=demo, serial=serial)
        on = contracts.get_contract(session=demo, number=contract)
        assert (unit.status, unit.network_id, unit.site, unit.customer, unit.contract_id) == (
            "deployed",
            network_id,
            site,
            customer,
            on.id,
        )
        (entry,) = deploys(demo, serial)  # audited once, by who applied, before and after
        assert entry.actor == ACTOR.name
        assert (entry.before or {})["status"] == "in_stock"
        assert (entry.after or {})["network_id"] == network_id
    meraki = MerakiDashboard(api_key=sandbox.api_key, base_url=sandbox.base_url, retry_wait=0)
    findings = doctor.check(session=demo, dashboard=meraki, organization_id=ORG, now=clock())
    assert findings.dashboard_checked
    assert [v.to_dict() for v in findings.violations] == []


def claim_step(session: Session, job_id: int) -> JobStep:
    return next(
        s
        for s in jobs.journal(session=session, job_id=job_id)
        if any(op.get("action") == "claim" for op in s.operations)
    )


def test_the_claim_and_the_deployment_commit_together_and_a_resume_moves_nothing_twice(
    demo: Session, sandbox: SandboxServer
) -> None:
    dash = dashboard_for(sandbox)
    sheet = example("utm")

    class Interrupted(Exception):
        pass

    def stop_after_claim(step: JobStep) -> None:
        if any(op.get("action") == "claim" for op in step.operations):
            raise Interrupted

    plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS, session=demo)
    with pytest.raises(Interrupted):
        apply_plan(
            session=demo, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR, clock=clock,
            options=OPTIONS, hooks=ApplyHooks(after_step=stop_after_claim),
        )  # fmt: skip
    demo.expire_all()
    job = jobs.list_jobs(session=demo)[0]
    assert job.id is not None
    step = claim_step(demo, job.id)
    unit = inventory.get_device(session=demo, serial=UTM_UNIT)
    assert (step.status, unit.status, unit.network_id) == ("done", "deployed", job.network_id)
    (entry,) = deploys(demo, UTM_UNIT)
    assert entry.at == step.finished_at  # one transaction, one clock reading
    done = resume_job(
        session=demo, dashboard=dash, job_id=job.id, sheet=sheet, actor=ACTOR, clock=clock,
        options=OPTIONS,
    )  # fmt: skip
    assert done.status == "done"
    assert len(deploys(demo, UTM_UNIT)) == 1


@pytest.mark.parametrize("delete_network", [False, True])
def test_a_rollback_of_the_claim_puts_the_unit_back_where_it_was(
    demo: Session, sandbox: SandboxServer, delete_network: bool
) -> None:
    dash = dashboard_for(sandbox)
    sheet = example("utm")
    before = inventory.placement_of(inventory.get_device(session=demo, serial=UTM_UNIT))
    assert before["status"] == "in_stock" and before["site"] == "倉庫"
    plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS, session=demo)
    job = apply_plan(
        session=demo, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR, clock=clock,
        options=OPTIONS,
    )  # fmt: skip
    assert job.id is not None and job.status == "done"
    back = rollback_job(
        session=demo, dashboard=dash, job_id=job.id, actor=ACTOR, clock=clock, options=OPTIONS,
        delete_network=delete_network,
    )  # fmt: skip
    assert back.status == "done", back.error
    unit = inventory.get_device(session=demo, serial=UTM_UNIT)
    assert inventory.placement_of(unit) == {
        "status": "in_stock",
        "customer": None,
        "site": "倉庫",
        "network_id": None,
        "contract_id": None,
        "acquisition": None,
        "leasing_company": None,
    }
    undo = select(AuditEntry).where(
        AuditEntry.entity_id == UTM_UNIT, AuditEntry.action == "device.undeploy"
    )
    (entry,) = demo.exec(undo)
    assert (entry.before or {})["status"] == "deployed"
    # the unit is back in stock, so the sheet plans (and claims) again
    again = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS, session=demo)
    assert again.units is not None


def test_a_re_apply_at_the_same_site_is_accepted(demo: Session, sandbox: SandboxServer) -> None:
    dash = dashboard_for(sandbox)
    sheet = example("utm")
    plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS, session=demo)
    apply_plan(
        session=demo, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR, clock=clock,
        options=OPTIONS,
    )  # fmt: skip
    again = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS, session=demo)
    assert again.empty


def test_a_unit_reserved_after_the_plan_fails_only_its_own_job_of_a_rollout(
    demo: Session, sandbox: SandboxServer
) -> None:
    """The claim went out, the inventory then refuses the unit: its job fails (resumable),
    nothing of that step is committed, the other site's job and unit carry on."""
    dash = dashboard_for(sandbox)
    sites = [
        rollouts.RolloutSite(dash, example("utm"), source="utm.yaml"),
        rollouts.RolloutSite(dash, example("router"), source="router.yaml"),
    ]
    rollouts.plan_rollout(sites, OPTIONS, session=demo)

    def reserve_when_claimed(step: JobStep) -> None:
        if UTM_UNIT in claimed_serials(step):
            unit = inventory.get_device(session=demo, serial=UTM_UNIT)
            if unit.status == "in_stock":  # a clerk sets it aside meanwhile
                inventory.change_status(
                    session=demo, actor=ACTOR, serial=UTM_UNIT, target=DeviceStatus.RESERVED,
                    now=NOW,
                )  # fmt: skip
                demo.commit()

    outcome = rollouts.apply_rollout(
        session=demo, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS,
        hooks=ApplyHooks(after_submit=reserve_when_claimed),
    )  # fmt: skip
    utm_job, router_job = outcome.jobs
    assert utm_job.status == "failed"
    assert f"{UTM_UNIT} is reserved, not in stock" in (utm_job.error or "")
    assert router_job.status == "done"
    assert inventory.get_device(session=demo, serial=UTM_UNIT).status == "reserved"
    assert deploys(demo, UTM_UNIT) == []
    assert inventory.get_device(session=demo, serial=ROUTER_UNIT).status == "deployed"

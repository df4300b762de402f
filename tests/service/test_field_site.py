"""Issue 12, the field engineer's site: scan the box, plan the site's sheet, claim and apply it.

Rules stated from the issue and docs/sheets.md: the scanned serial must be a unit of the
inventory and one the sheet provisions; a sheet with problems is refused with each problem at
its place; all of this before any dashboard call. One tap journals a one-sheet rollout (the
job pending, its units held) in the caller's transaction and queues it for the app's background
engine; run, it claims the unit, applies the sheet and verifies it. Through the real SDK against
the sandbox, on SQLite and PostgreSQL (there through the real procrastinate queue).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from core.errors import ValidationFailed
from core.keys import installation_key
from core.settings import Settings
from core.timeutil import TOKYO
from dashboard.session import build_sdk
from inventory import service as inventory
from jobs.catalogue import JobContext, run_rollout
from jobs.engines import queue_for
from provisioning import apply as jobs
from provisioning.field import (
    claim_and_apply_site,
    open_upload,
    plan_site,
    read_site_sheet,
    scanned_unit,
    seal_upload,
    stored_sheet_for,
)
from provisioning.jobs import SheetUpload
from provisioning.models import ProvisioningJob
from provisioning.service import ProvisioningOptions
from sandbox.server import SandboxServer
from survey import versions
from tests.service.helpers import seed_demo_inventory
from tests.service.survey_builders import ACTOR as SURVEY_ACTOR
from tests.service.survey_builders import APPROVER, SERIAL_1, SERIAL_2, T0, build_survey
from tests.service.test_provisioning_apply import ACTOR, dashboard_for
from tests.unit.provisioning.sheets import EXAMPLES

UTM_UNIT = "Q2FY-AAAA-0002"  # in stock in the demo's warehouse; utm.yaml lists it
ROUTER_UNIT = "Q2KY-BBBB-0001"  # in stock; listed by router.yaml, not by utm.yaml
UTM_SITE = "さくら商事 本社"
OPTIONS = ProvisioningOptions(secret_key=b"test-key", rate=1000.0, poll_seconds=0.05)


def clock() -> datetime:
    return datetime.now(UTC)


def no_secrets(customer: str, name: str) -> str | None:
    return None


def utm_upload() -> SheetUpload:
    return SheetUpload(name="utm.yaml", content=(EXAMPLES / "utm.yaml").read_bytes())


@pytest.fixture
def demo(session: Session) -> Session:
    seed_demo_inventory(session)
    session.commit()
    return session


def planned(session: Session, dash: Any, serial: str, upload: SheetUpload) -> Any:
    return plan_site(
        session=session, dashboard=dash, serial=serial, upload=upload, secrets=no_secrets,
        options=OPTIONS,
    )  # fmt: skip


def refused_before_any_call(sandbox: SandboxServer, attempt: Callable[[], Any]) -> list[str]:
    """The problems as 'location: message', and proof the dashboard was never called."""
    sandbox.admin.reset_counters()
    with pytest.raises(ValidationFailed) as caught:
        attempt()
    assert sandbox.admin.counters()["operations"] == {}
    return [str(p) for p in caught.value.problems]


def test_the_scanned_unit_is_found_as_the_inventory_holds_it(demo: Session) -> None:
    unit = scanned_unit(session=demo, serial=" q2fy-aaaa-0002 ")  # as a scanner may type it
    assert (unit.serial, unit.model, unit.status, unit.site) == (
        UTM_UNIT,
        "MX67",
        "in_stock",
        "倉庫",
    )


@pytest.mark.parametrize(
    ("serial", "problem"),
    [
        ("", "serial: scan or type the serial on the box"),
        ("Q2FY-ZZZZ-9999", "serial: no unit with serial Q2FY-ZZZZ-9999 in the inventory"),
        ("not-a-serial", "serial: serial 'not-a-serial' is not in the Meraki form XXXX-XXXX-XXXX"),
    ],
)
def test_an_unknown_or_malformed_serial_is_refused_at_the_serial(
    demo: Session, sandbox: SandboxServer, serial: str, problem: str
) -> None:
    dash = dashboard_for(sandbox)
    problems = refused_before_any_call(sandbox, lambda: planned(demo, dash, serial, utm_upload()))
    assert problems == [problem]


def test_a_serial_the_sheet_does_not_list_is_refused_naming_what_it_lists(
    demo: Session, sandbox: SandboxServer
) -> None:
    dash = dashboard_for(sandbox)
    problems = refused_before_any_call(
        sandbox, lambda: planned(demo, dash, ROUTER_UNIT, utm_upload())
    )
    assert problems == [
        f"serial: serial {ROUTER_UNIT} is not in the sheet of {UTM_SITE} "
        f"(utm.yaml lists: {UTM_UNIT})"
    ]


def test_a_sheet_with_errors_is_refused_with_every_problem_at_its_place(
    demo: Session, sandbox: SandboxServer
) -> None:
    text_ = (EXAMPLES / "utm.yaml").read_text(encoding="utf-8")
    broken = text_.replace("subnet: 192.168.10.0/24", "subnet: 192.168.10.0/33").replace(
        "plan: utm", "plan: utmx"
    )
    upload = SheetUpload(name="site.yaml", content=broken.encode("utf-8"))
    dash = dashboard_for(sandbox)
    problems = refused_before_any_call(sandbox, lambda: planned(demo, dash, UTM_UNIT, upload))
    assert problems == [
        "site.plan: plan: Input should be 'utm', 'router' or 'wireless'",
        "vlans[0].subnet: subnet 192.168.10.0/33 is not a valid IPv4 network",
    ]


def test_a_file_that_is_not_a_sheet_is_refused(demo: Session, sandbox: SandboxServer) -> None:
    upload = SheetUpload(name="photo.jpg", content=b"\xff\xd8\xff")
    dash = dashboard_for(sandbox)
    problems = refused_before_any_call(sandbox, lambda: planned(demo, dash, UTM_UNIT, upload))
    assert problems == ["photo.jpg: .jpg is not a sheet"]


def test_the_plan_shows_the_claim_and_where_the_unit_goes(
    demo: Session, sandbox: SandboxServer
) -> None:
    planned = plan_site(
        session=demo, dashboard=dashboard_for(sandbox), serial=UTM_UNIT, upload=utm_upload(),
        secrets=no_secrets, options=OPTIONS,
    )  # fmt: skip
    keys = {c.key for c in planned.plan.changes}
    assert f"device/{UTM_UNIT}" in keys and "network" in keys
    assert planned.plan.units is not None
    outcome = planned.plan.units.outcome(UTM_UNIT, claimed=True)
    assert outcome.startswith("in_stock → deployed at さくら商事 本社")
    # planning wrote nothing: the unit is still in stock, nothing held
    device = inventory.get_device(session=demo, serial=UTM_UNIT)
    assert (device.status, device.held_by_job) == ("in_stock", None)


def _queued(
    settings: Settings, engine: Engine, session: Session
) -> tuple[Any, list[Callable[[], None]]]:
    """The app's real background queue for this database, and what waits for the answer."""
    return queue_for(settings, engine, lambda: nullcontext(session)), []


def _run_as_the_worker(
    settings: Settings,
    engine: Engine,
    session: Session,
    rollout: str,
    later: list[Callable[[], None]],
    dash: Any,
) -> None:
    """SQLite: the thread after the answer. PostgreSQL: the procrastinate job, run as a worker."""
    if engine.dialect.name != "postgresql":
        assert len(later) == 1
        later[0]()
        return
    assert later == []  # queued in the database, nothing left to this process
    with engine.begin() as connection:
        rows = connection.execute(
            text("DELETE FROM procrastinate_jobs WHERE lock = :lock RETURNING task_name, args"),
            {"lock": f"rollout:{rollout}"},
        ).all()
    assert [r.task_name for r in rows] == ["provisioning.rollout"]
    ctx = JobContext(settings=settings, engine=engine, session_factory=lambda: nullcontext(session))
    assert run_rollout(ctx, rows[0].args["payload"], dashboards={dash.organization_id: dash}) == {
        "rollout": rollout,
        "done": True,
    }


def test_one_tap_journals_the_job_then_the_queue_claims_applies_and_verifies(
    demo: Session, sandbox: SandboxServer, settings: Settings, engine: Engine
) -> None:
    fast = settings.model_copy(update={"provisioning_batch_poll_seconds": 0.05})
    dash = dashboard_for(sandbox)
    queue, later = _queued(fast, engine, demo)
    seen: list[int | None] = []
    started = claim_and_apply_site(
        session=demo, dashboard=dash, serial=UTM_UNIT, upload=utm_upload(), secrets=no_secrets,
        actor=ACTOR, clock=clock,
        options=OPTIONS, cipher=installation_key(fast).job_fernet(), queue=queue,
        after_response=later.append, record=lambda job: seen.append(job.id),
    )  # fmt: skip
    job = started.job
    assert job is not None and job.id is not None and seen == [job.id]
    assert started.rollout is not None and job.rollout == started.rollout
    # journalled, not run: every step pending, the unit held for the job, nothing claimed yet
    demo.expire_all()
    assert demo.get(ProvisioningJob, job.id).status == "pending"  # type: ignore[union-attr]
    assert {s.status for s in jobs.journal(session=demo, job_id=job.id)} == {"pending"}
    assert inventory.get_device(session=demo, serial=UTM_UNIT).held_by_job == job.id
    assert all(UTM_UNIT not in str(d) for d in _org_devices_in_networks(sandbox))

    _run_as_the_worker(fast, engine, demo, started.rollout, later, dash)

    demo.expire_all()
    done = demo.get(ProvisioningJob, job.id)
    assert done is not None and done.status == "done", done and done.error
    assert done.verify_diff == []
    steps = jobs.journal(session=demo, job_id=job.id)
    assert steps[-1].action == "verify" and {s.status for s in steps} == {"done"}
    unit = inventory.get_device(session=demo, serial=UTM_UNIT)
    assert (unit.status, unit.site, unit.network_id) == ("deployed", UTM_SITE, done.network_id)
    assert unit.held_by_job is None
    assert any(UTM_UNIT in str(d) for d in _org_devices_in_networks(sandbox))

    # tapped again once it is done: the site matches its sheet, nothing is journalled
    again = claim_and_apply_site(
        session=demo, dashboard=dash, serial=UTM_UNIT, upload=utm_upload(), secrets=no_secrets,
        actor=ACTOR, clock=clock,
        options=OPTIONS, cipher=installation_key(fast).job_fernet(), queue=queue,
        after_response=later.append,
    )  # fmt: skip
    assert again.job is None
    assert len(demo.exec(select(ProvisioningJob)).all()) == 1


def _org_devices_in_networks(sandbox: SandboxServer) -> list[dict[str, Any]]:
    """The sandbox organization's devices that sit in a network (the claimed ones)."""
    sdk = build_sdk(api_key=sandbox.api_key, base_url=sandbox.base_url)
    found: list[dict[str, Any]] = sdk.organizations.getOrganizationDevices("537758", total_pages=-1)
    return [d for d in found if d.get("networkId")]


def test_a_refused_tap_journals_nothing(demo: Session, sandbox: SandboxServer) -> None:
    dash = dashboard_for(sandbox)
    later: list[Callable[[], None]] = []
    with pytest.raises(ValidationFailed):
        claim_and_apply_site(
            session=demo, dashboard=dash, serial=ROUTER_UNIT, upload=utm_upload(),
            secrets=no_secrets, actor=ACTOR, clock=time.time,  # type: ignore[arg-type]
            options=OPTIONS, cipher=Fernet(Fernet.generate_key()), queue=None,  # type: ignore[arg-type]
            after_response=later.append,
        )  # fmt: skip
    assert demo.exec(select(ProvisioningJob)).all() == [] and later == []


def test_a_sealed_sheet_opens_only_for_its_account_and_serial_within_its_time() -> None:
    cipher = Fernet(Fernet.generate_key())
    sealed = seal_upload(utm_upload(), cipher=cipher, account="tanaka", serial=UTM_UNIT)
    assert b"\xe3" not in sealed.encode("ascii")  # no clear text of the sheet travels
    back = open_upload(sealed, cipher=cipher, account="tanaka", serial=UTM_UNIT)
    assert back == utm_upload()
    refusals: list[Callable[[], object]] = [
        lambda: open_upload(sealed, cipher=cipher, account="suzuki", serial=UTM_UNIT),
        lambda: open_upload(sealed, cipher=cipher, account="tanaka", serial=ROUTER_UNIT),
        lambda: open_upload(sealed[:-4] + "AAAA", cipher=cipher, account="tanaka", serial=UTM_UNIT),
        lambda: open_upload("not a token", cipher=cipher, account="tanaka", serial=UTM_UNIT),
        lambda: open_upload(
            sealed, cipher=Fernet(Fernet.generate_key()), account="tanaka", serial=UTM_UNIT
        ),
        lambda: open_upload(
            sealed, cipher=cipher, account="tanaka", serial=UTM_UNIT, now=time.time() + 3601
        ),
    ]
    for attempt in refusals:
        with pytest.raises(ValidationFailed) as caught:
            attempt()
        assert [p.location for p in caught.value.problems] == ["sheet"]
    # just inside the hour it still opens
    inside = open_upload(
        sealed, cipher=cipher, account="tanaka", serial=UTM_UNIT, now=time.time() + 3500
    )
    assert inside == back


def test_a_unit_no_approved_survey_names_has_no_stored_sheet(demo: Session) -> None:
    assert stored_sheet_for(session=demo, serial=UTM_UNIT) is None


def test_the_approved_survey_naming_the_serial_is_the_stored_wireless_sheet(
    session: Session, tmp_path: Path
) -> None:
    survey = build_survey(session, tmp_path)
    assert survey.id is not None
    versions.issue_version(
        session=session, actor=SURVEY_ACTOR, survey_id=survey.id, storage_dir=tmp_path, now=T0
    )
    assert stored_sheet_for(session=session, serial=SERIAL_1) is None  # issued, not approved
    versions.approve_version(
        session=session, actor=APPROVER, survey_id=survey.id, number=1,
        approver_name="鈴木 院長", approved_on=T0.astimezone(TOKYO).date(),
        signature_ref="scan/approval.pdf", now=T0,
    )  # fmt: skip
    stored = stored_sheet_for(session=session, serial=SERIAL_1)
    assert stored is not None and stored.origin == f"survey {survey.number}"
    assert stored.upload.name == f"{survey.number}.yaml"
    sheet = read_site_sheet(
        upload=stored.upload, secrets=lambda c, n: "a-psk-value", serial=SERIAL_1,
        organization="537758",
    )  # fmt: skip
    assert sheet.site.name == "あおばクリニック"
    assert {d.serial for d in sheet.devices or []} == {SERIAL_1, SERIAL_2}
    assert stored_sheet_for(session=session, serial=UTM_UNIT) is None

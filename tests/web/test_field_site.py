"""Issue 12, the field engineer on a phone (360×740, touch) in a real chromium: scan the box →
the site's sheet and what the plan changes → one tap claims and applies → each step appears →
verified. A bad serial, a serial the sheet does not list and a sheet with errors are shown next
to their field with nothing changed; the same form tapped twice makes one job.

The dashboard is the sandbox, through the real SDK. On PostgreSQL the tap queues a procrastinate
job: the test runs it as `netkeep worker` would (`run_queued_rollout`), on SQLite the app runs it
in-process after the answer.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from core import secret_store
from core.keys import installation_key
from core.timeutil import TOKYO
from provisioning.models import JobStep, ProvisioningJob
from survey import versions
from survey.wireless_sheet import psk_secret
from tests.service.helpers import seed_demo_inventory
from tests.service.survey_builders import ACTOR as SURVEY_ACTOR
from tests.service.survey_builders import APPROVER, SERIAL_1, T0, build_survey
from tests.unit.provisioning.sheets import EXAMPLES
from tests.web.conftest import WebServer
from tests.web.field_helpers import run_queued_rollout
from tests.web.test_page_basics import UNLABELLED

UTM_UNIT = "Q2FY-AAAA-0002"  # in stock in the demo's warehouse; utm.yaml lists it
ROUTER_UNIT = "Q2KY-BBBB-0001"  # in stock; router.yaml lists it, utm.yaml does not
UTM_SHEET = EXAMPLES / "utm.yaml"


@pytest.fixture
def demo(session: Session) -> Session:
    seed_demo_inventory(session)
    session.commit()
    return session


def jobs_of(app: Any) -> list[ProvisioningJob]:
    """The jobs, read through the app's session factory (the server may be using the session)."""
    with app.api.state.session_factory() as session:
        session.expire_all()
        return list(session.exec(select(ProvisioningJob)).all())


def test_scan_plan_one_tap_steps_verified_on_a_phone(
    demo: Session,
    web_server: WebServer,
    phone_page: Callable[..., Any],
    shot: Callable[[Any, str], Any],
) -> None:
    page = phone_page("field")
    page.goto("/ui/field/")
    scan = page.get_by_label("シリアル番号")
    assert scan.evaluate("e => e === document.activeElement")  # focused for the scanner
    scan.fill(UTM_UNIT.lower())
    scan.press("Enter")  # as a handheld scanner ends its input
    page.wait_for_url("**/ui/field/site?serial=*")
    assert page.locator("[data-unit-serial]").inner_text() == UTM_UNIT
    assert page.evaluate(UNLABELLED) == [] and _fits_the_phone(page)
    shot(page, "1-site")

    page.set_input_files("#f-sheet", str(UTM_SHEET))
    page.get_by_role("button", name="変更内容を見る").tap()
    page.wait_for_selector("[data-plan]")
    plan = page.locator("[data-plan]").inner_text()
    assert f"device/{UTM_UNIT}" in plan and "vlan/10" in plan
    assert "192.168.10.0/24" in plan  # a value the sheet sets
    assert page.locator("[data-sheet]").inner_text().count(UTM_UNIT) == 1
    assert _fits_the_phone(page)
    shot(page, "2-plan")

    page.locator("[data-apply]").scroll_into_view_if_needed()
    box = page.locator("[data-apply]").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.touchscreen.tap(x, y)
    page.touchscreen.tap(x, y)  # a double tap: the form is sent again while the first goes
    page.wait_for_selector("[data-field-job]")  # (the first navigation may be aborted)
    assert re.fullmatch(r".*/ui/field/jobs/\d+", page.url), page.url
    job_id = int(page.url.rsplit("/", 1)[1])
    worker = _worker_for(web_server, demo, job_id)
    page.wait_for_selector("[data-outcome=verified]", timeout=60_000)
    if worker is not None:
        worker.join(60)
    steps = page.locator("[data-progress-steps] li")
    assert steps.count() >= 3
    assert set(steps.evaluate_all("els => els.map(e => e.dataset.status)")) == {"done"}
    assert "検証済み" in page.locator("[data-outcome]").inner_text()
    assert _fits_the_phone(page)
    shot(page, "3-verified")
    assert [j.id for j in jobs_of(web_server.app)] == [job_id]
    with web_server.app.api.state.session_factory() as session:
        # in step order: without ORDER BY, PostgreSQL returns updated rows in any order
        in_order = select(JobStep).where(JobStep.job_id == job_id).order_by(JobStep.number)
        verify = session.exec(in_order).all()[-1]
        assert (verify.action, verify.status) == ("verify", "done")


def _fits_the_phone(page: Any) -> bool:
    """Nothing wider than the 360 px screen: no sideways scrolling."""
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width <= 360


def _worker_for(web_server: WebServer, session: Session, job_id: int) -> threading.Thread | None:
    """PostgreSQL: the queued rollout run on a thread, as a worker would; SQLite: nothing."""
    engine = web_server.app.api.state.engine
    if engine.dialect.name != "postgresql":
        return None
    thread = threading.Thread(
        target=run_queued_rollout, args=(web_server.app.api, session, job_id), daemon=True
    )
    thread.start()
    return thread


def test_a_bad_serial_is_shown_at_the_scan_input_and_nothing_changes(
    demo: Session, web_server: WebServer, phone_page: Callable[..., Any], shot: Any
) -> None:
    page = phone_page("field")
    page.goto("/ui/field/")
    scan = page.get_by_label("シリアル番号")
    scan.fill("Q2FY-ZZZZ-9999")
    scan.press("Enter")
    problems = page.locator("#f-serial-problems")
    assert problems.inner_text() == "no unit with serial Q2FY-ZZZZ-9999 in the inventory"
    assert page.get_by_label("シリアル番号").input_value() == "Q2FY-ZZZZ-9999"
    assert page.get_by_label("シリアル番号").get_attribute("aria-invalid") == "true"
    shot(page, "bad-serial")
    assert jobs_of(web_server.app) == []


def _plan_form(client: Any, serial: str, name: str, content: bytes) -> Any:
    site = client.get(f"/ui/field/site?serial={serial}")
    assert site.status_code == 200, site.text
    return client.post(
        "/ui/field/site/plan",
        data={"serial": serial},
        files={"sheet": (name, content, "application/x-yaml")},
    )


def test_a_serial_the_sheet_does_not_list_is_shown_at_the_serial(
    demo: Session, web_client: Callable[..., Any], web_app: Any
) -> None:
    client = web_client("field")
    answer = _plan_form(client, ROUTER_UNIT, "utm.yaml", UTM_SHEET.read_bytes())
    assert answer.status_code == 422
    problems = _problems(answer.text, "f-serial-problems")
    assert problems == [
        f"serial {ROUTER_UNIT} is not in the sheet of さくら商事 本社 (utm.yaml lists: {UTM_UNIT})"
    ]
    assert jobs_of(web_app) == []


def test_a_sheet_with_errors_shows_every_problem_at_the_sheet(
    demo: Session, web_client: Callable[..., Any], web_app: Any
) -> None:
    broken = (
        UTM_SHEET.read_text(encoding="utf-8")
        .replace("subnet: 192.168.10.0/24", "subnet: 192.168.10.0/33")
        .replace("plan: utm", "plan: utmx")
    )
    client = web_client("field")
    answer = _plan_form(client, UTM_UNIT, "site.yaml", broken.encode("utf-8"))
    assert answer.status_code == 422
    assert _problems(answer.text, "f-sheet-problems") == [
        "site.plan: plan: Input should be &#39;utm&#39;, &#39;router&#39; or &#39;wireless&#39;",
        "vlans[0].subnet: subnet 192.168.10.0/33 is not a valid IPv4 network",
    ]
    assert jobs_of(web_app) == []


def test_the_same_form_tapped_twice_makes_one_job(
    demo: Session, web_client: Callable[..., Any], web_app: Any
) -> None:
    client = web_client("field")
    planned = _plan_form(client, UTM_UNIT, "utm.yaml", UTM_SHEET.read_bytes())
    assert planned.status_code == 200, planned.text
    form = {name: _hidden(planned.text, name) for name in ("serial", "sealed", "form_key")}
    first = client.post("/ui/field/site/apply", data=form, follow_redirects=False)
    second = client.post("/ui/field/site/apply", data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303, (first.text, second.text)
    assert first.headers["location"] == second.headers["location"]
    found = jobs_of(web_app)
    assert len(found) == 1 and first.headers["location"] == f"/ui/field/jobs/{found[0].id}"
    if web_app.api.state.engine.dialect.name == "postgresql":
        assert found[0].id is not None
        run_queued_rollout(web_app.api, demo, found[0].id)  # as a worker would
    # (SQLite: the test client ran the in-process job before answering)
    shown = client.get(first.headers["location"])
    assert 'data-outcome="verified"' in shown.text
    again = _plan_form(client, UTM_UNIT, "utm.yaml", UTM_SHEET.read_bytes())
    assert "data-plan-empty" in again.text and "data-apply" not in again.text


def test_a_plan_sealed_for_another_account_is_refused_at_the_sheet(
    demo: Session, web_client: Callable[..., Any], web_app: Any
) -> None:
    tanaka, suzuki = web_client("field"), web_client("field")
    planned = _plan_form(tanaka, UTM_UNIT, "utm.yaml", UTM_SHEET.read_bytes())
    form = {name: _hidden(planned.text, name) for name in ("serial", "sealed", "form_key")}
    answer = suzuki.post("/ui/field/site/apply", data=form, follow_redirects=False)
    assert answer.status_code == 422
    assert _problems(answer.text, "f-sheet-problems") == [
        "the plan has expired or was not made here: upload the sheet again"
    ]
    assert jobs_of(web_app) == []


SECRETS = {
    "{env: AOBA_RADIUS_SECRET}": "radius-s3cret-value",
    "env:AOBA_DEVICE_PSK": "device-key-2025-xyz",
    "{env: AOBA_GUEST_PSK}": "welcome-aoba-2025",
}


def test_the_plan_masks_every_secret_of_the_sheet(
    demo: Session, web_client: Callable[..., Any], web_app: Any
) -> None:
    """A wireless sheet uploaded with its keys in clear: the plan says each changes, never what."""
    sheet = (EXAMPLES / "wireless.yaml").read_text(encoding="utf-8")
    for ref, value in SECRETS.items():
        sheet = sheet.replace(ref, value)
    client = web_client("field")
    answer = _plan_form(client, "Q3AJ-DDDD-0002", "aoba.yaml", sheet.encode("utf-8"))
    assert answer.status_code == 200, answer.text
    assert answer.text.count("data-secret") == 2  # the two PSKs: changed, value hidden
    assert "192.168.10.5" in answer.text  # the RADIUS server is shown, its secret is not
    for value in SECRETS.values():
        assert value not in answer.text
    assert "AOBA-GUEST" in answer.text  # the rest of the SSIDs is shown
    assert jobs_of(web_app) == []


def test_the_sheet_netkeep_keeps_is_offered_and_planned_without_an_upload(
    session: Session, web_client: Callable[..., Any], web_app: Any, tmp_path: Path
) -> None:
    """A wireless site whose approved survey names the scanned AP: its generated sheet."""
    survey = build_survey(session, tmp_path)
    assert survey.id is not None
    versions.issue_version(
        session=session, actor=SURVEY_ACTOR, survey_id=survey.id, storage_dir=tmp_path, now=T0
    )
    versions.approve_version(
        session=session, actor=APPROVER, survey_id=survey.id, number=1,
        approver_name="鈴木 院長", approved_on=T0.astimezone(TOKYO).date(),
        signature_ref="scan/approval.pdf", now=T0,
    )  # fmt: skip
    cipher = installation_key(web_app.api.state.settings).fernet()
    secret_store.set_secret(
        session=session, actor=SURVEY_ACTOR, cipher=cipher, customer="医療法人あおば会",
        name=psk_secret(survey.id, 0), value="staff-psk-2026-value", now=T0,
    )  # fmt: skip
    session.commit()
    client = web_client("field")
    site = client.get(f"/ui/field/site?serial={SERIAL_1}")
    assert site.status_code == 200 and survey.number in site.text
    planned = client.post("/ui/field/site/plan", data={"serial": SERIAL_1, "use_stored": "1"})
    assert planned.status_code == 200, planned.text
    assert "data-apply" in planned.text and "data-secret" in planned.text
    assert "staff-psk-2026-value" not in planned.text
    assert jobs_of(web_app) == []


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def _problems(html: str, list_id: str) -> list[str]:
    block = re.search(rf'<ul class="problems" role="alert" id="{list_id}">(.*?)</ul>', html, re.S)
    assert block, html
    return re.findall(r"<li>(.*?)</li>", block.group(1), re.S)


@pytest.mark.parametrize("role", ["logistics", "viewer", "customer"])
def test_who_may_not_plan_gets_403_and_nothing_changes(
    demo: Session, web_client: Callable[..., Any], web_app: Any, role: str
) -> None:
    client = web_client(role)
    assert client.get(f"/ui/field/site?serial={UTM_UNIT}").status_code == 403
    answer = client.post(
        "/ui/field/site/plan",
        data={"serial": UTM_UNIT},
        files={"sheet": ("utm.yaml", UTM_SHEET.read_bytes(), "application/x-yaml")},
    )
    assert answer.status_code == 403
    assert jobs_of(web_app) == []

"""The NOC engineer's journey in chromium: a submitted change approved, scheduled and applied
with its steps shown live, the completion notice mailed, then the customer's acceptance
recorded by a second engineer (four-eyes); and a plan page that never shows a secret.

The change is the shipped `provisioning/examples/change_request.yaml` for さくら商事's 東京本社
(N_demo_tokyo) on the demo data; the journey's clock is a Tuesday 10:00 JST, inside the
operations window (Mon-Sat 9:00-17:00 JST). The sandbox answers each call 250 ms late so that
the apply lasts long enough to be watched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import select

from changes.models import ChangeRequest, ChangeRequestEvent
from provisioning.domain import JobKind
from provisioning.models import ProvisioningJob
from tests.journeys.conftest import Journey
from tests.web import noc_world as world
from tests.web.conftest import sign_in
from tests.web.noc_world import (
    EXAMPLE,
    NOTICE_TO,
    db,
    listen,
    serving,
    staff_account,
    store_secret,
    submitted,
    value_of,
)

# the journeys' fixtures: the demo on a committed database of its own
clock = world.clock
migrated_sqlite = world.migrated_sqlite
migrated_postgresql = world.migrated_postgresql
journey_db = world.journey_db
journey = world.journey

FINISHED = ("done", "failed", "verify_failed")


def _job_status(run: Journey, request_id: int) -> tuple[int | None, str | None]:
    with db(run.settings) as session:
        req = session.get(ChangeRequest, request_id)
        assert req is not None
        if req.job_id is None:
            return None, None
        job = session.get(ProvisioningJob, req.job_id)
        return req.job_id, job.status if job else None


def test_approve_apply_with_live_progress_then_accepted(
    journey: Journey, browser: Any, shot: Callable[[Any, str], Any]
) -> None:
    settings = journey.settings
    req = submitted(settings, EXAMPLE.read_bytes(), "change_request.yaml")
    rid = req.id
    assert rid is not None
    suzuki = staff_account(settings, "noc-suzuki")
    yamada = staff_account(settings, "noc-yamada")
    with serving(settings) as server:
        context = browser.new_context(base_url=server.url)
        try:
            page = context.new_page()
            sign_in(page, *suzuki)
            page.goto("/ui/noc/?stage=submitted")
            shot(page, "queue")
            page.click(f"a[href='/ui/noc/changes/{rid}']")
            assert page.locator("h1 [data-status]").get_attribute("data-status") == "validated"
            shot(page, "validated")

            page.click("form[data-act=approve] button[type=submit]")
            page.wait_for_url(f"**/ui/noc/changes/{rid}?done=approved")
            page.click("form[data-act=schedule] button[type=submit]")  # the window is open now
            page.wait_for_url(f"**/ui/noc/changes/{rid}?done=scheduled")
            assert page.locator("h1 [data-status]").get_attribute("data-status") == "scheduled"

            journey.sandbox.admin.set_faults("latency=250ms")
            key = value_of(page, "form[data-act=apply] input[name=form_key]")
            csrf = value_of(page, "form[data-act=apply] input[name=csrf_token]")
            page.click("form[data-act=apply] button[type=submit]")
            page.wait_for_url(f"**/ui/noc/changes/{rid}?done=apply_started")
            cookies = {c["name"]: c["value"] for c in context.cookies()}
            stream, heard = listen(
                f"{server.url}/ui/noc/changes/{rid}/progress",
                cookies,
                lambda: _job_status(journey, rid)[1],
            )
            # the same form posted again (a double tap): sent to the page, nothing started again
            again = page.request.post(
                f"/ui/noc/changes/{rid}/apply",
                form={"csrf_token": csrf, "form_key": key},
                max_redirects=0,
            )
            assert again.status == 303 and again.headers["location"] == f"/ui/noc/changes/{rid}"

            first_step = page.locator("[data-progress-steps] li").first
            first_step.wait_for(timeout=60_000)
            job_id, status = _job_status(journey, rid)
            assert job_id is not None and status not in FINISHED, status  # shown while running
            shot(page, "applying")
            page.locator("[data-request-status]").wait_for(timeout=120_000)
            journey.sandbox.admin.clear_faults()
            stream.join(60)
            assert heard.error is None, heard.error
            steps = [status for name, status in heard.events if name == "step"]
            assert len(steps) >= 2 and heard.events[-1][0] == "done"
            assert steps[0] not in FINISHED  # the first step was told while the job ran
            rows = page.locator("[data-progress-steps] li")
            assert rows.count() >= 2
            assert rows.evaluate_all("els => els.every(e => e.dataset.status === 'done')")
            outcome = page.locator("[data-request-status]").get_attribute("data-request-status")
            assert outcome == "notified"
            shot(page, "applied")

            page.goto(f"/ui/noc/changes/{rid}")
            assert page.locator("h1 [data-status]").get_attribute("data-status") == "notified"
            assert page.locator("[data-countdown]").first.is_visible()
            [mail] = journey.mails()
            assert f"To: {NOTICE_TO}" in mail and "CR-2025-0107" in mail

            # suzuki applied it: the customer's acceptance must be recorded by someone else
            page.fill("form[data-act=accept] [name=accepted_by]", "総務部 田中 花子")
            page.fill("form[data-act=accept] [name=evidence]", "受領書 2027-01-13 スキャン")
            page.click("form[data-act=accept] button[type=submit]")
            refusal = page.locator("[data-refusal]")
            assert refusal.get_attribute("data-refusal") == "forbidden"
            assert "four-eyes" in refusal.inner_text()
            shot(page, "four-eyes")

            page.click("form[action='/ui/logout'] button")
            sign_in(page, *yamada)
            page.goto("/ui/noc/?stage=awaiting_acceptance")
            page.click(f"a[href='/ui/noc/changes/{rid}']")
            page.fill("form[data-act=accept] [name=accepted_by]", "総務部 田中 花子")
            page.fill("form[data-act=accept] [name=evidence]", "受領書 2027-01-13 スキャン")
            page.click("form[data-act=accept] button[type=submit]")
            page.wait_for_url(f"**/ui/noc/changes/{rid}?done=accepted")
            assert page.locator("h1 [data-status]").get_attribute("data-status") == "accepted"
            shot(page, "accepted")
        finally:
            journey.sandbox.admin.clear_faults()
            context.close()
    with db(settings) as session:
        applies = session.exec(
            select(ProvisioningJob).where(ProvisioningJob.kind == JobKind.APPLY.value)
        ).all()
        actions = session.exec(
            select(ChangeRequestEvent.action).where(ChangeRequestEvent.request_id == rid)
        ).all()
    assert len(applies) == 1
    assert list(actions) == [
        "submitted", "validated", "approved", "scheduled", "applied", "notified", "accepted",
    ]  # fmt: skip
    journey.finish()  # the doctor finds nothing amiss


WIRELESS_CHANGE = """\
format: netkeep-sheet/1
kind: change_request
request:
  id: CR-2025-0200
  customer: 株式会社さくら商事
  date: 2027-01-08
  requester: 総務部 田中 花子
  summary: 来客用SSIDのパスワードと、業務SSIDのRADIUSサーバの変更
site:
  name: 東京本社
  plan: wireless
ssids:
  - number: 2
    name: SAKURA-GUEST
    enabled: true
    authMode: psk
    wpaEncryptionMode: wpa2
    psk: secret:SAKURA_GUEST_PSK
    ipAssignmentMode: nat
  - number: 3
    name: SAKURA-STAFF
    enabled: true
    authMode: 8021x-radius
    wpaEncryptionMode: wpa2
    radiusServers:
      - host: 192.168.10.5
        port: 1812
        secret: secret:SAKURA_RADIUS
    ipAssignmentMode: bridge
"""
PSK = "sakura-guest-Psk-7731"
RADIUS = "radius-Shared-9924x"


def test_a_plan_page_never_shows_a_psk_or_radius_secret(
    journey: Journey, browser: Any, shot: Callable[[Any, str], Any]
) -> None:
    settings = journey.settings
    store_secret(settings, "SAKURA_GUEST_PSK", PSK)
    store_secret(settings, "SAKURA_RADIUS", RADIUS)
    req = submitted(settings, WIRELESS_CHANGE.encode("utf-8"))
    noc = staff_account(settings, "noc-suzuki")
    with serving(settings) as server:
        context = browser.new_context(base_url=server.url)
        try:
            page = context.new_page()
            sign_in(page, *noc)
            page.goto(f"/ui/noc/changes/{req.id}")
            shown = [page.content()]
            page.click("[data-plan-preview]")
            page.wait_for_url(f"**/ui/noc/changes/{req.id}/plan")
            shown.append(page.content())
            # the PSK changes (said, not shown); the RADIUS server list shows its secret masked
            assert page.locator("tr[data-resource='ssid/2'] td.secret").count() == 1
            radius = page.locator("tr[data-resource='ssid/3']", has_text="radiusServers")
            assert "(secret)" in radius.inner_text()
            shot(page, "plan-secrets-masked")
            page.goto(f"/ui/noc/changes/{req.id}?lang=en")
            shown.append(page.content())
        finally:
            context.close()
    for html in shown:
        assert PSK not in html and RADIUS not in html


def test_a_change_rolled_back_from_its_page(
    journey: Journey, browser: Any, shot: Callable[[Any, str], Any]
) -> None:
    settings = journey.settings
    sdk = journey.sandbox.dashboard_api()
    rules_before = sdk.appliance.getNetworkApplianceFirewallPortForwardingRules("N_demo_tokyo")[
        "rules"
    ]
    req = submitted(settings, EXAMPLE.read_bytes(), "change_request.yaml")
    rid = req.id
    noc = staff_account(settings, "noc-suzuki")
    with serving(settings) as server:
        context = browser.new_context(base_url=server.url)
        try:
            page = context.new_page()
            sign_in(page, *noc)
            page.goto(f"/ui/noc/changes/{rid}")
            for act in ("approve", "schedule", "apply"):
                page.click(f"form[data-act={act}] button[type=submit]")
                page.wait_for_url(f"**/ui/noc/changes/{rid}?done=*")
            page.locator("[data-request-status]").wait_for(timeout=120_000)
            page.goto(f"/ui/noc/changes/{rid}")
            assert page.locator("h1 [data-status]").get_attribute("data-status") == "notified"
            changed = sdk.appliance.getNetworkApplianceFirewallPortForwardingRules("N_demo_tokyo")
            assert len(changed["rules"]) == 2  # the sheet's two forwards
            page.click("form[data-act=rollback] button[type=submit]")
            page.wait_for_url(f"**/ui/noc/changes/{rid}?done=rolled_back")
            back = page.locator("[data-rollback]")
            assert back.count() == 1 and "done" in back.inner_text()
            assert page.locator("form[data-act=rollback]").count() == 0  # once is enough
            shot(page, "rolled-back")
        finally:
            context.close()
    restored = sdk.appliance.getNetworkApplianceFirewallPortForwardingRules("N_demo_tokyo")["rules"]
    assert restored == rules_before
    journey.finish()

"""A customer's journey in a real Chromium: sign in, see only its own records, approve the
preparation sheet (who and when recorded and shown), accept a change within its week, and meet
a 404 for another customer's change; screenshots kept (both databases)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, select

from changes.models import ChangeRequest
from core.timeutil import TOKYO, utcnow
from survey.models import SurveyVersion
from tests.service.portal_builders import A, B, TwoTenants, two_tenants


@pytest.fixture
def world(session: Session) -> TwoTenants:
    found = two_tenants(session, utcnow())
    session.commit()
    return found


def test_a_customer_approves_its_sheet_and_accepts_a_change(
    world: TwoTenants,
    session: Session,
    web_account: Callable[..., tuple[str, str]],
    signed_in_page: Callable[..., Any],
    phone_page: Callable[..., Any],
    shot: Callable[[Any, str], Any],
) -> None:
    me = web_account("customer", customer=A, name="asahi-taro")
    page = signed_in_page(me)
    assert page.url.endswith("/ui/portal/")
    waiting = page.locator("ul.waiting li")
    assert waiting.count() == 2  # the issued sheet to approve, the notified change to answer
    shot(page, "home")

    for section, mine, theirs in (
        ("contracts", "C-AA-001", "C-BB-001"),
        ("devices", "Q2AA-AAAA-0001", "Q2BB-BBBB-0001"),
        ("rmas", f"RMA-{world.a.rma_id:06d}", f"RMA-{world.b.rma_id:06d}"),
        ("changes", "CR-AA-1", "CR-BB-1"),
    ):
        page.goto(f"/ui/portal/{section}")
        text = page.locator("main").inner_text()
        assert mine in text and theirs not in text and B not in text, section
    page.goto("/ui/portal/rmas")
    assert "¥66,000" in page.locator("main").inner_text()
    shot(page, "rmas")
    page.goto("/ui/portal/vpn-reports")
    listed = {int(x) for x in re.findall(r"/ui/portal/vpn-reports/(\d+)\"", page.content())}
    assert listed == {world.a.report_id, world.shared_report}

    page.goto("/ui/portal/")
    page.locator("ul.waiting a", has_text="SV-").click()
    page.wait_for_load_state()
    before = utcnow()
    shot(page, "sheet-to-approve")
    page.get_by_role("button", name=re.compile("承認する")).click()
    page.wait_for_load_state()
    assert page.get_by_role("status").count() == 1
    cell = page.locator("td.approval").first.inner_text()
    assert "asahi-taro" in cell
    shot(page, "sheet-approved")
    version = session.exec(
        select(SurveyVersion).where(SurveyVersion.survey_id == world.a.survey_id)
    ).one()
    session.refresh(version)
    assert (version.status, version.approver_name) == ("approved", "asahi-taro")
    assert version.approval_recorded_by == "customer:asahi-taro"
    assert version.approval_recorded_at is not None and version.approval_recorded_at >= before
    shown = version.approval_recorded_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
    assert shown in cell  # when, in Tokyo time
    assert page.get_by_role("button", name=re.compile("承認する")).count() == 0

    page.goto(f"/ui/portal/changes/{world.a.change_id}")
    shot(page, "change-to-answer")
    page.get_by_role("button", name="検収する").click()
    page.wait_for_load_state()
    assert "asahi-taro" in page.locator("dd.acceptance").inner_text()
    shot(page, "change-accepted")
    change = session.get(ChangeRequest, world.a.change_id)
    assert change is not None
    session.refresh(change)
    assert (change.status, change.accepted_by) == ("accepted", "asahi-taro")

    answer = page.goto(f"/ui/portal/changes/{world.b.change_id}")
    assert answer is not None and answer.status == 404
    assert B not in page.content()
    shot(page, "another-customers-change-404")

    phone = phone_page(me)
    phone.goto("/ui/portal/rmas")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360 + 1
    shot(phone, "phone-rmas")


def test_with_javascript_off_the_portal_reads_and_approves(
    world: TwoTenants,
    session: Session,
    web_account: Callable[..., tuple[str, str]],
    signed_in_page: Callable[..., Any],
) -> None:
    page = signed_in_page(
        web_account("customer", customer=B, name="hikari-hanako"), java_script_enabled=False
    )
    page.goto("/ui/portal/vpn-reports")
    links = page.locator("main a[href$='report.csv']")
    assert links.count() == 2  # B's own report and the shared one
    page.goto(f"/ui/portal/surveys/{world.b.survey_id}")
    page.get_by_role("button", name=re.compile("承認する")).click()
    page.wait_for_load_state()
    assert "hikari-hanako" in page.locator("td.approval").first.inner_text()
    page.goto("/ui/lang?to=en&next=/ui/portal/rmas")
    assert "Replacements (RMA)" in page.locator("h1").inner_text()

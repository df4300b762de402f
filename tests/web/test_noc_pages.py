"""The NOC pages without a browser: the queue, refusals shown on the change's page (four-eyes,
CSRF, a missing reason), one effect per form, the liveness page and its one-step RMA.

Rules (issue 12, docs/domain.md): the NOC and admins approve and operate changes; every staff role
reads (as over the API), customers have no NOC pages; who submitted a change never approves it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from changes.models import ChangeRequest, ChangeRequestEvent
from monitoring.models import Outage
from rma.models import Rma
from tests.api.test_monitoring_api import an_outage
from tests.service.rma_builders import FAILED, build_world
from tests.web.conftest import WebClient

FORM_KEY = re.compile(
    r'<form method="post" action="([^"]+)"[^>]*>\s*'
    r'<input type="hidden" name="csrf_token" value="[^"]*">\s*'
    r'<input type="hidden" name="form_key" value="([^"]+)">'
)


def a_request(session: Session, number: str, status: str, **fields: Any) -> ChangeRequest:
    row = ChangeRequest(
        number=number,
        customer=fields.pop("customer", "株式会社さくら商事"),
        site_name=fields.pop("site_name", "東京本社"),
        status=status,
        target="dashboard",
        notice_email="soumu@sakura.example.jp",
        sheet_filename="cr.yaml",
        sheet_original=b"",
        submitted_by=fields.pop("submitted_by", "field-sato"),
        **fields,
    )
    session.add(row)
    session.commit()
    return row


def forms_of(html: str) -> dict[str, str]:
    """Each form's action and its form key, as the page rendered them."""
    return {action: key for action, key in FORM_KEY.findall(html)}


def events(session: Session, request_id: int | None) -> list[str]:
    rows = session.exec(
        select(ChangeRequestEvent.action).where(ChangeRequestEvent.request_id == request_id)
    )
    return list(rows)


def test_the_queue_counts_each_stage_and_lists_its_requests(
    web_client: Callable[..., WebClient], session: Session
) -> None:
    now = datetime.now(UTC)
    a_request(session, "CR-A", "validated")
    a_request(session, "CR-B", "approved")
    a_request(session, "CR-C", "notified", acceptance_due_at=now + timedelta(days=2, hours=5))
    a_request(session, "CR-D", "accepted", customer="有限会社みどり設計")
    page = web_client("noc").get("/ui/noc/")
    assert page.status_code == 200
    counts = dict(
        re.findall(r'data-stage="([a-z_]+)">[^<]*<span class="count" data-count>(\d+)', page.text)
    )
    assert counts == {
        "submitted": "1", "approved": "1", "scheduled": "0", "applied": "0",
        "awaiting_acceptance": "1", "closed": "1",
    }  # fmt: skip
    waiting = web_client("viewer").get("/ui/noc/?stage=awaiting_acceptance")
    assert waiting.status_code == 200
    assert "CR-C" in waiting.text and "CR-A" not in waiting.text
    assert 'data-countdown="2d5h"' in waiting.text or 'data-countdown="2d4h"' in waiting.text
    assert "検収期限まで残り 2日" in waiting.text
    midori = web_client("noc").get("/ui/noc/", params={"customer": "有限会社みどり設計"})
    assert "CR-D" in midori.text and "CR-A" not in midori.text
    # every staff role reads changes over the API (Operation.READ); a customer never
    assert web_client("logistics").get("/ui/noc/").status_code == 200
    assert web_client("customer").get("/ui/noc/").status_code == 403


def test_four_eyes_refusal_is_shown_and_nothing_changes(
    web_client: Callable[..., WebClient], session: Session
) -> None:
    noc = web_client("noc")
    req = a_request(session, "CR-4E", "validated", submitted_by=noc.account)
    page = noc.get(f"/ui/noc/changes/{req.id}")
    key = forms_of(page.text)[f"/ui/noc/changes/{req.id}/approve"]
    refused = noc.post(f"/ui/noc/changes/{req.id}/approve", data={"form_key": key})
    assert refused.status_code == 403
    assert 'data-refusal="forbidden"' in refused.text and "four-eyes" in refused.text
    session.expire_all()
    assert session.get(ChangeRequest, req.id).status == "validated"  # type: ignore[union-attr]
    other = web_client("noc")
    key = forms_of(other.get(f"/ui/noc/changes/{req.id}").text)[f"/ui/noc/changes/{req.id}/approve"]
    done = other.post(
        f"/ui/noc/changes/{req.id}/approve", data={"form_key": key}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"].endswith("?done=approved")
    session.expire_all()
    assert session.get(ChangeRequest, req.id).approved_by == other.account  # type: ignore[union-attr]


def test_a_post_without_the_csrf_token_changes_nothing(
    web_client: Callable[..., WebClient], session: Session
) -> None:
    noc = web_client("noc")
    req = a_request(session, "CR-CSRF", "validated")
    key = forms_of(noc.get(f"/ui/noc/changes/{req.id}").text)[f"/ui/noc/changes/{req.id}/approve"]
    refused = noc.post(f"/ui/noc/changes/{req.id}/approve", data={"form_key": key}, csrf=False)
    assert refused.status_code == 403
    forged = noc.post(
        f"/ui/noc/changes/{req.id}/approve", data={"form_key": key, "csrf_token": "forged"},
        csrf=False,
    )  # fmt: skip
    assert forged.status_code == 403
    session.expire_all()
    assert session.get(ChangeRequest, req.id).status == "validated"  # type: ignore[union-attr]
    assert "approved" not in events(session, req.id)


def test_approve_posted_twice_approves_once(
    web_client: Callable[..., WebClient], session: Session
) -> None:
    noc = web_client("noc")
    req = a_request(session, "CR-2X", "validated")
    url = f"/ui/noc/changes/{req.id}/approve"
    key = forms_of(noc.get(f"/ui/noc/changes/{req.id}").text)[url]
    first = noc.post(url, data={"form_key": key}, follow_redirects=False)
    second = noc.post(url, data={"form_key": key}, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert second.headers["location"] == f"/ui/noc/changes/{req.id}"
    assert events(session, req.id).count("approved") == 1


def test_a_reject_without_reason_is_told_next_to_its_field(
    web_client: Callable[..., WebClient], session: Session
) -> None:
    noc = web_client("noc")
    req = a_request(session, "CR-R", "validated")
    url = f"/ui/noc/changes/{req.id}/reject"
    key = forms_of(noc.get(f"/ui/noc/changes/{req.id}").text)[url]
    refused = noc.post(url, data={"form_key": key, "reason": "  "})
    assert refused.status_code == 422
    assert 'id="f-reason-problems"' in refused.text
    again = noc.post(url, data={"form_key": key, "reason": "契約外の拠点"}, follow_redirects=False)
    assert again.status_code == 303  # the refused post did not use up the form
    session.expire_all()
    assert session.get(ChangeRequest, req.id).status == "rejected"  # type: ignore[union-attr]


def test_a_viewer_reads_a_change_but_is_offered_no_act(
    web_client: Callable[..., WebClient], session: Session
) -> None:
    req = a_request(session, "CR-V", "validated")
    viewer = web_client("viewer")
    page = viewer.get(f"/ui/noc/changes/{req.id}")
    assert page.status_code == 200 and "CR-V" in page.text
    assert forms_of(page.text) == {}
    refused = viewer.post(f"/ui/noc/changes/{req.id}/approve", data={"form_key": "k" * 16})
    assert refused.status_code == 403
    assert web_client("noc").get("/ui/noc/changes/999999").status_code == 404


def test_liveness_lists_outages_and_opens_an_rma_once(
    web_client: Callable[..., WebClient], session: Session, tmp_path: Path, sandbox: object
) -> None:
    build_world(session, tmp_path)
    outage_id = an_outage(session)
    noc = web_client("noc")
    page = noc.get("/ui/noc/liveness")
    assert page.status_code == 200 and FAILED in page.text and "停止中" in page.text
    url = f"/ui/noc/outages/{outage_id}/rma"
    key = forms_of(page.text)[url]
    opened = noc.post(url, data={"form_key": key, "reporter": "NOC 田中"}, follow_redirects=False)
    again = noc.post(url, data={"form_key": key, "reporter": "NOC 田中"}, follow_redirects=False)
    assert opened.status_code == again.status_code == 303
    assert again.headers["location"] == opened.headers["location"]
    [rma] = session.exec(select(Rma).where(Rma.failed_serial == FAILED)).all()
    assert rma.reporter == "NOC 田中" and rma.number in opened.headers["location"]
    session.expire_all()
    assert session.get(Outage, outage_id).rma_number == rma.number  # type: ignore[union-attr]
    shown = noc.get(opened.headers["location"])
    assert f"{rma.number} を起票しました" in shown.text
    assert web_client("viewer").post(url, data={"form_key": "x" * 16}).status_code == 403


def test_the_customers_acceptance_and_a_defect_as_the_noc_records_them(
    web_client: Callable[..., WebClient], session: Session
) -> None:
    due = datetime.now(UTC) + timedelta(days=5)
    noc = web_client("noc")
    accepted = a_request(session, "CR-ACC", "notified", acceptance_due_at=due)
    url = f"/ui/noc/changes/{accepted.id}/accept"
    key = forms_of(noc.get(f"/ui/noc/changes/{accepted.id}").text)[url]
    unsigned = noc.post(url, data={"form_key": key, "accepted_by": "", "evidence": ""})
    assert unsigned.status_code == 422  # who signed and where it is kept: both told
    assert 'id="f-accepted_by-problems"' in unsigned.text
    assert 'id="f-evidence-problems"' in unsigned.text
    signed = {"form_key": key, "accepted_by": "総務部 田中 花子", "evidence": "受領書 PDF"}
    assert noc.post(url, data=signed, follow_redirects=False).status_code == 303
    session.expire_all()
    row = session.get(ChangeRequest, accepted.id)
    assert row is not None and (row.status, row.accepted_by) == ("accepted", "総務部 田中 花子")

    defect = a_request(session, "CR-DEF", "notified", acceptance_due_at=due)
    url = f"/ui/noc/changes/{defect.id}/defect"
    key = forms_of(noc.get(f"/ui/noc/changes/{defect.id}").text)[url]
    told = {"form_key": key, "description": "来客用Wi-Fiがつながらない", "reported_by": "田中"}
    assert noc.post(url, data=told, follow_redirects=False).status_code == 303
    session.expire_all()
    row = session.get(ChangeRequest, defect.id)
    assert row is not None and (row.status, row.round) == ("reopened", 2)
    assert "来客用Wi-Fiがつながらない" in (row.defect or "")


def test_scheduling_outside_the_window_is_told_at_its_field(
    web_client: Callable[..., WebClient], session: Session
) -> None:
    noc = web_client("noc")
    req = a_request(session, "CR-WIN", "approved")
    url = f"/ui/noc/changes/{req.id}/schedule"
    key = forms_of(noc.get(f"/ui/noc/changes/{req.id}").text)[url]
    sunday = "2099-01-04T10:00"  # a Sunday: the operations window is Mon-Sat
    refused = noc.post(url, data={"form_key": key, "at": sunday})
    assert refused.status_code == 422
    assert 'id="f-at-problems"' in refused.text and "Sunday" in refused.text
    key = forms_of(refused.text)[url]  # the page shown again carries a fresh form
    emergency = {"form_key": key, "at": sunday, "emergency_reason": "本社移転当日のため"}
    assert noc.post(url, data=emergency, follow_redirects=False).status_code == 303
    session.expire_all()
    row = session.get(ChangeRequest, req.id)
    assert row is not None and row.status == "scheduled"
    assert row.scheduled_for == datetime(2099, 1, 4, 1, 0, tzinfo=UTC)  # 10:00 JST
    assert row.emergency_by == noc.account


def test_the_progress_stream_of_a_change_with_nothing_running_ends_at_once(
    web_client: Callable[..., WebClient], session: Session
) -> None:
    req = a_request(session, "CR-SSE", "validated")
    answer = web_client("viewer").get(f"/ui/noc/changes/{req.id}/progress")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert "event: done" in answer.text and 'data-request-status="validated"' in answer.text
    assert web_client("noc").get("/ui/noc/changes/999999/progress").status_code == 404


def test_the_queue_in_english_after_the_toggle(
    web_client: Callable[..., WebClient], session: Session
) -> None:
    a_request(session, "CR-EN", "scheduled", scheduled_for=datetime.now(UTC) + timedelta(days=1))
    noc = web_client("noc")
    assert "設定変更依頼キュー" in noc.get("/ui/noc/").text
    noc.get("/ui/lang", params={"to": "en", "next": "/ui/noc/"})
    page = noc.get("/ui/noc/?stage=scheduled")
    assert '<html lang="en">' in page.text
    assert "Change-request queue" in page.text and "Scheduled" in page.text
    assert "CR-EN" in page.text

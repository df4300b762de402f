"""Live progress of a provisioning job: an event per step as it completes and a final `done`,
read from the journal rows whichever process writes them; progress.js shows them in the page,
and without JavaScript a refresh link does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from provisioning.models import JobStep, ProvisioningJob
from tests.web import probe
from tests.web.conftest import WebServer, sign_in


def make_job(session: Session) -> int:
    job = ProvisioningJob(
        kind="apply",
        status="running",
        organization_id="537758",
        network_name="東京本社",
        site_plan="standard",
        sheet_kind="settings",
        sheet_digest="0" * 64,
        created_by="noc-1",
    )
    session.add(job)
    session.flush()
    assert job.id is not None
    for number, action in enumerate(["create network", "update VLANs", "verify"], start=1):
        session.add(JobStep(job_id=job.id, number=number, action=action, status="pending"))
    session.commit()
    return job.id


def advance(
    web_server: WebServer, job_id: int, number: int, step_status: str, job_status: str = ""
) -> None:
    """What the job's runner commits as it goes (here under the served session's lock)."""
    with web_server.db() as session:
        step = session.exec(
            select(JobStep).where(JobStep.job_id == job_id, JobStep.number == number)
        ).one()
        step.status = step_status
        if step_status == "failed":
            step.error = "the dashboard answered 400: VLAN 20 overlaps"
        session.add(step)
        if job_status:
            row = session.get(ProvisioningJob, job_id)
            assert row is not None
            row.status = job_status
            session.add(row)
        session.commit()


def later(*steps: Callable[[], None], pause: float = 0.4) -> threading.Thread:
    def run() -> None:
        for step in steps:
            time.sleep(pause)
            step()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def http_sign_in(client: httpx.Client, name: str, password: str) -> None:
    import re

    form = client.get("/ui/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token
    answer = client.post(
        "/ui/login", data={"name": name, "password": password, "login_token": token.group(1)}
    )
    assert answer.status_code == 303


def read_events(response: httpx.Response, limit: float = 20) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    event, data = "", []
    deadline = time.monotonic() + limit
    for line in response.iter_lines():
        assert time.monotonic() < deadline, events
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and event:
            events.append((event, "\n".join(data)))
            event, data = "", []
    return events


def test_the_stream_sends_each_completed_step_then_the_outcome(
    web_server: WebServer, web_account: Callable[..., tuple[str, str]], session: Session
) -> None:
    job_id = make_job(session)
    advance(web_server, job_id, 1, "done")  # done before anyone looks: sent at once
    with httpx.Client(base_url=web_server.url, timeout=10) as client:
        http_sign_in(client, *web_account("noc"))
        mover = later(
            lambda: advance(web_server, job_id, 2, "running"),
            lambda: advance(web_server, job_id, 2, "done"),
            lambda: advance(web_server, job_id, 3, "failed", "failed"),
        )
        with client.stream("GET", f"/ui/jobs/{job_id}/events") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events = read_events(response)
        mover.join(5)
    assert [name for name, _ in events] == ["step", "step", "step", "done"]
    assert ['id="job-step-1"' in d and 'data-status="done"' in d for _, d in events[:1]] == [True]
    assert 'id="job-step-2"' in events[1][1] and 'data-status="done"' in events[1][1]
    assert 'data-status="failed"' in events[2][1] and "VLAN 20 overlaps" in events[2][1]
    assert 'data-status="failed"' in events[3][1] and "失敗しました" in events[3][1]


def test_customers_and_strangers_get_no_stream(
    web_server: WebServer, web_account: Callable[..., tuple[str, str]], session: Session
) -> None:
    job_id = make_job(session)
    with httpx.Client(base_url=web_server.url, timeout=10) as client:
        assert client.get(f"/ui/jobs/{job_id}/events").status_code == 303  # to the login page
        http_sign_in(client, *web_account("customer"))
        assert client.get(f"/ui/jobs/{job_id}/events").status_code == 403
    with httpx.Client(base_url=web_server.url, timeout=10) as client:
        http_sign_in(client, *web_account("noc"))
        assert client.get(f"/ui/jobs/{job_id + 999}/events").status_code == 404


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_page_follows_the_job_live_or_offers_a_refresh(
    browser: Any,
    web_server: WebServer,
    web_account: Callable[..., tuple[str, str]],
    session: Session,
    shot: Callable[[Any, str], Any],
    javascript: bool,
) -> None:
    web_server.app.api.include_router(probe.router)
    job_id = make_job(session)
    context = browser.new_context(base_url=web_server.url, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        sign_in(page, *web_account("noc"))
        page.goto(f"/ui/probe/jobs/{job_id}")
        refresh = page.get_by_role("link", name="最新の状態を表示")
        assert refresh.is_visible()
        advance(web_server, job_id, 1, "done")
        advance(web_server, job_id, 2, "done")
        if javascript:
            page.locator("#job-step-2").wait_for()
            advance(web_server, job_id, 3, "done", "done")
            page.locator("[data-progress-outcome] [data-status=done]").wait_for()
            assert refresh.is_hidden()
        else:
            assert page.locator("#job-step-1").count() == 0  # nothing moves by itself
            refresh.click()
            page.locator("#job-step-2").wait_for()
        assert page.locator("[data-progress-steps] li").count() in (2, 3)
        shot(page, "progress")
    finally:
        context.close()

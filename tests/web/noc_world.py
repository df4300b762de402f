"""The NOC journeys' world: the demo on its own committed database (the journeys' fixture), the
whole app under uvicorn on it, NOC web accounts, and change requests submitted as the field
engineer submits them.

A committed database (not the test's rolled-back session) because the apply runs after the
answer in a session of its own while the page's event stream reads the journal concurrently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session

from api.app import create_app
from changes import service
from changes.models import ChangeRequest
from core.audit import Actor
from core.db import get_engine, session_scope
from core.keys import installation_key
from core.secret_store import set_secret
from core.settings import Settings
from tests.journeys import conftest as journeys
from tests.web.conftest import WebServer, served
from web import accounts

EXAMPLE = Path(__file__).resolve().parents[2] / "provisioning" / "examples" / "change_request.yaml"
FIELD = Actor(name="field-tanaka", role="field", request_id="noc-web-test")
ADMIN = Actor(name="test-web-admin", role="admin", request_id="noc-web-test")
NOTICE_TO = "soumu@sakura.example.jp"
SAKURA = "株式会社さくら商事"

# the journeys' fixtures (a test module takes them over by assignment)
clock = journeys.clock
migrated_sqlite = journeys.migrated_sqlite
migrated_postgresql = journeys.migrated_postgresql
journey_db = journeys.journey_db
journey = journeys.journey


@contextmanager
def serving(settings: Settings) -> Iterator[WebServer]:
    """The whole app on its own database, under uvicorn on a free loopback port."""
    with served(create_app(settings)) as server:
        yield server


def db(settings: Settings) -> Session:
    return Session(get_engine(settings.database_url), expire_on_commit=False)


def staff_account(settings: Settings, name: str, role: str = "noc") -> tuple[str, str]:
    password = f"pw-{name}-0123456789"
    with session_scope(get_engine(settings.database_url)) as session:
        accounts.create_account(
            session=session, actor=ADMIN, name=name, password=password, role=role
        )
    return name, password


def submitted(settings: Settings, content: bytes, filename: str = "cr.yaml") -> ChangeRequest:
    """A change request as the field engineer submits it over the API (no env: references)."""
    with session_scope(get_engine(settings.database_url)) as session:
        from core import secret_store

        req = service.submit_request(
            session=session, actor=FIELD, filename=filename, content=content,
            notice_email=NOTICE_TO, now=journeys.START, allow_env=False,
            secrets=secret_store.lookup(session, installation_key(settings).fernet()),
        )  # fmt: skip
        assert (req.status, req.problems) == ("validated", []), req.problems
        return req


def store_secret(settings: Settings, name: str, value: str) -> None:
    with session_scope(get_engine(settings.database_url)) as session:
        set_secret(
            session=session, actor=ADMIN, cipher=installation_key(settings).fernet(),
            customer=SAKURA, name=name, value=value, now=journeys.START,
        )  # fmt: skip


def value_of(page: Any, selector: str) -> str:
    found: str = page.locator(selector).first.get_attribute("value")
    return found


@dataclass
class StreamLog:
    """What an SSE stream delivered: each event's name and the job's status when it arrived."""

    events: list[tuple[str, str | None]] = field(default_factory=list)
    error: BaseException | None = None


def listen(
    url: str, cookies: dict[str, str], job_status: Callable[[], str | None]
) -> tuple[threading.Thread, StreamLog]:
    """Follow a server-sent event stream in a thread until its `done` event."""
    log = StreamLog()

    def run() -> None:
        try:
            with httpx.stream("GET", url, cookies=cookies, timeout=120) as answer:
                assert answer.status_code == 200, answer.status_code
                for line in answer.iter_lines():
                    if line.startswith("event: "):
                        name = line.removeprefix("event: ")
                        log.events.append((name, job_status()))
                        if name == "done":
                            return
        except BaseException as exc:  # reported by the test
            log.error = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, log

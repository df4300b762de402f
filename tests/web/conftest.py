"""Fixtures of the /ui page tests: the app under uvicorn, Playwright on Debian's chromium,
accounts, signed-in pages and clients, screenshots.

- `web_server`: the real app on a free loopback port, inside the test's rolled-back transaction
  (both databases, through `database_url`), the dashboard pointed at the sandbox;
- `browser` (one per test module): Playwright's chromium from /usr/bin/chromium;
- `web_account(role, customer=None) -> (name, password)`;
- `signed_in_page(role | (name, password))` and `phone_page(...)` (360×740, touch): a Playwright
  page signed in through the login form;
- `shot(page, name)`: var/test-artifacts/screenshots/<test>-<name>.png;
- `web_client(role | (name, password))`: a signed-in TestClient that fills `csrf_token` in posted
  forms (`csrf=False` leaves it out) — for fast tests without a browser.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.app import create_app
from core.audit import Actor
from core.settings import Settings
from sandbox.server import SandboxServer, bind_socket, uvicorn_config
from tests.conftest import SessionReadPath
from web import accounts

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "screenshots"
WEB_ADMIN = Actor(name="test-web-admin", role="admin", request_id="web-test")
Who = str | tuple[str, str]


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with a small cost: the product's (64 MiB, 3 passes) takes ~0.7 s a hash here."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )


class SharedSession:
    """The test's session handed to one request at a time (uvicorn serves on several threads)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.lock = threading.Lock()  # released by whichever thread ends the request

    @contextmanager
    def __call__(self) -> Iterator[Session]:
        if not self.lock.acquire(timeout=30):
            raise RuntimeError("the test's session was held by another request for 30 s")
        try:
            yield self.session
        finally:
            self.lock.release()


@pytest.fixture
def web_settings(settings: Settings, sandbox: SandboxServer) -> Settings:
    return settings.model_copy(
        update={
            "meraki_base_url": sandbox.base_url,
            "meraki_api_key": SecretStr(sandbox.api_key),
        }
    )


@pytest.fixture
def web_app(web_settings: Settings, engine: Engine, session: Session) -> Any:
    """The whole app (API and pages) inside the test's transaction."""
    app = create_app(web_settings, engine)
    inner = app.api
    inner.state.session_factory = SharedSession(session)
    inner.state.read_path = SessionReadPath(session)
    return app


@dataclass
class WebServer:
    url: str
    app: Any

    def db(self) -> Any:
        """`with web_server.db() as session:` the test's session while no request holds it
        (needed while the server may be serving, e.g. behind an open event stream)."""
        return self.app.api.state.session_factory()


@contextmanager
def served(app: Any) -> Iterator[WebServer]:
    """`app` under uvicorn on a free loopback port, stopped on leaving."""
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "netkeep did not start"
        time.sleep(0.01)
    try:
        yield WebServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def web_server(web_app: Any) -> Iterator[WebServer]:
    """The app under uvicorn on a free loopback port, stopped after the test."""
    with served(web_app) as server:
        yield server


@pytest.fixture
def web_account(session: Session) -> Callable[..., tuple[str, str]]:
    """`web_account(role, customer=None, name=None)` → (name, password), committed."""

    def make(role: str, customer: str | None = None, name: str | None = None) -> tuple[str, str]:
        name = name or f"{role}-{secrets.token_hex(3)}"
        password = secrets.token_urlsafe(12)
        accounts.create_account(
            session=session,
            actor=WEB_ADMIN,
            name=name,
            password=password,
            role=role,
            customer=customer or ("Sample Customer" if role == "customer" else None),
        )
        session.commit()  # a savepoint of the test's transaction
        return name, password

    return make


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium per test module (Debian's, never a downloaded one).

    Not one per session: Playwright's sync API keeps its event loop set on the thread while it
    runs, so a later test on the same xdist worker calling `asyncio.run` would fail ("cannot be
    called from a running event loop"). Pytest tears a module's fixtures down before the next
    module's first test, so the loop never outlives the page tests.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _credentials(who: Who, web_account: Callable[..., tuple[str, str]]) -> tuple[str, str]:
    return who if isinstance(who, tuple) else web_account(who)


def sign_in(page: Any, name: str, password: str) -> None:
    """Through the login form, as a person would."""
    page.goto("/ui/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("form[action='/ui/login'] button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def signed_in_page(
    browser: Any, web_server: WebServer, web_account: Callable[..., tuple[str, str]]
) -> Iterator[Callable[..., Any]]:
    """`signed_in_page(role | (name, password), **context_options)` → a signed-in page."""
    contexts: list[Any] = []

    def make(who: Who, **options: Any) -> Any:
        name, password = _credentials(who, web_account)
        context = browser.new_context(base_url=web_server.url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        sign_in(page, name, password)
        assert "/ui/login" not in page.url, f"{name} could not sign in"
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def phone_page(signed_in_page: Callable[..., Any]) -> Callable[..., Any]:
    """`phone_page(role | (name, password))`: signed in on a 360×740 touch screen."""

    def make(who: Who) -> Any:
        return signed_in_page(
            who, viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True
        )

    return make


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """`shot(page, name)`: a full-page screenshot kept under var/test-artifacts/screenshots."""

    def take(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        path = SCREENSHOTS / f"{test}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')
LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]*)"')


class WebClient(TestClient):
    """A TestClient signed in as one account; posts carry its CSRF token unless `csrf=False`."""

    csrf_token: str = ""
    account: str = ""

    def post(self, url: Any, *args: Any, csrf: bool = True, **kwargs: Any) -> Any:  # type: ignore[override]
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)):
            kwargs["data"] = {"csrf_token": self.csrf_token, **(data or {})}
        return super().post(url, *args, **kwargs)


def client_sign_in(client: TestClient, name: str, password: str) -> Any:
    form = client.get("/ui/login")
    found = LOGIN_TOKEN.search(form.text)
    assert found, form.text
    return TestClient.post(
        client,
        "/ui/login",
        data={"name": name, "password": password, "login_token": found.group(1)},
        follow_redirects=False,
    )


@pytest.fixture
def web_client(
    web_app: Any, web_account: Callable[..., tuple[str, str]]
) -> Iterator[Callable[..., WebClient]]:
    """`web_client(role | (name, password))` → a signed-in WebClient (no browser)."""
    clients: list[WebClient] = []

    def make(who: Who) -> WebClient:
        name, password = _credentials(who, web_account)
        client = WebClient(web_app)
        client.__enter__()
        clients.append(client)
        answer = client_sign_in(client, name, password)
        assert answer.status_code == 303, answer.text
        home = client.get(answer.headers["location"])
        found = CSRF_META.search(home.text)
        assert found and found.group(1), home.text
        client.csrf_token = found.group(1)
        client.account = name
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)

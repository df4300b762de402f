"""An app with chosen limits, inside the test's rolled-back transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.app import create_app
from core.settings import Settings
from tests.conftest import SessionReadPath

ClientFactory = Callable[..., TestClient]


@pytest.fixture
def client_with(settings: Settings, engine: Engine, session: Session) -> Iterator[ClientFactory]:
    """`client_with(max_body_bytes=2000, ...)`: a TestClient of an app built with those settings."""
    opened: list[TestClient] = []

    def build(**overrides: Any) -> TestClient:
        app = create_app(settings.model_copy(update=overrides), engine)
        app.state.session_factory = lambda: nullcontext(session)
        app.state.read_path = SessionReadPath(session)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield build
    for client in opened:
        client.__exit__(None, None, None)

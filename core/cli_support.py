"""What every CLI command shares: settings, a session, the acting user, output, error mapping."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from sqlmodel import Session

from core.audit import Actor
from core.db import get_engine, session_scope
from core.errors import DomainError, ValidationFailed
from core.migrate import require_current
from core.settings import Settings, get_settings

P = ParamSpec("P")
T = TypeVar("T")

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def cli_actor() -> Actor:
    """The person at the terminal: NETKEEP_ACTOR or the OS user; the local CLI acts as admin."""
    name = os.environ.get("NETKEEP_ACTOR") or f"cli:{getpass.getuser()}"
    return Actor(name=name, role="admin")


def settings() -> Settings:
    return get_settings()


_checked: set[str] = set()


@contextmanager
def cli_session() -> Iterator[Session]:
    """A session committed when the command succeeds, on a schema that is up to date."""
    url = settings().database_url
    engine = get_engine(url)
    if url not in _checked:
        require_current(engine)
        _checked.add(url)
    with session_scope(engine) as session:
        yield session


def emit_json(value: Any) -> None:
    """Print JSON (pydantic models, lists of them, or plain data) on stdout."""

    def plain(v: Any) -> Any:
        if isinstance(v, BaseModel):
            return v.model_dump(mode="json")
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    sys.stdout.write(json.dumps(plain(value), ensure_ascii=False, indent=2, default=str) + "\n")


def handle_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Turn a DomainError into a message on stderr and its exit code."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except ValidationFailed as exc:
            err_console.print(f"[red]error:[/red] {exc.message}")
            for problem in exc.problems:
                err_console.print(f"  - {problem}", markup=False)
            raise typer.Exit(exc.exit_code) from None
        except DomainError as exc:
            err_console.print(f"[red]error:[/red] {exc.message}", markup=True, highlight=False)
            raise typer.Exit(exc.exit_code) from None

    return wrapper

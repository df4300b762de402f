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
from rich.errors import MarkupError
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.audit import Actor
from core.db import get_engine, session_scope
from core.errors import DomainError, ValidationFailed
from core.migrate import require_current
from core.settings import Settings, following_demo, get_settings

P = ParamSpec("P")
T = TypeVar("T")


def _plain(cell: Any) -> str:
    """A table cell as one line of plain text (markup rendered away, tabs and newlines spaced)."""
    if isinstance(cell, Text):
        text = cell.plain
    elif isinstance(cell, str):
        try:
            text = Text.from_markup(cell).plain
        except MarkupError:
            text = cell
    else:
        text = str(cell)
    return " ".join(text.replace("\t", " ").splitlines())


def table_tsv(table: Table) -> str:
    """A Rich table as tab-separated lines: an optional `# title`, the header, every row whole."""
    lines = [f"# {_plain(table.title)}"] if table.title else []
    lines.append("\t".join(_plain(column.header) for column in table.columns))
    columns = [list(column.cells) for column in table.columns]
    lines.extend("\t".join(_plain(cell) for cell in row) for row in zip(*columns, strict=True))
    return "\n".join(lines) + "\n"


class CliConsole(Console):
    """Rich on a terminal; piped or logged, a table prints as TSV so no value is cut short."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if self.is_terminal or not any(isinstance(o, Table) for o in objects):
            super().print(*objects, **kwargs)
            return
        for item in objects:
            if isinstance(item, Table):
                self.file.write(table_tsv(item))
            else:
                super().print(item, **kwargs)


console = CliConsole(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def note(text: str) -> None:
    """A line for the person, not the data: on stdout at a terminal, on stderr when piped."""
    (console if console.is_terminal else err_console).print(text, highlight=False)


def cli_actor() -> Actor:
    """The person at the terminal: NETKEEP_ACTOR or the OS user; the local CLI acts as admin."""
    name = os.environ.get("NETKEEP_ACTOR") or f"cli:{getpass.getuser()}"
    return Actor(name=name, role="admin")


def settings() -> Settings:
    """The process's settings, pointed at a running `netkeep demo` unless they say otherwise."""
    return following_demo(get_settings())


_checked: set[str] = set()


def cli_engine() -> Engine:
    """The database's engine, its schema checked up to date (once per process)."""
    url = settings().database_url
    engine = get_engine(url)
    if url not in _checked:
        require_current(engine)
        _checked.add(url)
    return engine


@contextmanager
def cli_session() -> Iterator[Session]:
    """A session committed when the command succeeds, on a schema that is up to date."""
    with session_scope(cli_engine()) as session:
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

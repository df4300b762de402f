"""Running Alembic migrations from netkeep (the CLI, the demo, serve, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

import migrations
from core.errors import SchemaOutdated

ROOT = Path(migrations.__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at `database_url` to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


def current(database_url: str) -> None:
    command.current(alembic_config(database_url), verbose=False)


def pending(engine: Engine) -> tuple[str | None, str | None]:
    """The database's revision and the code's head, when they differ; else (None, None)."""
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    head = script.get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return (None, None) if current == head else (current, head)


def require_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is behind the code."""
    current, head = pending(engine)
    if head is not None:
        raise SchemaOutdated(
            f"the database schema is at {current or 'nothing'}, netkeep needs {head}: "
            "run `netkeep db upgrade`",
            current=current,
            head=head,
        )

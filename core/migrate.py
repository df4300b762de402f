"""Running Alembic migrations from netkeep (the CLI, the demo, serve, tests)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

import migrations
from core.errors import SchemaOutdated

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only where it runs (it costs half a second of every CLI command otherwise).
ROOT = Path(migrations.__file__).resolve().parent
_REVISION = re.compile(r"^(down_revision|revision)\b[^=]*=\s*['\"]?([\w-]+|None)['\"]?", re.M)


JOB_ENGINE_PREFIX = "procrastinate_"
"""The worker engine's own tables on PostgreSQL (revision 0010_jobs); not netkeep's models."""


def netkeep_owns(name: str | None, type_: str, parent_names: Mapping[Any, str | None]) -> bool:
    """Alembic's `include_name`: compare netkeep's tables, leave the job engine's alone."""
    return not (type_ == "table" and (name or "").startswith(JOB_ENGINE_PREFIX))


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ROOT))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at `database_url` to `revision`."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def current(database_url: str) -> None:
    from alembic import command

    command.current(alembic_config(database_url), verbose=False)


def pending(engine: Engine) -> tuple[str | None, str | None]:
    """The database's revision and the code's head, when they differ; else (None, None)."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    head = script.get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return (None, None) if current == head else (current, head)


def head_from_files() -> str | None:
    """The one head revision, read from the migration files without Alembic; None if unclear."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (ROOT / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = {m.group(1): m.group(2) for m in _REVISION.finditer(source)}
        if "revision" in found:
            revisions.add(found["revision"])
            parents.add(found.get("down_revision") or "None")
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _stored_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


def require_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is behind the code."""
    head = head_from_files()
    if head is not None and _stored_revision(engine) == head:
        return  # the everyday case, answered without importing Alembic
    current, head = pending(engine)
    if head is not None:
        raise SchemaOutdated(
            f"the database schema is at {current or 'nothing'}, netkeep needs {head}: "
            "run `netkeep db upgrade`",
            current=current,
            head=head,
        )

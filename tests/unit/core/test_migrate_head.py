"""The CLI's quick schema check reads the head revision from the files, as Alembic does."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from core import migrate


def test_the_head_read_from_the_files_is_alembics() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert migrate.head_from_files() == script.get_current_head()

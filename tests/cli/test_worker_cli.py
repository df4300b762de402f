"""`netkeep worker` needs PostgreSQL; on SQLite it says where the jobs run instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.errors import ValidationFailed
from core.settings import get_settings
from netkeep.cli import app


def test_worker_on_sqlite_refuses_and_points_at_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETKEEP_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["worker", "--concurrency", "2"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "netkeep serve" in result.output


def test_a_wrong_schedule_is_refused_with_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs.catalogue import schedule

    monkeypatch.chdir(tmp_path)
    from core.settings import Settings

    wrong = {"rma.sweeep": "* * * * *", "doctor.check": "every hour"}
    cfg = Settings(job_schedule=wrong, _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationFailed) as refused:
        schedule(cfg)
    assert [p.location for p in refused.value.problems] == [
        "NETKEEP_JOB_SCHEDULE.doctor.check",
        "NETKEEP_JOB_SCHEDULE.rma.sweeep",
    ]
    lines = schedule(Settings(job_schedule={"doctor.check": "0 3 * * *"}, _env_file=None))  # type: ignore[call-arg]
    assert lines == {
        "rma.sweep": "7 * * * *",
        "rma.reminders": "12 * * * *",
        "changes.auto_accept": "*/5 * * * *",
        "changes.resume_applies": "* * * * *",
        "doctor.check": "0 3 * * *",
        "helpdesk.auto_close": "20 * * * *",
        "monitor.poll": "* * * * *",
        "monitor.notices": "* * * * *",
        "jobs.retry_stalled": "* * * * *",
        "jobs.prune_finished": "17 4 * * *",
    }

"""Where a running `netkeep demo` serves, so the CLI finds it on whatever ports it took.

`netkeep demo` writes `var_dir/demo.json` (sandbox URL, API URL, SMTP sink, database, pid) once
its servers are up and removes it when it stops. The CLI's settings take the sandbox URL and the
mail sink from it when the environment (or `.env`) does not set them and the recorded process is
still alive; a file left by a killed demo is ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FILE_NAME = "demo.json"


@dataclass(frozen=True, slots=True)
class DemoState:
    pid: int
    database_url: str
    api_url: str
    sandbox_url: str | None
    smtp_host: str | None
    smtp_port: int | None


def state_path(var_dir: Path) -> Path:
    return var_dir / FILE_NAME


def write_state(var_dir: Path, state: DemoState) -> Path:
    """Record where the demo runs (written whole, then renamed, so a reader never sees half)."""
    path = state_path(var_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def remove_state(var_dir: Path, pid: int) -> None:
    """Forget the record if it is this process's (a newer demo may have replaced it)."""
    path = state_path(var_dir)
    state = _read(path)
    if state is not None and state.pid == pid:
        path.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists (ours or another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_state(var_dir: Path) -> DemoState | None:
    """The running demo's record, or None when there is none or its process has gone."""
    state = _read(state_path(var_dir))
    if state is None or not pid_alive(state.pid):
        return None
    return state


def _read(path: Path) -> DemoState | None:
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        return DemoState(
            pid=int(raw["pid"]),
            database_url=str(raw["database_url"]),
            api_url=str(raw["api_url"]),
            sandbox_url=_optional_str(raw.get("sandbox_url")),
            smtp_host=_optional_str(raw.get("smtp_host")),
            smtp_port=int(raw["smtp_port"]) if raw.get("smtp_port") is not None else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)

"""netkeep's own record of the secrets it set: fingerprints per network, outside the database.

A plan compares a sheet's secret with this record, never with the clear value the dashboard
returns, so planning cannot test guesses of a live PSK: it says "set" or "unchanged since
netkeep set it". The file holds keyed fingerprints only (the key is the installation's), mode
0600; writes are atomic and serialised across processes by a lock file.
"""

from __future__ import annotations

import fcntl
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from core.keys import private_file, write_private
from provisioning.secret_diff import secret_values


class SecretRecord(Protocol):
    def recorded(self, scope: str) -> dict[str, str]: ...

    def remember(self, scope: str, fingerprints: Mapping[str, str]) -> None: ...

    def remember_many(self, scopes: Mapping[str, Mapping[str, str]]) -> None:
        """Many networks' fingerprints in one write (a rollout's organization)."""
        ...


def scope_of(organization_id: str, network_id: str) -> str:
    return f"{organization_id}/{network_id}"


class MemoryRecord:
    """A record held in memory (tests, benchmarks, one-off tools)."""

    def __init__(self) -> None:
        self._scopes: dict[str, dict[str, str]] = {}

    def recorded(self, scope: str) -> dict[str, str]:
        return dict(self._scopes.get(scope, {}))

    def remember(self, scope: str, fingerprints: Mapping[str, str]) -> None:
        self.remember_many({scope: fingerprints})

    def remember_many(self, scopes: Mapping[str, Mapping[str, str]]) -> None:
        for scope, fingerprints in scopes.items():
            self._scopes.setdefault(scope, {}).update(fingerprints)


class FileRecord:
    """The record in a private JSON file shared by every netkeep process of the installation."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")
        self._thread_lock = threading.Lock()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        private_file(self._lock_path)
        with self._thread_lock, self._lock_path.open("r+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        data: Any = json.loads(text) if text.strip() else {}
        return data if isinstance(data, dict) else {}

    def recorded(self, scope: str) -> dict[str, str]:
        with self._locked():
            return dict(self._read().get(scope, {}))

    def remember(self, scope: str, fingerprints: Mapping[str, str]) -> None:
        self.remember_many({scope: fingerprints})

    def remember_many(self, scopes: Mapping[str, Mapping[str, str]]) -> None:
        """One locked read and one atomic write (one fsync) for every scope given."""
        scopes = {scope: fps for scope, fps in scopes.items() if fps}
        if not scopes:
            return
        with self._locked():
            data = self._read()
            for scope, fingerprints in scopes.items():
                data.setdefault(scope, {}).update(fingerprints)
            text = json.dumps(data, sort_keys=True, ensure_ascii=False, indent=1)
            write_private(self.path, text.encode("utf-8"))


def remember_job_secrets(
    record: SecretRecord | None,
    *,
    organization_id: str,
    network_id: str | None,
    desired: Mapping[str, Any],
    done: bool,
) -> None:
    """After a job is done, the fingerprints of the secrets it set become the record."""
    if record is None or not done or network_id is None:
        return
    record.remember(scope_of(organization_id, network_id), secret_values(desired))

"""Claims held by a live process: work that must run in one place at a time, taken over as
soon as the process holding it dies.

A journalled apply (a provisioning job, a change request's apply) is committed step by step, so
no transaction spans it and no row lock can guard it. What guards it is held outside any
transaction and ends with its holder, however it ends (returned, raised, SIGKILL, a lost host):

- PostgreSQL: a session advisory lock per key (`pg_try_advisory_lock`) on a connection of its
  own, detached from the pool. The server drops it when that connection closes, which the death
  of the process does. Keys carry the connection's schema (`current_schema()`), so two
  installations sharing a database do not claim each other's work.
- SQLite: an exclusive POSIX record lock per key, one byte of one file beside the database
  (`<db>.claims.lock`, at an offset hashed from the key), which the kernel drops with the
  process; the file stays open for the process's life (closing any descriptor of it would drop
  all of the process's locks on it), and a forked child inherits none. Threads of one process
  do not exclude each other by POSIX locks: a registry of this process does (it alone serves
  an in-memory database, which has one process only).

`try_claim` never waits: work already held is refused at once (the caller answers 409, or
leaves it to the one that holds it).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Engine

from core.errors import Conflict

_LOCAL: set[tuple[str, str]] = set()
_LOCAL_LOCK = threading.Lock()


class ClaimHeld(Conflict):
    """The work is held by another process (or another thread of this one)."""

    code = "claim_held"


def _key64(scope: str, key: str) -> int:
    digest = hashlib.blake2b(f"{scope}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class ProcessClaim:
    """Keys held until `release` (or this process's end). Use `try_claim` to get one."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = tuple(keys)
        self._release: list[Any] = []

    def release(self) -> None:
        """Let the keys go (idempotent)."""
        undo, self._release = self._release, []
        for step in reversed(undo):
            step()

    def __enter__(self) -> ProcessClaim:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def try_claim(engine: Engine, keys: Sequence[str]) -> ProcessClaim | None:
    """Hold every key now, or none (None: some key is held elsewhere, here or in another
    process)."""
    claim = ProcessClaim(sorted(set(keys)))
    try:
        held = (
            _claim_postgres(engine, claim)
            if engine.dialect.name == "postgresql"
            else _claim_sqlite(engine, claim)
        )
    except BaseException:
        claim.release()
        raise
    if not held:
        claim.release()
        return None
    return claim


@contextmanager
def claimed(engine: Engine, keys: Sequence[str], refusal: str) -> Iterator[ProcessClaim]:
    """Hold the keys for the block; ClaimHeld(`refusal`) when another holds one of them."""
    claim = try_claim(engine, keys)
    if claim is None:
        raise ClaimHeld(refusal)
    with claim:
        yield claim


def _claim_postgres(engine: Engine, claim: ProcessClaim) -> bool:
    raw = engine.raw_connection()
    raw.detach()  # closed, not pooled, when released: the locks end with the connection
    claim._release.append(raw.close)
    cursor = raw.cursor()
    try:
        # A holder on a lost host (no FIN sent) is noticed in about a minute, not two hours.
        for name, value in (("idle", 30), ("interval", 10), ("count", 3)):
            cursor.execute(f"SET tcp_keepalives_{name} = {value}")
        cursor.execute("SELECT current_schema()")
        row = cursor.fetchone()
        scope = f"{engine.url.database}.{row[0] if row else ''}"
        # every key in one round trip (a rollout holds a job each); any not got: the connection
        # closes on release, and the keys that were got go with it
        keys = [_key64(scope, key) for key in claim.keys]
        if not keys:
            return True
        cursor.execute(
            "SELECT bool_and(pg_try_advisory_lock(k)) FROM unnest(%s::bigint[]) AS k", (keys,)
        )
        got = cursor.fetchone()
        if not (got and got[0]):
            return False
    finally:
        cursor.close()
        raw.commit()  # session locks outlive the transaction; none is left open
    return True


def _claim_sqlite(engine: Engine, claim: ProcessClaim) -> bool:
    database = engine.url.database or ""
    in_memory = not database or database == ":memory:"
    scope = f"mem:{id(engine)}" if in_memory else os.path.realpath(database)
    fd = None if in_memory else _claims_file(scope)
    for key in claim.keys:
        with _LOCAL_LOCK:
            if (scope, key) in _LOCAL:
                return False
            _LOCAL.add((scope, key))
        claim._release.append(lambda k=(scope, key): _drop_local(k))
        if fd is None:
            continue
        offset = _offset(key)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EAGAIN):  # another process holds it
                return False
            raise
        # undone before the registry entry: no other thread re-takes the byte meanwhile
        claim._release.append(lambda at=offset: fcntl.lockf(fd, fcntl.LOCK_UN, 1, at))
    return True


_FILES: dict[str, int] = {}
"""Each SQLite database's claims file, open until the process ends."""


def _claims_file(scope: str) -> int:
    with _LOCAL_LOCK:
        fd = _FILES.get(scope)
        if fd is None:
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            fd = _FILES[scope] = os.open(f"{scope}.claims.lock", flags, 0o600)
        return fd


def _offset(key: str) -> int:
    """The byte of the claims file a key locks (62 bits of its hash: the file never grows)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") >> 2


def _drop_local(key: tuple[str, str]) -> None:
    with _LOCAL_LOCK:
        _LOCAL.discard(key)

"""A claim held by a process that is SIGKILLed is free the moment the process is gone.

The crash test resumes a rollout right after `kill -9`: nothing may keep the dead process's
claim alive (no PID file to age out, no start time to compare, no child inheriting the lock).
On SQLite the claim is a POSIX record lock on one byte of one file, which the kernel drops with
the process.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine

from core.process_claims import try_claim
from tests.conftest import PG_URL

HOLDER = """
import sys, time
from sqlalchemy import create_engine
from core.process_claims import try_claim
claim = try_claim(create_engine(sys.argv[1]), ["provisioning-job:7"])
print("held" if claim else "refused", flush=True)
time.sleep(600)
"""


def test_a_killed_holders_claim_is_taken_at_once_and_a_live_ones_is_refused(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        engine = create_engine(url)
        assert try_claim(engine, ["provisioning-job:7"]) is None  # alive: refused
        other = try_claim(engine, ["provisioning-job:8"])  # another job: free
        assert other is not None
        other.release()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        claim = try_claim(engine, ["provisioning-job:7"])  # no wait, no retry
        assert claim is not None
        claim.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


HOLDS_TWO = """
import sys
from sqlalchemy import create_engine
from core.process_claims import try_claim
engine = create_engine(sys.argv[1])
first = try_claim(engine, ["provisioning-job:1"])
second = try_claim(engine, ["provisioning-job:2"])
print("held" if first and second else "refused", flush=True)
sys.stdin.readline()
first.release()
print("released", flush=True)
sys.stdin.readline()
"""


def test_letting_one_claim_go_keeps_the_processs_others(tmp_path: Path) -> None:
    """Rule: a process that ends one of its holds still holds the others (POSIX record locks
    all end when the process closes any descriptor of their file: it must not)."""
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDS_TWO, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdin is not None and holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        engine = create_engine(url)
        assert try_claim(engine, ["provisioning-job:1"]) is None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
        first = try_claim(engine, ["provisioning-job:1"])  # let go: free
        assert first is not None
        first.release()
        assert try_claim(engine, ["provisioning-job:2"]) is None  # still held
    finally:
        holder.kill()
        holder.wait()


def test_claims_of_any_number_of_jobs_leave_one_file_beside_the_database(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'claims.db'}")
    for start in range(0, 600, 200):
        claim = try_claim(engine, [f"provisioning-job:{i}" for i in range(start, start + 200)])
        assert claim is not None
        claim.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.db.claims.lock"]


def test_on_postgresql_a_claim_of_many_keys_holds_all_or_none() -> None:
    """Rule: a run claims all its jobs or none; a refused claim keeps none of its keys."""
    engine = create_engine(PG_URL)
    try:
        held = try_claim(engine, ["claims-test:a", "claims-test:b"])
        assert held is not None
        try:
            assert try_claim(engine, ["claims-test:b", "claims-test:c"]) is None
            free = try_claim(engine, ["claims-test:c"])  # the refused one kept none
            assert free is not None
            free.release()
            empty = try_claim(engine, [])  # nothing to hold: held at once
            assert empty is not None
            empty.release()
        finally:
            held.release()
        again = try_claim(engine, ["claims-test:a", "claims-test:b"])
        assert again is not None
        again.release()
    finally:
        engine.dispose()

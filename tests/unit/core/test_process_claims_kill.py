"""A claim held by a process that is SIGKILLed is free the moment the process is gone.

The crash test resumes a rollout right after `kill -9`: nothing may keep the dead process's
claim alive (no PID file to age out, no start time to compare, no child inheriting the lock).
On SQLite the claim is an flock the kernel drops with the last descriptor of the process.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine

from core.process_claims import try_claim

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

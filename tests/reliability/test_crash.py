"""Crash: `netkeep apply` SIGKILLed at seeded points of a rollout, then resumed as the README says.

Reuses bench/rollout_kill.py: a sandbox process (10 requests/s per organization), sheets written
to files, `netkeep apply SHEETS --yes --json` killed with SIGKILL once the sandbox has counted N
calls, then `netkeep apply SHEETS --rollout R --yes` (or the same apply again when nothing was
journalled). Each point gets a fresh organization. Converged: the resume exits 0, every job is
done, each network exists once and planning every sheet again finds nothing to change. The kill
points are drawn by random.Random(NETKEEP_KILL_SEED) and reported. Short form: 1 point of a
2-sheet rollout; full form: 12 points of a 4-sheet rollout.
"""

from __future__ import annotations

import argparse
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bench.provisioning import start_sandbox, utm_sheet, wireless_sheet
from bench.rollout_kill import one_point
from core import migrate
from core.db import make_engine
from core.timeutil import utcnow
from inventory import importer
from inventory.catalogue_defaults import seed_catalogue
from tests.conftest import ADMIN
from tests.service.helpers import HEADER

TAGS = "ZABCDEFGHJKLMNPRSTUVWXY"  # bench.rollout_kill: point p's serials carry TAGS[p + 1]

SEED = int(os.environ.get("NETKEEP_KILL_SEED", "20261206"))


def stock(db_url: str, folder: Path, sheets: int, points: int) -> None:
    """The units of every point's sheets in stock (apply checks the inventory first)."""
    rows = []
    for tag in TAGS[: points + 1]:
        for i in range(sheets):
            sheet = utm_sheet(tag, i) if i % 2 == 0 else wireless_sheet(tag, i)
            rows += [f"{d.serial},{d.model},,in_stock,,,,,,,,\n" for d in sheet.devices or []]
    path = folder / "units.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    engine = make_engine(db_url)
    with Session(engine) as session:
        seed_catalogue(session=session, actor=ADMIN)
        session.flush()
        report = importer.import_devices(
            session=session, actor=ADMIN, path=path, now=utcnow(), commit=True
        )
        session.commit()
    engine.dispose()
    assert len(report.created) == len(rows)


def test_kill_9_at_seeded_points_then_resume_converges(
    tmp_path: Path, full: bool, figure: Callable[[str, Any], None]
) -> None:
    args = argparse.Namespace(sheets=4 if full else 2)
    wanted = 12 if full else 1
    proc, root = start_sandbox()
    try:
        db_url = f"sqlite:///{tmp_path / 'netkeep.db'}"
        migrate.upgrade(db_url)
        stock(db_url, tmp_path, args.sheets, wanted)
        reference = one_point(-1, 10**9, args, root, tmp_path, db_url)
        assert reference["ok"], reference
        total = reference["at"]
        points = sorted(random.Random(SEED).sample(range(1, total), wanted))
        results = [one_point(i, n, args, root, tmp_path, db_url) for i, n in enumerate(points)]
    finally:
        proc.terminate()
        proc.wait()
    figure("seed", SEED)
    figure("calls_per_rollout", total)
    figure("kill_points", [r["at"] for r in results])
    figure("resumed_from_journal", sum(bool(r.get("journalled")) for r in results))
    figure("converged", f"{sum(r['ok'] for r in results)}/{len(results)}")
    failed = [r for r in results if not r["ok"]]
    # each failure in full: the resume's exit, stdout (the --json answer), stderr and the journal
    assert not failed, "\n\n".join(
        f"kill after {r['at']} calls (journalled: {r.get('journalled')}): {r['why']}"
        for r in failed
    )

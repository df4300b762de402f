"""Kill-and-resume of a real `netkeep apply` rollout (run by hand): SIGKILL after N calls.

    .venv/bin/python -m bench.rollout_kill --sheets 20 --points 11 --seed 7

Starts a sandbox (10 requests/s per organization) in its own process, writes N sheets (half UTM,
half wireless), and for each seeded kill point runs `netkeep apply SHEETS --yes` as a subprocess,
SIGKILLs it once the sandbox has counted that many calls, then runs what the README says:
`netkeep apply SHEETS --rollout R --yes` (or, when the kill came before anything was journalled,
the same apply again). Each point uses a fresh organization and fresh serials. Converged means:
the resume exited 0, every job of the rollout is done, each network exists once, and planning
every sheet again finds nothing to change.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, create_engine, select

from bench.provisioning import KEY, admin, start_sandbox, totals, utm_sheet, wireless_sheet
from core import migrate
from core.settings import Settings
from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from provisioning.models import JobStep, ProvisioningJob
from provisioning.service import ProvisioningOptions, plan_sheet
from provisioning.sheet_io import dump_yaml
from provisioning.sheet_model import Sheet

NETKEEP = str(Path(sys.executable).with_name("netkeep"))


def write_sheets(folder: Path, tag: str, count: int) -> tuple[list[Sheet], list[str]]:
    sheets = [utm_sheet(tag, i) if i % 2 == 0 else wireless_sheet(tag, i) for i in range(count)]
    paths = []
    for sheet in sheets:
        path = folder / f"{sheet.site.name}.yaml"
        path.write_text(dump_yaml(sheet, reveal_secrets=True), encoding="utf-8")
        paths.append(str(path))
    return sheets, paths


def run_killed(paths: list[str], env: dict[str, str], root: str, after: int) -> int:
    """`netkeep apply` killed once the sandbox counted `after` calls; the calls at the kill."""
    admin(root, "DELETE", "/counters")
    proc = subprocess.Popen(
        [NETKEEP, "apply", *paths, "--yes", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while proc.poll() is None:
        calls, _ = totals(root)
        if calls >= after:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return calls
        time.sleep(0.005)
    return totals(root)[0]


def rollouts(db_url: str, names: list[str]) -> set[str]:
    engine = create_engine(db_url)
    with Session(engine) as session:
        stmt = select(ProvisioningJob).where(col(ProvisioningJob.network_name).in_(names))
        found = {j.rollout for j in session.exec(stmt) if j.rollout}
    engine.dispose()
    return found


def journal_state(db_url: str, names: list[str]) -> list[str]:
    """Every job of these networks with its steps not done: what a failed resume left behind."""
    engine = create_engine(db_url)
    with Session(engine) as session:
        stmt = select(ProvisioningJob).where(col(ProvisioningJob.network_name).in_(names))
        lines = []
        for job in session.exec(stmt):
            steps = session.exec(
                select(JobStep).where(JobStep.job_id == job.id).order_by(col(JobStep.number))
            )
            open_steps = [f"{s.number}:{s.action}={s.status}" for s in steps if s.status != "done"]
            lines.append(
                f"job {job.id} {job.network_name} rollout={job.rollout} network={job.network_id}"
                f" {job.status} error={job.error!r} steps not done={open_steps[:6]}"
            )
    engine.dispose()
    return lines


def converged(
    db_url: str, rollout: str, sheets: list[Sheet], base: str, org: str, var: Path
) -> tuple[bool, str]:
    engine = create_engine(db_url)
    with Session(engine) as session:
        stmt = select(ProvisioningJob).where(ProvisioningJob.rollout == rollout)
        jobs = list(session.exec(stmt))
    engine.dispose()
    bad = [f"{j.network_name}: {j.status}" for j in jobs if j.status != "done"]
    if bad or len(jobs) != len(sheets):
        return False, f"{len(jobs)} jobs; not done: {bad[:3]}"
    dash = MerakiProvisioning(
        build_sdk(api_key=KEY, base_url=base, maximum_retries=12), organization_id=org
    )
    names = Counter(n["name"] for n in dash.list_networks())
    twice = [s.site.name for s in sheets if names[s.site.name] != 1]
    if twice:
        return False, f"networks not exactly once: {twice[:3]}"
    # the PSKs the CLI set are compared with its record of them, under its installation key
    settings = Settings(database_url=db_url, var_dir=var, _env_file=None)
    options = replace(ProvisioningOptions.from_settings(settings), require_survey=False)
    left = [
        s.site.name
        for s in sheets
        if not plan_sheet(dashboard=dash, sheet=s, options=options).empty
    ]
    return not left, f"still to change: {left[:3]}" if left else "ok"


def one_point(
    point: int, n: int, args: argparse.Namespace, root: str, folder: Path, db_url: str
) -> dict[str, Any]:
    [org] = admin(root, "POST", "/organizations/generate", {"count": 1})["organizationIds"]
    base = f"{root}/api/v1"
    env = {
        **os.environ,
        "NETKEEP_DATABASE_URL": db_url,
        "NETKEEP_MERAKI_BASE_URL": base,
        "NETKEEP_MERAKI_API_KEY": KEY,
        "NETKEEP_MERAKI_ORG_ID": org,
        "NETKEEP_PROVISIONING_REQUIRE_SURVEY": "false",
        "NETKEEP_PROVISIONING_SECRET_KEY": "bench",
        "NETKEEP_VAR_DIR": str(folder / "var"),
    }
    tag = "ZABCDEFGHJKLMNPRSTUVWXY"[point + 1]  # one letter: serials are Q2FY-<tag>nnn-0001
    sub = folder / tag
    sub.mkdir()
    sheets, paths = write_sheets(sub, tag, args.sheets)
    at = run_killed(paths, env, root, n)
    found = rollouts(db_url, [s.site.name for s in sheets])
    journalled = bool(found)  # before the pop below empties it
    command = [NETKEEP, "apply", *paths, "--yes", "--json"]
    if found:
        command += ["--rollout", found.pop()]
    resumed = subprocess.run(command, env=env, capture_output=True, text=True)
    if os.environ.get("NETKEEP_KILL_DEBUG"):
        print(resumed.stdout[-3000:], resumed.stderr[-3000:])
    names = [s.site.name for s in sheets]
    after = rollouts(db_url, names)
    if resumed.returncode != 0 or len(after) != 1:
        why = (
            f"exit {resumed.returncode} of {' '.join(command[1:2] + command[-3:])}"
            f"\n--- stdout (tail):\n{resumed.stdout[-3000:]}"
            f"\n--- stderr (tail):\n{resumed.stderr[-3000:]}"
            f"\n--- journal:\n" + "\n".join(journal_state(db_url, names))
        )
        return {"ok": False, "at": at, "why": why, "journalled": journalled}
    ok, why = converged(db_url, after.pop(), sheets, base, org, folder / "var")
    return {"ok": ok, "at": at, "why": why, "journalled": journalled}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheets", type=int, default=20)
    parser.add_argument("--points", type=int, default=11)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--calls", type=int, default=0, help="calls of one rollout (0: measure)")
    args = parser.parse_args()
    proc, root = start_sandbox()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            db_url = f"sqlite:///{folder / 'netkeep.db'}"
            migrate.upgrade(db_url)
            total = args.calls or one_point(-1, 10**9, args, root, folder, db_url)["at"]
            print(f"one uninterrupted rollout of {args.sheets} sheets: {total} calls", flush=True)
            rng = random.Random(args.seed)
            points = sorted(rng.sample(range(total), min(args.points, total)))
            good = 0
            for i, n in enumerate(points):
                result = one_point(i, n, args, root, folder, db_url)
                good += result["ok"]
                how = "resumed" if result.get("journalled") else "nothing journalled: applied again"
                print(
                    f"kill after {n:3d} calls (at {result['at']:3d}, {how}): "
                    f"{'converged' if result['ok'] else 'NOT converged'} — {result['why']}",
                    flush=True,
                )
            print(f"converged {good} of {len(points)}")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()

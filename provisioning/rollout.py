"""Rollouts: many sheets applied together, sharing reads and action batches per organization.

A field team opening a chain of sites applies their sheets in one go. Every sheet stays its own
journalled job (snapshot, steps, verification, rollback, resume), the jobs grouped by a rollout
id; what they share is the dashboard work of one organization:

- planning reads the organization's networks once, then each existing network's collections;
- new networks are created by shared action batches (`/organizations/{id}/networks` create
  actions), their ids taken from one network list afterwards;
- the sites' batch steps are packed, round by round, into shared action batches (at most 100
  actions, a site's step never split so its actions keep their order; at most 5 running per
  organization);
- direct writes go one by one, their answers kept as their read-back;
- the verification reads the organization's networks and devices once, then each network's
  batched collections.

A shared batch is all-or-nothing on the dashboard: when one fails, its sites' steps are sent again
one site at a time, so one bad sheet fails alone. A job whose journal shows an interrupted step
runs alone, exactly as `netkeep apply --resume` would run it. Organizations run in parallel
(one thread and one database session each) when a session factory is given.
"""

from __future__ import annotations

import re
import secrets as token
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core.audit import Actor
from core.errors import Conflict, DashboardError, DomainError, Problem, ValidationFailed
from provisioning.apply import (
    VERIFY,
    ApplyHooks,
    Clock,
    Progress,
    SharedReads,
    _actions,
    _Runner,
    create_job,
    own_created,
    runner_for,
)
from provisioning.batching import (
    ASYNC_BATCH_MAX,
    SYNC_BATCH_MAX,
    CallEstimate,
    Operation,
    StepPlan,
    batch_cost,
    pack_round,
)
from provisioning.domain import (
    NETWORK,
    RADIO,
    JobKind,
    JobStatus,
    StepStatus,
    desired_resources,
    kind_of,
)
from provisioning.models import JobStep, ProvisioningJob
from provisioning.plan import SitePlan, desired_digest, make_plan, sheet_secrets
from provisioning.ports import ProvisioningDashboard
from provisioning.ratelimit import BATCH_SLOTS
from provisioning.service import ProvisioningOptions, survey_gate
from provisioning.sheet_io import dashboard_view
from provisioning.sheet_model import Sheet

SessionFactory = Callable[[], Session]
_SHAPE = re.compile(r"c?b*d*v?")
"""A journal a rollout can share: create network?, batches, direct writes, verify."""


@dataclass
class RolloutSite:
    """One sheet of a rollout, the dashboard (organization) it goes to, and its plan."""

    dashboard: ProvisioningDashboard
    sheet: Sheet
    plan: SitePlan | None = None


@dataclass
class RolloutOutcome:
    """The jobs of a rollout and what the whole rollout cost."""

    rollout: str
    jobs: list[ProvisioningJob]
    calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def done(self) -> bool:
        return all(j.status == JobStatus.DONE for j in self.jobs)


def new_rollout_id(now: datetime) -> str:
    return f"R{now:%Y%m%d%H%M%S}-{token.token_hex(3)}"


# --- planning and the estimate --------------------------------------------------------------


def plan_rollout(sites: Sequence[RolloutSite], options: ProvisioningOptions) -> list[SitePlan]:
    """Plan every sheet, one network list per organization; two sheets for one network refused."""
    seen: dict[tuple[str, str], int] = {}
    problems: list[Problem] = []
    for index, site in enumerate(sites):
        key = (site.dashboard.organization_id, site.sheet.site.name)
        if key in seen:
            problems.append(
                Problem(
                    f"network {key[1]!r} of organization {key[0]} is also set by sheet "
                    f"{seen[key] + 1}; a rollout applies one sheet per network",
                    f"sheet {index + 1}: site.name",
                )
            )
        seen.setdefault(key, index)
    if problems:
        raise ValidationFailed(problems, "the rollout names a network twice; nothing was sent")
    networks: dict[str, list[dict[str, Any]]] = {}
    plans = []
    for site in sites:
        org = site.dashboard.organization_id
        if org not in networks:
            networks[org] = site.dashboard.list_networks()
        site.plan = make_plan(
            dashboard=site.dashboard,
            sheet=site.sheet,
            secret_key=options.secret_key,
            rate=options.rate,
            poll_seconds=options.poll_seconds,
            networks=networks[org],
            secret_record=options.secret_record,
        )
        plans.append(site.plan)
    return plans


def _ended(batch: Mapping[str, Any]) -> bool:
    status = batch.get("status") or {}
    return bool(status.get("completed") or status.get("failed"))


def _assigns(desired: Mapping[str, Any]) -> bool:
    """Whether the sheet assigns RF profiles to access points (one more shared read)."""
    return any(kind_of(k) == RADIO for k in desired)


def alone_calls(plan: SitePlan) -> int:
    """What the plan would cost applied by itself (its own network-list read included)."""
    return plan.estimate.calls + 1 if plan.changes else 0


def rollout_cost(
    plans: Sequence[SitePlan], options: ProvisioningOptions
) -> tuple[CallEstimate, int]:
    """What the plans with changes cost as one rollout, and applied one sheet at a time."""
    busy = [p for p in plans if p.changes]
    return rollout_estimate(busy, options), sum(map(alone_calls, busy))


def _is_create(step: StepPlan | JobStep) -> bool:
    """Whether the step creates the network (a planned step or a journal row)."""
    if step.batch or not step.operations:
        return False
    op = step.operations[0]
    key, action = (op.key, op.action) if isinstance(op, Operation) else (op["key"], op["action"])
    return bool(key == NETWORK and action == "create")


def rollout_estimate(plans: Sequence[SitePlan], options: ProvisioningOptions) -> CallEstimate:
    """Calls of applying these plans as one rollout (what `apply_rollout` will send)."""
    by_org: dict[str, list[SitePlan]] = defaultdict(list)
    for plan in plans:
        by_org[plan.organization_id].append(plan)
    reads = direct = batches = polls = verify = 0
    for org_plans in by_org.values():
        reads += 1 + sum(p.reads_made for p in org_plans)
        busy = [p for p in org_plans if p.steps]
        creates = sum(1 for p in busy if _is_create(p.steps[0]))
        for start in range(0, creates, ASYNC_BATCH_MAX):
            size = min(ASYNC_BATCH_MAX, creates - start)
            batches, polls = batches + 1, polls + batch_cost(size) - 1
        reads += 1 if creates else 0  # the network list that gives the new networks' ids
        rounds: list[list[int]] = []
        for p in busy:
            direct += sum(1 for s in p.steps if not s.batch and not _is_create(s))
            for r, s in enumerate([s for s in p.steps if s.batch]):
                if r == len(rounds):
                    rounds.append([])
                rounds[r].append(len(s.operations))
        for sizes in rounds:
            for group in pack_round(sizes):
                cost = batch_cost(sum(sizes[i] for i in group))
                batches, polls = batches + 1, polls + cost - 1
        for p in busy:
            shared = 1 + (1 if "device" in p.sections else 0) + (1 if _assigns(p.desired) else 0)
            verify += p.estimate.verify_reads - shared
        if busy:
            verify += 1 + (1 if any("device" in p.sections for p in busy) else 0)
            verify += 1 if any(_assigns(p.desired) for p in busy) else 0
    total = reads + direct + batches + polls + verify
    seconds = round(total / options.rate / max(1, len(by_org)) + polls * options.poll_seconds, 2)
    return CallEstimate(reads, direct, batches, polls, verify, seconds)


# --- running one organization's share ----------------------------------------------------------


def _shape(steps: list[JobStep]) -> str:
    def letter(step: JobStep) -> str:
        if step.action == VERIFY:
            return "v"
        if step.batch:
            return "b"
        return "c" if _is_create(step) else "d"

    return "".join(letter(s) for s in steps)


def _shareable(runner: _Runner) -> bool:
    """Every step still pending (none interrupted) and the journal in the usual order."""
    pending = [s for s in runner.steps if s.status != StepStatus.DONE]
    return all(s.status == StepStatus.PENDING for s in pending) and bool(
        _SHAPE.fullmatch(_shape(runner.steps))
    )


class _OrgRollout:
    """The jobs of one organization run together: creations, batch rounds, direct, verify."""

    def __init__(
        self,
        runners: list[_Runner],
        dashboard: ProvisioningDashboard,
        progress: Callable[[str], None],
    ) -> None:
        self.runners, self.dashboard, self.progress = runners, dashboard, progress
        self.org = dashboard.organization_id
        self.session = runners[0].session

    def _commit(self, rows: Sequence[Any]) -> None:
        for row in rows:
            self.session.add(row)
        self.session.commit()

    def alive(self, runners: Sequence[_Runner] | None = None) -> list[_Runner]:
        return [r for r in (self.runners if runners is None else runners) if not r.failed]

    def run(self) -> None:
        for runner in self.runners:
            runner.start()
        shared = [r for r in self.runners if _shareable(r)]
        for runner in self.runners:
            if runner not in shared:  # an interrupted job: alone, as its resume would
                runner.run_pending(stop_at_verify=True)
        self.progress("creating networks")
        self.create_networks(shared)
        self.progress("action batches")
        self.batch_rounds(self.alive(shared))
        self.progress("direct writes")
        for runner in self.alive():
            runner.run_pending(stop_at_verify=True)
        self.progress("verifying")
        self.verify(self.alive())

    # -- phases

    def _submit(
        self, members: list[tuple[_Runner, JobStep]]
    ) -> tuple[list[tuple[_Runner, JobStep]], dict[str, Any] | None]:
        """Mark the members running and send their actions as one batch (None: maybe not sent).

        A member whose actions cannot be built (an id it needs is missing) fails alone.
        """
        kept: list[tuple[_Runner, JobStep]] = []
        actions: list[Any] = []
        for runner, step in members:
            try:
                ids = runner.created_ids(step)
                built = _actions(step, runner.job.network_id, runner.secrets, ids)
            except DomainError as exc:
                runner.fail(exc)
                continue
            kept.append((runner, step))
            actions.extend(built)
        if not kept:
            return kept, None
        now = kept[0][0].clock()
        for _, step in kept:
            step.status, step.started_at, step.error = str(StepStatus.RUNNING), now, None
        self._commit([s for _, s in kept])
        try:
            batch = self.dashboard.submit_batch(actions, synchronous=len(actions) <= SYNC_BATCH_MAX)
        except DomainError:
            return kept, None  # maybe sent: each member looks for it, as a resume would
        for _, step in kept:
            step.request_id = str(batch["id"])
        self._commit([s for _, s in kept])
        for runner, step in kept:
            if runner.hooks.after_submit:
                runner.hooks.after_submit(step)
        return kept, batch

    def _alone(self, members: list[tuple[_Runner, JobStep]], resend: bool) -> None:
        """Each member's step on its own: the shared batch failed (resend) or was maybe sent."""
        for runner, step in members:
            if resend:
                step.status, step.request_id = str(StepStatus.PENDING), None
                self._commit([step])
            try:
                runner.run_step(step)
            except DomainError as exc:
                runner.fail(exc)

    def _finish(
        self, members: list[tuple[_Runner, JobStep]], batch: Mapping[str, Any] | None = None
    ) -> None:
        now = members[0][0].clock()
        status = (batch or {}).get("status") or {}
        for runner, step in members:
            step.status, step.finished_at = str(StepStatus.DONE), now
            if batch is not None:
                step.answer = own_created(status, runner.job.network_id)
        self._commit([s for _, s in members])
        for runner, step in members:
            if runner.hooks.after_step:
                runner.hooks.after_step(step)

    def _wait_all(self, batches: list[dict[str, Any]]) -> list[dict[str, Any] | DomainError]:
        """Poll batches together (one wait, then one GET per unfinished batch) until they end."""
        runner = self.runners[0]
        out: list[dict[str, Any] | DomainError] = list(batches)
        delay, deadline = runner.poll_seconds, time.monotonic() + 600
        while True:
            waiting = [i for i, b in enumerate(out) if isinstance(b, dict) and not _ended(b)]
            if not waiting:
                return out
            if time.monotonic() > deadline:
                for i in waiting:
                    out[i] = DashboardError(f"action batch {batches[i]['id']} did not finish")
                return out
            runner.sleep(delay)
            delay = min(delay * 1.5, 5.0)
            for i in waiting:
                try:
                    out[i] = self.dashboard.get_batch(str(batches[i]["id"]))
                except DomainError as exc:
                    out[i] = exc

    def _run_waves(self, groups: list[list[tuple[_Runner, JobStep]]]) -> list[bool]:
        """Shared batches, at most five running at once; for each, whether it completed."""
        size = BATCH_SLOTS.limit
        waves = [groups[i : i + size] for i in range(0, len(groups), size)]
        return [ok for wave in waves for ok in self._run_wave(wave)]

    def _run_wave(self, groups: list[list[tuple[_Runner, JobStep]]]) -> list[bool]:
        """Up to five shared batches at once; for each, whether it completed."""
        completed: list[bool] = []
        with ExitStack() as stack:
            sent = []
            for group in groups:
                stack.enter_context(BATCH_SLOTS.slot(self.org))
                sent.append(self._submit(group))
            ended = iter(self._wait_all([b for m, b in sent if m and b is not None]))
            for members, batch in sent:
                if not members:
                    completed.append(False)
                    continue
                if batch is None:
                    self._alone(members, resend=False)
                    completed.append(False)
                    continue
                result = next(ended)
                if isinstance(result, DomainError):  # still running or unknown: resumable by id
                    for runner, _ in members:
                        runner.fail(result)
                    completed.append(False)
                elif (result.get("status") or {}).get("failed"):
                    self._alone(members, resend=True)
                    completed.append(False)
                else:
                    completed.append(True)
                    if not _is_create(members[0][1]):
                        self._finish(members, result)
        return completed

    def create_networks(self, runners: list[_Runner]) -> None:
        members = [(r, r.steps[0]) for r in runners if r.steps and _is_create(r.steps[0])]
        if not members:
            return
        groups = [members[i : i + ASYNC_BATCH_MAX] for i in range(0, len(members), ASYNC_BATCH_MAX)]
        created = [
            member
            for group, ok in zip(groups, self._run_waves(groups), strict=True)
            if ok
            for member in group
        ]
        if not created:
            return
        try:
            by_name = {str(n.get("name")): str(n["id"]) for n in self.dashboard.list_networks()}
        except DomainError as exc:
            for runner, _ in created:
                runner.fail(exc)
            return
        found: list[tuple[_Runner, JobStep]] = []
        for runner, step in created:
            net_id = by_name.get(runner.job.network_name)
            if net_id is None:
                runner.fail(DashboardError(f"network {runner.job.network_name!r} was not created"))
                continue
            runner.job.network_id = step.request_id = net_id
            found.append((runner, step))
        self._commit([r.job for r, _ in found])
        if found:
            self._finish(found)

    def batch_rounds(self, runners: list[_Runner]) -> None:
        queues = {
            id(r): [s for s in r.steps if s.batch and s.status == StepStatus.PENDING]
            for r in runners
        }
        depth = max((len(q) for q in queues.values()), default=0)
        for round_no in range(depth):
            members = [
                (r, queues[id(r)][round_no])
                for r in self.alive(runners)
                if len(queues[id(r)]) > round_no
            ]
            sizes = [len(s.operations) for _, s in members]
            self._run_waves([[members[i] for i in g] for g in pack_round(sizes)])

    def verify(self, runners: list[_Runner]) -> None:
        waiting = [
            r for r in runners if r.steps and r.steps[-1].action == VERIFY
            and r.steps[-1].status != StepStatus.DONE
        ]  # fmt: skip
        if waiting and not any(r.full_verify for r in waiting):
            ids = sorted({str(r.job.network_id) for r in waiting})
            try:
                networks = {
                    str(n["id"]): n for n in self.dashboard.list_networks() if str(n["id"]) in ids
                }
                devices: dict[str, list[dict[str, Any]]] = defaultdict(list)
                if any("device" in r.job.sections for r in waiting):
                    for row in self.dashboard.list_devices(ids):
                        devices[str(row.get("networkId"))].append(row)
                assignments: dict[str, list[dict[str, Any]]] = defaultdict(list)
                if any(_assigns(r.job.desired) for r in waiting):
                    for row in self.dashboard.read_rf_assignments(ids):
                        net = (row.get("network") or {}).get("id")
                        assignments[str(net)].append(row)
            except DomainError as exc:
                for runner in waiting:
                    runner.fail(exc)
                return
            shared = SharedReads(
                networks=networks, devices=dict(devices), assignments=dict(assignments)
            )
            for runner in waiting:
                runner.shared = shared
        for runner in waiting:
            runner.run_pending()


# --- use cases -----------------------------------------------------------------------------------


@contextmanager
def _session_for(factory: SessionFactory | None, fallback: Session) -> Iterator[Session]:
    if factory is None:
        yield fallback
        return
    with factory() as session:
        yield session


@dataclass
class PreparedRollout:
    """A rollout journalled (its jobs pending, committed) and ready to run."""

    rollout: str
    groups: dict[str, tuple[ProvisioningDashboard, list[tuple[int, Mapping[str, str]]]]]

    @property
    def job_ids(self) -> list[int]:
        return sorted(job_id for _, jobs in self.groups.values() for job_id, _ in jobs)


def run_rollout(
    *,
    session: Session,
    prepared: PreparedRollout,
    actor: Actor,
    clock: Clock,
    options: ProvisioningOptions,
    session_factory: SessionFactory | None = None,
    hooks: ApplyHooks | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RolloutOutcome:
    """Run a prepared rollout's jobs together (also in another session or thread later)."""
    groups, rollout = prepared.groups, prepared.rollout
    started = time.monotonic()
    totals: dict[str, int] = defaultdict(int)

    def one(org: str) -> None:
        dashboard, jobs = groups[org]
        factory = session_factory if len(groups) > 1 else None
        with _session_for(factory, session) as own:
            runners = [
                runner_for(
                    session=own,
                    dashboard=dashboard,
                    job_id=job_id,
                    secrets=secrets,
                    secret_key=options.secret_key,
                    clock=clock,
                    poll_seconds=options.poll_seconds,
                    hooks=hooks,
                    sleep=sleep,
                    full_verify=options.full_verify,
                )
                for job_id, secrets in jobs
            ]
            before = dashboard.stats.snapshot()

            def phase(label: str) -> None:
                if progress:
                    steps = [s for r in runners for s in r.steps]
                    done = sum(s.status == StepStatus.DONE for s in steps)
                    progress(done, len(steps), f"{org}: {label}")

            _OrgRollout(runners, dashboard, phase).run()
            after = dashboard.stats.snapshot()
            spent = {k: after[k] - before[k] for k in after}
            own_calls = sum(r.calls.get("calls", 0) for r in runners)
            shared = {
                "rollout": rollout,
                "jobs": len(runners),
                "calls": spent["calls"] - own_calls,
            }
            for runner in runners:
                runner.finish(actor, shared=shared)
                options.remember_secrets(runner.job)
            for key, value in spent.items():
                totals[key] += value

    if session_factory is not None and len(groups) > 1:
        with ThreadPoolExecutor(len(groups)) as pool:
            list(pool.map(one, sorted(groups)))
    else:
        for org in sorted(groups):
            one(org)
    if progress:
        progress(1, 1, "done")
    session.expire_all()
    ids = [job_id for _, jobs in groups.values() for job_id, _ in jobs]
    found = {
        j.id: j
        for j in session.exec(select(ProvisioningJob).where(col(ProvisioningJob.id).in_(ids)))
    }
    return RolloutOutcome(
        rollout=rollout,
        jobs=[found[i] for i in sorted(ids)],
        calls=dict(totals),
        seconds=round(time.monotonic() - started, 3),
    )


def prepare_rollout(
    *,
    session: Session,
    sites: Sequence[RolloutSite],
    actor: Actor,
    clock: Clock,
    options: ProvisioningOptions,
) -> PreparedRollout:
    """Journal every planned sheet with changes as a pending job of one new rollout.

    All survey gates are checked before anything is journalled: one refused sheet refuses the
    rollout. Sheets without changes get no job.
    """
    for site in sites:
        survey_gate(session=session, sheet=site.sheet, options=options)
    rollout = new_rollout_id(clock())
    groups: dict[str, tuple[ProvisioningDashboard, list[tuple[int, Mapping[str, str]]]]] = {}
    for site in sites:
        if site.plan is None:
            raise ValueError("plan the rollout (plan_rollout) before applying it")
        if site.plan.empty:
            continue
        job = create_job(
            session=session, plan=site.plan, actor=actor, now=clock(), rollout=rollout, commit=False
        )
        assert job.id is not None
        org = site.dashboard.organization_id
        groups.setdefault(org, (site.dashboard, []))[1].append((job.id, sheet_secrets(site.sheet)))
    session.commit()
    return PreparedRollout(rollout, groups)


def apply_rollout(
    *,
    session: Session,
    sites: Sequence[RolloutSite],
    actor: Actor,
    clock: Clock,
    options: ProvisioningOptions,
    session_factory: SessionFactory | None = None,
    hooks: ApplyHooks | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RolloutOutcome:
    """Journal the planned sheets as one rollout (`prepare_rollout`) and run it now."""
    prepared = prepare_rollout(
        session=session, sites=sites, actor=actor, clock=clock, options=options
    )
    return run_rollout(
        session=session,
        prepared=prepared,
        actor=actor,
        clock=clock,
        options=options,
        session_factory=session_factory,
        hooks=hooks,
        progress=progress,
        sleep=sleep,
    )


def resume_rollout(
    *,
    session: Session,
    rollout: str,
    sites: Sequence[RolloutSite],
    actor: Actor,
    clock: Clock,
    options: ProvisioningOptions,
    session_factory: SessionFactory | None = None,
    hooks: ApplyHooks | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RolloutOutcome:
    """Continue a rollout's unfinished jobs; each needs its own sheet again (for its secrets)."""
    jobs = rollout_jobs(session=session, rollout=rollout)
    if not jobs:
        raise Conflict(f"rollout {rollout} has no jobs", rollout=rollout)
    by_site = {(s.dashboard.organization_id, s.sheet.site.name): s for s in sites}
    problems: list[Problem] = []
    groups: dict[str, tuple[ProvisioningDashboard, list[tuple[int, Mapping[str, str]]]]] = {}
    for job in jobs:
        if job.status == JobStatus.DONE or job.kind != JobKind.APPLY:
            continue
        site = by_site.get((job.organization_id, job.network_name))
        where = f"job {job.id} ({job.network_name})"
        if site is None:
            problems.append(Problem("give the sheet this job was planned from", where))
            continue
        view = dashboard_view(site.sheet, secret_key=options.secret_key)
        if desired_digest(desired_resources(view)) != job.sheet_digest:
            problems.append(Problem("the sheet given is not the one it was planned from", where))
            continue
        assert job.id is not None
        groups.setdefault(job.organization_id, (site.dashboard, []))[1].append(
            (job.id, sheet_secrets(site.sheet))
        )
    if problems:
        raise ValidationFailed(problems, f"rollout {rollout} cannot resume; nothing was sent")
    outcome = run_rollout(
        session=session,
        prepared=PreparedRollout(rollout, groups),
        actor=actor,
        clock=clock,
        options=options,
        session_factory=session_factory,
        hooks=hooks,
        progress=progress,
        sleep=sleep,
    )
    outcome.jobs = rollout_jobs(session=session, rollout=rollout)
    return outcome


def rollout_jobs(*, session: Session, rollout: str) -> list[ProvisioningJob]:
    stmt = select(ProvisioningJob).where(ProvisioningJob.rollout == rollout)
    return list(session.exec(stmt.order_by(col(ProvisioningJob.id))))


__all__ = [
    "PreparedRollout",
    "RolloutOutcome",
    "RolloutSite",
    "alone_calls",
    "apply_rollout",
    "plan_rollout",
    "prepare_rollout",
    "resume_rollout",
    "rollout_cost",
    "rollout_estimate",
    "rollout_jobs",
    "run_rollout",
]

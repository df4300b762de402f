"""One organization's share of a rollout: its jobs' runners composed phase by phase.

New networks are created by shared action batches, their ids taken from one network list; the
sites' batch steps are packed, round by round, into shared batches (at most 100 actions, a
site's step never split so its actions keep their order; at most 5 running per organization);
direct writes go one by one; the verification reads the organization's networks and devices
once. A shared batch is all-or-nothing on the dashboard: when one fails, its sites' steps are
sent again one site at a time, so one bad sheet fails alone. A job whose journal shows an
interrupted step runs alone first, exactly as `netkeep apply --resume` would run it; a step the
journal holds as done is never sent again.

Claims: the dashboard allows ten claim requests per organization in five minutes
(`BatchTimings.claim_limit`/`claim_window`). Each site's next batch step goes as soon as its
previous one is done; a step holding a claim waits for the organization's claim budget
(`batching.claim_wait`), while the sites whose claims went on with their next steps.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from core.errors import DashboardError, DomainError
from provisioning.actions import is_network_creation, own_created
from provisioning.batch_wait import (
    BATCH_SLOTS,
    Following,
    Outcome,
    Waiter,
    batch_ended,
    wait_for_batches,
)
from provisioning.batching import (
    ASYNC_BATCH_MAX,
    SYNC_BATCH_MAX,
    claim_wait,
    claims_free,
    rollout_batches,
)
from provisioning.domain import StepStatus
from provisioning.journal import VERIFY
from provisioning.models import JobStep
from provisioning.ports import ProvisioningDashboard
from provisioning.rollout_cost import assigns_rf_profiles
from provisioning.runner import StepRunner
from provisioning.verification import SharedReads

Member = tuple[StepRunner, JobStep]
_SHAPE = re.compile(r"c?b*d*v?")
"""A journal a rollout can share: create network?, batches, direct writes, verify."""


def journal_shape(steps: Sequence[JobStep]) -> str:
    """One letter per step: c(reate network), b(atch), d(irect), v(erify)."""

    def letter(step: JobStep) -> str:
        if step.action == VERIFY:
            return "v"
        if step.batch:
            return "b"
        return "c" if is_network_creation(step) else "d"

    return "".join(letter(s) for s in steps)


def shareable(runner: StepRunner) -> bool:
    """Every unfinished step still pending (none interrupted) and the journal in the usual order."""
    pending = [s for s in runner.steps if s.status != StepStatus.DONE]
    return all(s.status == StepStatus.PENDING for s in pending) and bool(
        _SHAPE.fullmatch(journal_shape(runner.steps))
    )


def holds_claim(step: JobStep) -> bool:
    """Whether the step sends a claim request (one per site, whatever its serials)."""
    return any(op["operation"] == "claim" for op in step.operations)


def direct_steps(runner: StepRunner) -> int:
    """The job's direct writes still to be sent (what its batches hold back)."""
    return sum(
        1
        for s in runner.steps
        if s.status == StepStatus.PENDING
        and not s.batch
        and s.action != VERIFY
        and not is_network_creation(s)
    )


def last_batch(runner: StepRunner) -> JobStep | None:
    """The job's last batch step."""
    return next((s for s in reversed(runner.steps) if s.batch), None)


def ready(runner: StepRunner, step: JobStep) -> bool:
    """Whether every step of the job before `step` is done."""
    for earlier in runner.steps:
        if earlier is step:
            return True
        if earlier.status != StepStatus.DONE:
            return False
    return False


@dataclass(eq=False)
class Planned:
    """A shared batch as planned: its members, and the direct writes it lets go when it ends
    (of the members whose last batch step it holds)."""

    members: list[Member]
    unlocks: int


@dataclass(eq=False)
class Flight:
    """A shared batch running on the dashboard: its members, its reads, its slot and claims."""

    members: list[Member]
    following: Following
    slot: threading.BoundedSemaphore
    claims: int


def pending_creation(runner: StepRunner) -> JobStep | None:
    """The job's network creation when it is still to be sent (never one the journal holds done)."""
    first = runner.steps[0] if runner.steps else None
    if first is not None and is_network_creation(first) and first.status == StepStatus.PENDING:
        return first
    return None


class OrgRollout:
    """The jobs of one organization run together: creations, batch rounds, direct, verify."""

    def __init__(
        self,
        runners: list[StepRunner],
        dashboard: ProvisioningDashboard,
        progress: Callable[[str], None],
    ) -> None:
        self.runners, self.dashboard, self.progress = runners, dashboard, progress
        self.org = dashboard.organization_id
        self.journal = runners[0].journal
        self.waiter = runners[0].waiter
        self.batch_waiter = Waiter(self.waiter.timings, self.fill, self.waiter.clock)
        """Waits for shared batches and for the claim budget spent on ready direct writes."""
        self.claims_at: list[float] = []
        """When this rollout's claim requests ended (counted conservatively: at the end)."""
        self.moved: deque[StepRunner] = deque()
        """Runners whose steps moved since `next_direct` last looked at them (each is looked at
        once per move, so finding the next direct write costs O(1) amortised, not a scan)."""

    def alive(self, runners: Sequence[StepRunner] | None = None) -> list[StepRunner]:
        return [r for r in (self.runners if runners is None else runners) if not r.failed]

    def run(self) -> None:
        refused = self.journal.start_jobs([(r.job, r.steps) for r in self.runners])
        for index, exc in refused.items():  # a unit another job holds: this job sends nothing
            self.runners[index].fail(exc)
        shared = [r for r in self.alive() if shareable(r)]
        for runner in self.alive():
            if runner not in shared:  # an interrupted job: alone, as its resume would
                runner.run_pending(stop_at_verify=True)
        self.progress("creating networks")
        self.moved.extend(self.alive())  # existing networks' direct writes fill creation waits
        self.create_networks(shared)
        self.moved.extend(self.alive())
        self.progress("action batches")
        self.batch_rounds(self.alive(shared))
        self.progress("direct writes")
        for runner in self.alive():
            runner.run_pending(stop_at_verify=True)
        self.progress("verifying")
        self.verify(self.alive())

    # -- shared batches

    def submit(self, members: list[Member]) -> tuple[list[Member], dict[str, Any] | None]:
        """Mark the members running and send their actions as one batch (None: maybe not sent).

        A member whose actions cannot be built (an id it needs is missing) fails alone.
        """
        kept: list[Member] = []
        actions: list[Any] = []
        for runner, step in members:
            try:
                built = runner.actions_for(step)
            except DomainError as exc:
                runner.fail(exc)
                continue
            kept.append((runner, step))
            actions.extend(built)
        if not kept:
            return kept, None
        self.journal.begin([s for _, s in kept])
        try:
            batch = self.dashboard.submit_batch(actions, synchronous=len(actions) <= SYNC_BATCH_MAX)
        except DomainError:
            return kept, None  # maybe sent: each member looks for it, as a resume would
        self.journal.sent([s for _, s in kept], request_id=str(batch["id"]))
        return kept, batch

    def alone(self, members: list[Member], resend: bool) -> None:
        """Each member's step on its own: the shared batch failed (resend) or was maybe sent."""
        for runner, step in members:
            if resend:
                self.journal.again([step])
            if holds_claim(step):
                self.wait_for_claim()
            try:
                runner.run_step(step)
            except DomainError as exc:
                runner.fail(exc)
            self.moved.append(runner)
            if holds_claim(step):
                self.claimed(1)

    # -- the claim budget

    def claims_free(self) -> int:
        limit = self.waiter.timings.claim_limit
        if limit is None:
            return len(self.runners)
        window = self.waiter.timings.claim_window
        return claims_free(self.claims_at, self.waiter.clock(), limit=limit, window=window)

    def wait_for_claim(self, count: int = 1) -> bool:
        """Fill the time until the organization's claim budget allows `count` more claim
        requests (with direct writes, then sleep); whether there was any to wait."""
        limit = self.waiter.timings.claim_limit
        if limit is None:
            return False
        window = self.waiter.timings.claim_window
        now = self.waiter.clock()
        wait = claim_wait(self.claims_at, now, limit=limit, window=window, count=count)
        if wait > 0:
            self.progress(f"waiting {wait:.0f} s for the claim limit")
            self.fill(wait)
        return wait > 0

    # -- the waits filled

    def fill(self, seconds: float) -> None:
        """Spend a wait (for shared batches, for the claim budget) on the direct writes of the
        sites whose batch steps are all done, one at a time as the organization's budget paces
        them, then sleep what is left: the budget does not idle while batches run."""
        end = self.waiter.clock() + seconds
        while self.waiter.clock() < end and (ready := self.next_direct()) is not None:
            runner, step = ready
            try:
                runner.run_step(step)
            except DomainError as exc:
                runner.fail(exc)
            self.moved.append(runner)
        left = end - self.waiter.clock()
        if left > 0:
            self.waiter.sleep(left)

    def next_direct(self) -> Member | None:
        """A site's next step when it is a direct write and no batch step of it is left (a
        site's steps keep their order: creation, batches, direct writes, verify).

        Only the runners whose steps moved since the last look are looked at (`moved`): a
        runner whose next step is not a ready direct write drops out until its steps move
        again, so a fill costs O(1) amortised per step, not a scan of every site."""
        while self.moved:
            runner = self.moved.popleft()
            if runner.failed:
                continue
            step = next((s for s in runner.steps if s.status != StepStatus.DONE), None)
            if step is None or step.action == VERIFY or step.batch or holds_claim(step):
                continue
            if is_network_creation(step) or not runner.job.network_id:
                continue
            return runner, step
        return None

    def claimed(self, count: int) -> None:
        self.claims_at.extend([self.waiter.clock()] * count)

    def finish(self, members: list[Member], batch: Mapping[str, Any] | None = None) -> None:
        """The members' steps done together; if the inventory refuses a unit one of them
        claimed (nothing was committed), each is settled alone and only that job fails."""
        status = (batch or {}).get("status") or {}

        def settle(group: list[Member]) -> None:
            if batch is not None:
                for runner, step in group:
                    step.answer = own_created(status, runner.job.network_id)
            self.journal.done([s for _, s in group])

        try:
            settle(members)
        except DomainError:
            for member in members:
                try:
                    settle([member])
                except DomainError as exc:
                    member[0].fail(exc)
        self.moved.extend(runner for runner, _ in members)

    def run_waves(self, groups: list[list[Member]]) -> list[bool]:
        """Shared batches, at most five running at once; for each, whether it completed."""
        size = BATCH_SLOTS.limit
        waves = [groups[i : i + size] for i in range(0, len(groups), size)]
        return [ok for wave in waves for ok in self.run_wave(wave)]

    def run_wave(self, groups: list[list[Member]]) -> list[bool]:
        """Up to five shared batches at once; for each, whether it completed."""
        completed: list[bool] = []
        with ExitStack() as stack:
            sent = []
            for group in groups:
                stack.enter_context(BATCH_SLOTS.slot(self.org))
                sent.append(self.submit(group))
            batches = [b for m, b in sent if m and b is not None]
            ended = iter(wait_for_batches(self.dashboard, batches, self.batch_waiter))
            for members, batch in sent:
                if not members:
                    completed.append(False)
                    continue
                if batch is None:
                    self.alone(members, resend=False)
                    completed.append(False)
                    continue
                completed.append(self.settle(members, next(ended)))
        return completed

    def settle(self, members: list[Member], result: Outcome) -> bool:
        """A shared batch's members after it ended; whether it completed. Still running or
        unknown: each job fails, resumable by the batch's id; failed: each step alone."""
        if isinstance(result, DomainError):
            for runner, _ in members:
                runner.fail(result)
            return False
        if (result.get("status") or {}).get("failed"):
            self.alone(members, resend=True)
            return False
        if not is_network_creation(members[0][1]):
            self.finish(members, result)
        return True

    # -- phases

    def create_networks(self, runners: list[StepRunner]) -> None:
        members = [(r, step) for r in runners if (step := pending_creation(r)) is not None]
        if not members:
            return
        groups = [members[i : i + ASYNC_BATCH_MAX] for i in range(0, len(members), ASYNC_BATCH_MAX)]
        created = [
            member
            for group, ok in zip(groups, self.run_waves(groups), strict=True)
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
        found: list[Member] = []
        for runner, step in created:
            net_id = by_name.get(runner.job.network_name)
            if net_id is None:
                runner.fail(DashboardError(f"network {runner.job.network_name!r} was not created"))
                continue
            runner.adopt_network(net_id)
            step.request_id = net_id
            found.append((runner, step))
        if found:
            self.journal.done([s for _, s in found], *[r.job for r, _ in found])

    def batch_rounds(self, runners: list[StepRunner]) -> None:
        """The sites' batch steps in shared batches, each sent as soon as it may go.

        Which steps go together is fixed first (`batching.rollout_batches`: tick by tick each
        site's next batch step, a claim only within the claim budget, the sites with the most
        direct writes first, a site's next step in the room a batch after its step before
        left), exactly what the estimate counts.
        A batch goes when its members' earlier steps are done, a slot is free (at most five
        running per organization) and the claim budget has room for its claims:
        a site whose batch ended goes on with its next step while other batches still run, and
        its direct writes fill every wait."""
        queues = [
            [(r, s) for s in r.steps if s.batch and s.status == StepStatus.PENDING] for r in runners
        ]
        groups: deque[Planned] = deque()
        for members in rollout_batches(
            queues,
            [direct_steps(r) for r in runners],
            lambda m: len(m[1].operations),
            lambda m: holds_claim(m[1]),
            self.claim_limit,
        ):
            unlocks = sum(direct_steps(r) for r, s in members if s is last_batch(r))
            groups.append(Planned(members, unlocks))
        flying: list[Flight] = []
        try:
            while groups or flying:
                sent = self.send_ready(groups, flying)
                if flying:
                    self.follow(flying)
                elif groups and not sent:  # nothing runs: the next can only wait for claims
                    claims = sum(1 for r, s in groups[0].members if holds_claim(s) and not r.failed)
                    if not self.wait_for_claim(claims):
                        self.stuck(groups.popleft().members)
        finally:  # the slots are the process's: whatever stopped the run, they are free again
            for flight in flying:
                flight.slot.release()

    def stuck(self, members: list[Member]) -> None:
        """A planned batch that cannot go though nothing runs (a member's earlier step is not
        done): its jobs fail, resumable, rather than wait for ever."""
        for runner, step in members:
            if not runner.failed and step.status == StepStatus.PENDING:
                runner.fail(DomainError(f"{step.action}: an earlier step of the job is not done"))

    @property
    def claim_limit(self) -> int | None:
        return self.waiter.timings.claim_limit

    def send_ready(self, groups: deque[Planned], flying: list[Flight]) -> bool:
        """Send every planned batch that may go now (members of failed jobs left out), those
        after which sites have the most direct writes to send first, then in the plan's order;
        one whose members' earlier steps still run, or whose claims the budget has no room
        for, waits (and every other when no slot is free). Whether any went (one that ended at
        once, synchronous, may have let another go)."""
        in_flight, went = sum(f.claims for f in flying), False
        for planned in sorted(groups, key=lambda g: -g.unlocks):
            live = [
                (r, s)
                for r, s in planned.members
                if not r.failed and s.status == StepStatus.PENDING
            ]
            if not live:
                groups.remove(planned)
                continue
            if not all(ready(r, s) for r, s in live):
                continue
            claims = sum(1 for _, s in live if holds_claim(s))
            if claims and claims > self.claims_free() - in_flight:
                continue
            slot = BATCH_SLOTS.slot(self.org)
            if not slot.acquire(blocking=not flying):
                return went  # the organization's five run: the next one ends first
            groups.remove(planned)
            went = True
            try:
                sent, batch = self.submit(live)
            except BaseException:
                slot.release()
                raise
            if sent and batch is not None and not batch_ended(batch):
                flying.append(Flight(sent, Following.start(batch, self.batch_waiter), slot, claims))
                in_flight += claims
                continue
            slot.release()
            if not sent:
                continue
            if batch is None:
                self.alone(sent, resend=False)
            else:  # synchronous: it ended with its answer
                self.settle(sent, batch)
            self.claimed(claims)
        return went

    def follow(self, flying: list[Flight]) -> None:
        """Fill the wait for the next read of a running batch with direct writes, then read
        every batch due; each that ended frees its slot and its members go on."""
        wait = min(f.following.due for f in flying) - self.waiter.clock()
        if wait > 0:
            self.fill(wait)
        now = self.waiter.clock()
        for flight in [f for f in flying if f.following.due <= now]:
            ended = flight.following.read(self.dashboard, self.batch_waiter, now)
            if ended is None:
                continue
            flying.remove(flight)
            flight.slot.release()
            self.settle(flight.members, ended)
            self.claimed(flight.claims)

    def shared_reads(self, waiting: list[StepRunner]) -> SharedReads:
        """The organization's networks, devices and RF assignments, once for every job."""
        ids = sorted({str(r.job.network_id) for r in waiting})
        networks = {str(n["id"]): n for n in self.dashboard.list_networks() if str(n["id"]) in ids}
        devices: dict[str, list[dict[str, Any]]] = defaultdict(list)
        if any("device" in r.job.sections for r in waiting):
            for row in self.dashboard.list_devices(ids):
                devices[str(row.get("networkId"))].append(row)
        assignments: dict[str, list[dict[str, Any]]] = defaultdict(list)
        if any(assigns_rf_profiles(r.job.desired) for r in waiting):
            for row in self.dashboard.read_rf_assignments(ids):
                assignments[str((row.get("network") or {}).get("id"))].append(row)
        return SharedReads(networks=networks, devices=dict(devices), assignments=dict(assignments))

    def verify(self, runners: list[StepRunner]) -> None:
        waiting = [
            r for r in runners if r.steps and r.steps[-1].action == VERIFY
            and r.steps[-1].status != StepStatus.DONE
        ]  # fmt: skip
        if waiting and not any(r.full_verify for r in waiting):
            try:
                shared = self.shared_reads(waiting)
            except DomainError as exc:
                for runner in waiting:
                    runner.fail(exc)
                return
            for runner in waiting:
                runner.use_shared_reads(shared)
        for runner in waiting:
            runner.run_pending()

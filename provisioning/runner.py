"""The step runner: one job's journalled steps sent to a `ProvisioningDashboard`, in order.

An interrupted job resumes at its first unfinished step. A step found `running` was maybe sent:
a batch with a recorded id is looked up by that id, one without is looked for among the
organization's batches by its actions (alone or packed with other sites' by a rollout); when
that batch failed, a later one carrying the actions that did not fail is followed instead. A
network creation that was maybe sent adopts the network of the job's name: the plan saw none
when the job was journalled, so the one there now is this job's (a batch still creating it is
waited for first). Direct writes are idempotent PUTs, so only those are sent again.

A rollout composes runners through the public methods here (`start`, `run_pending`,
`actions_for`, `adopt_network`, `use_shared_reads`, `fail`, `finish`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlmodel import Session

from core.audit import Actor
from core.errors import DashboardError, DomainError
from provisioning.actions import (
    build_actions,
    contains_actions,
    created_ids,
    is_network_creation,
    own_created,
)
from provisioning.batch_wait import BATCH_SLOTS, Waiter, wait_for_batch
from provisioning.batching import claim_refusal, claimed_serial
from provisioning.domain import JobStatus, StepStatus, fingerprint_secrets, kind_of
from provisioning.journal import VERIFY, Journal
from provisioning.models import JobStep, ProvisioningJob
from provisioning.plan import fingerprinter, resolve_secrets
from provisioning.ports import ProvisioningDashboard
from provisioning.verification import SharedReads, read_back, remaining_differences

Progress = Callable[[int, int, str], None]
T = TypeVar("T")


def _batch_failed(batch: Mapping[str, Any]) -> bool:
    return bool((batch.get("status") or {}).get("failed"))


def _not_found(status: Mapping[str, Any]) -> bool:
    """Whether a failed batch's errors say something was not found (a 404 inside the batch)."""
    return any("not found" in str(e).lower() for e in status.get("errors") or [])


class StepRunner:
    """Runs one job's pending steps against the dashboard, journalling every move."""

    def __init__(
        self,
        *,
        journal: Journal,
        dashboard: ProvisioningDashboard,
        job: ProvisioningJob,
        steps: list[JobStep],
        secrets: Mapping[str, str],
        secret_key: bytes,
        waiter: Waiter,
        full_verify: bool = False,
    ) -> None:
        self.journal, self.dashboard, self.job, self.steps = journal, dashboard, job, steps
        self.secrets, self.secret_key, self.waiter = secrets, secret_key, waiter
        self.full_verify = full_verify
        self.shared: SharedReads | None = None
        self.calls: dict[str, int] = dict.fromkeys(dashboard.stats.snapshot(), 0)
        self.started = time.monotonic()
        self.network_settles_until: float | None = None
        """Until when the network this job created may still answer 404 (None: not new)."""
        if job.network_id and any(is_network_creation(s) for s in steps):
            self.adopt_network(str(job.network_id))  # resumed: created maybe moments ago

    @property
    def session(self) -> Session:
        return self.journal.session

    @property
    def failed(self) -> bool:
        return self.job.status == JobStatus.FAILED

    def count(self, before: Mapping[str, int]) -> None:
        """Add the calls made since `before` to this job's own tally."""
        for key, value in self.dashboard.stats.snapshot().items():
            self.calls[key] = self.calls.get(key, 0) + value - before.get(key, 0)

    def start(self) -> None:
        self.journal.start_job(self.job, self.steps)

    def fail(self, exc: DomainError) -> None:
        self.journal.fail(self.job, self.steps, exc.message)

    def adopt_network(self, network_id: str) -> None:
        """The job's network is this one (created for it); later steps address it. The
        dashboard may answer 404 about it for a while (`network_settle`)."""
        self.job.network_id = network_id
        self.network_settles_until = self.waiter.clock() + self.waiter.timings.network_settle

    def use_shared_reads(self, shared: SharedReads) -> None:
        self.shared = shared

    def actions_for(self, step: JobStep) -> list[Any]:
        """The step's batch actions, ids of resources created by earlier steps filled in."""
        ids = created_ids(self.dashboard, self.steps, step, self.job.network_id)
        return build_actions(step, self.job.network_id, self.secrets, ids)

    def run_pending(
        self, progress: Progress | None = None, *, stop_at_verify: bool = False
    ) -> bool:
        """Run the unfinished steps in order; False (job failed) on a dashboard or input error."""
        total = len(self.steps)
        try:
            for step in self.steps:
                if step.status == StepStatus.DONE:
                    continue
                if stop_at_verify and step.action == VERIFY:
                    break
                if progress:
                    progress(step.number - 1, total, step.action)
                self.run_step(step, defer_done=True)
        except DomainError as exc:
            self.fail(exc)  # committed with the step before it, done
            return False
        self.journal.commit()  # the last step's done
        return True

    def run_step(self, step: JobStep, *, defer_done: bool = False) -> None:
        """One step: journalled running, sent, journalled done (with `defer_done`, committed
        by the next step's begin or the caller: `Journal.done`)."""
        before = self.dashboard.stats.snapshot()
        try:
            maybe_sent = step.status in (StepStatus.RUNNING, StepStatus.FAILED)
            self.journal.begin([step])
            if step.action == VERIFY:
                self.verify()
            elif step.batch:
                self.run_batch(step, step_was_running=maybe_sent)
            elif is_network_creation(step):
                self.create_network(step, maybe_sent=maybe_sent)
            else:
                self.run_direct(step)
            self.journal.done([step], defer=defer_done)
        finally:
            self.count(before)

    def create_network(self, step: JobStep, *, maybe_sent: bool) -> None:
        found = self.created_before(step) if maybe_sent else None
        if found is None:
            body = resolve_secrets(step.operations[0]["body"], self.secrets)
            found = str(self.dashboard.create_network(body)["id"])
        self.adopt_network(found)
        self.journal.sent([step], request_id=found)

    def created_before(self, step: JobStep) -> str | None:
        """The network an earlier, interrupted attempt created for this job, if any."""
        if self.job.network_id:
            return str(self.job.network_id)  # its id was journalled: nothing to look up
        actions = build_actions(step, None, self.secrets)
        batch: dict[str, Any] | None = None
        if step.request_id:  # a rollout's shared creation batch
            batch = self.dashboard.get_batch(step.request_id)
        else:
            listed = self.dashboard.list_batches()
            batch = next((b for b in listed if contains_actions(b, actions)), None)
        if batch is not None:
            wait_for_batch(self.dashboard, batch, self.waiter)
        network = self.dashboard.find_network(self.job.network_name)
        return None if network is None else str(network["id"])

    def run_direct(self, step: JobStep) -> None:
        op = step.operations[0]
        body = resolve_secrets(op["body"], self.secrets)
        network_id = str(self.job.network_id)
        kind = kind_of(op["key"])
        answer = self.while_settling(lambda: self.dashboard.send_direct(kind, network_id, body))
        step.answer = (
            fingerprint_secrets(dict(answer), fingerprinter(self.secret_key))
            if isinstance(answer, Mapping)
            else None
        )
        self.journal.sent([step])

    def run_batch(self, step: JobStep, *, step_was_running: bool) -> None:
        actions = self.actions_for(step)
        batch: dict[str, Any] | None = None
        if step.request_id:
            batch = self.dashboard.get_batch(step.request_id)
        if step_was_running and (batch is None or _batch_failed(batch)):
            batch = self.sent_again(actions) or batch
        with BATCH_SLOTS.slot(self.job.organization_id):
            if batch is None or _batch_failed(batch):
                batch = self.dashboard.submit_batch(actions, synchronous=step.synchronous)
                self.journal.sent([step], request_id=str(batch["id"]))
            else:
                self.journal.sent([step])
            batch = wait_for_batch(self.dashboard, batch, self.waiter)
            batch = self.after_claim(step, actions, batch)
            batch = self.after_network_settle(step, actions, batch)
        batch = self.after_claim_limit(step, actions, batch)
        status = batch.get("status") or {}
        if status.get("failed"):
            errors = "; ".join(str(e) for e in status.get("errors") or []) or "no detail"
            raise DashboardError(
                f"action batch {batch['id']} failed and changed nothing: {errors}",
                operation="createOrganizationActionBatch",
            )
        step.answer = own_created(status, self.job.network_id)

    def sent_again(self, actions: list[Any]) -> dict[str, Any] | None:
        """The latest batch carrying these actions that did not fail, if any: the one a crash
        kept out of the journal. A failed batch changed nothing, so the journalled one (or a
        rollout's shared one, first in the list) failing says nothing of a later one (sent
        again after a 404 or the claim limit, or alone after the shared one failed)."""
        listed = self.dashboard.list_batches()
        return next(
            (b for b in reversed(listed) if contains_actions(b, actions) and not _batch_failed(b)),
            None,
        )

    def after_claim_limit(
        self, step: JobStep, actions: list[Any], batch: dict[str, Any]
    ) -> dict[str, Any]:
        """A batch holding a claim that the claim limit refused (another tool's claims used the
        organization's ten in five minutes): it changed nothing, so it is sent again after the
        wait the dashboard gives (a whole claim window when it gives none), until the batch
        deadline; any other failure is left to the caller."""
        if not any(op["operation"] == "claim" for op in step.operations):
            return batch
        timings = self.waiter.timings
        deadline = self.waiter.clock() + max(timings.deadline, 2 * timings.claim_window)
        while (status := batch.get("status") or {}).get("failed"):
            wait = claim_refusal(status.get("errors") or [], timings.claim_window)
            if wait is None or self.waiter.clock() + wait > deadline:
                return batch
            self.waiter.sleep(max(wait, timings.poll_seconds))
            with BATCH_SLOTS.slot(self.job.organization_id):
                batch = self.dashboard.submit_batch(actions, synchronous=step.synchronous)
                self.journal.sent([step], request_id=str(batch["id"]))
                batch = wait_for_batch(self.dashboard, batch, self.waiter)
        return batch

    def claimed_earlier(self, step: JobStep) -> set[str]:
        """Serials this job claimed in the steps before `step`."""
        return {
            str(serial)
            for done in self.steps
            if done.number < step.number
            for op in done.operations
            if op["operation"] == "claim"
            for serial in (op["body"] or {}).get("serials") or []
        }

    def after_claim(
        self, step: JobStep, actions: list[Any], batch: dict[str, Any]
    ) -> dict[str, Any]:
        """A failed batch addressing devices this job just claimed: sent once more when they
        answer, after waiting while any of them still answers 404.

        The specification: for newly claimed devices "it may take a few minutes for API requests
        against that device to succeed". A failed batch changed nothing, so sending it again is
        safe; a failure for another reason fails again and is reported as such. Waiting ends
        after `claim_settle` seconds.
        """
        if not _batch_failed(batch):
            return batch
        claimed = self.claimed_earlier(step)
        touched = {claimed_serial(str(a.get("resource"))) for a in actions}
        addressed = sorted(s for s in claimed if s in touched)
        if not addressed:
            return batch
        timings = self.waiter.timings
        deadline = self.waiter.clock() + timings.claim_settle
        delay = timings.poll_seconds
        while settling := [s for s in addressed if not self.device_answers(s)]:
            if self.waiter.clock() >= deadline:
                raise DashboardError(
                    f"{', '.join(settling)} still not found {timings.claim_settle:g} "
                    "seconds after being claimed; the batch addressing them changed nothing",
                    operation="createOrganizationActionBatch",
                )
            self.waiter.sleep(delay)
            delay = min(delay * timings.backoff, timings.max_delay)
        batch = self.dashboard.submit_batch(actions, synchronous=step.synchronous)
        self.journal.sent([step], request_id=str(batch["id"]))
        return wait_for_batch(self.dashboard, batch, self.waiter)

    def network_settling(self) -> bool:
        """Whether the job's network was created so recently that a 404 about it may pass."""
        until = self.network_settles_until
        return until is not None and self.waiter.clock() < until

    def while_settling(self, send: Callable[[], T]) -> T:
        """`send` (an idempotent request or read about the job's network), sent again after a
        wait while it answers 404 and the network is within its settle time."""
        timings = self.waiter.timings
        delay = timings.poll_seconds
        while True:
            try:
                return send()
            except DashboardError as exc:
                if exc.details.get("status") != 404 or not self.network_settling():
                    raise
            self.waiter.sleep(delay)
            delay = min(delay * timings.backoff, timings.max_delay)

    def after_network_settle(
        self, step: JobStep, actions: list[Any], batch: dict[str, Any]
    ) -> dict[str, Any]:
        """A failed batch about the network this job just created, which still answers 404:
        sent once more when the network answers (a failed batch changed nothing). A failure for
        another reason is left to the caller; waiting ends with the network's settle time."""
        status = batch.get("status") or {}
        if not status.get("failed") or self.network_settles_until is None:
            return batch
        if self.network_answers() and not (self.network_settling() and _not_found(status)):
            return batch  # it failed for another reason (or it settled long before it ran)
        timings = self.waiter.timings
        delay = timings.poll_seconds
        while not self.network_answers():
            if not self.network_settling():
                raise DashboardError(
                    f"network {self.job.network_id} still not found {timings.network_settle:g} "
                    "seconds after being created; the batch addressing it changed nothing",
                    operation="createOrganizationActionBatch",
                )
            self.waiter.sleep(delay)
            delay = min(delay * timings.backoff, timings.max_delay)
        batch = self.dashboard.submit_batch(actions, synchronous=step.synchronous)
        self.journal.sent([step], request_id=str(batch["id"]))
        return wait_for_batch(self.dashboard, batch, self.waiter)

    def network_answers(self) -> bool:
        """Whether the dashboard answers requests about the job's network (False: 404)."""
        try:
            self.dashboard.get_network(str(self.job.network_id))
        except DashboardError as exc:
            if exc.details.get("status") == 404:
                return False
            raise
        return True

    def device_answers(self, serial: str) -> bool:
        """Whether the dashboard answers requests about a device (False: 404, still settling)."""
        try:
            self.dashboard.read_management_interface(serial)
        except DashboardError as exc:
            if exc.details.get("status") == 404:
                return False
            raise
        return True

    def verify(self) -> None:
        """Read back what the job touched; any remaining difference is verify_failed."""
        job = self.job
        current = self.while_settling(
            lambda: read_back(
                dashboard=self.dashboard,
                job=job,
                steps=self.steps,
                secret_key=self.secret_key,
                shared=self.shared,
                full_verify=self.full_verify,
            )
        )
        job.verify_diff = remaining_differences(
            desired=job.desired, current=current, sections=job.sections, prune=job.prune
        )
        self.session.add(job)  # committed with the step's done

    def finish(
        self,
        actor: Actor,
        shared: Mapping[str, Any] | None = None,
        *,
        commit: bool = True,
        held: Sequence[str] | None = None,
    ) -> ProvisioningJob:
        """The outcome, what it cost and the audit entry, committed (unless `commit` is off);
        `held`: the units the job still holds, when the caller looked them up."""
        return self.journal.finish_job(
            self.job,
            self.steps,
            actor=actor,
            calls=self.calls,
            seconds=time.monotonic() - self.started,
            shared=shared,
            commit=commit,
            held=held,
        )

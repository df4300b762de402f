"""What a rollout costs in calls: the estimate shown before it runs, and the same sheets alone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from provisioning.actions import is_network_creation
from provisioning.batching import (
    ASYNC_BATCH_MAX,
    CallEstimate,
    StepPlan,
    batch_cost,
    claims_wait_total,
    rollout_batches,
)
from provisioning.domain import RADIO, kind_of
from provisioning.plan import SitePlan
from provisioning.service import ProvisioningOptions


def assigns_rf_profiles(desired: Mapping[str, Any]) -> bool:
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


def _claims(step: StepPlan) -> bool:
    return any(op.operation == "claim" for op in step.operations)


def direct_writes(plan: SitePlan) -> int:
    """The plan's writes sent one by one (not its network creation, not in a batch)."""
    return sum(1 for s in plan.steps if not s.batch and not is_network_creation(s))


def shared_batches(org_plans: Sequence[SitePlan], claim_limit: int | None) -> list[int]:
    """The action counts of the shared batches the plans' batch steps go in, as `OrgRollout`
    sends them (`batching.rollout_batches`)."""
    queues = [[s for s in p.steps if s.batch] for p in org_plans]
    writes = [direct_writes(p) for p in org_plans]
    batches = rollout_batches(queues, writes, lambda s: len(s.operations), _claims, claim_limit)
    return [sum(len(s.operations) for s in batch) for batch in batches]


def _batch_calls(org_plans: list[SitePlan], claim_limit: int | None) -> tuple[int, int]:
    """Shared batches and their polls: the creations, then the batch steps."""
    batches = polls = 0
    creates = sum(1 for p in org_plans if is_network_creation(p.steps[0]))
    for start in range(0, creates, ASYNC_BATCH_MAX):
        size = min(ASYNC_BATCH_MAX, creates - start)
        batches, polls = batches + 1, polls + batch_cost(size) - 1
    for size in shared_batches(org_plans, claim_limit):
        batches, polls = batches + 1, polls + batch_cost(size) - 1
    return batches, polls


def _verify_calls(busy: list[SitePlan]) -> int:
    """Each job's own read-back, less what the organization-wide reads serve for all."""
    verify = 0
    for p in busy:
        shared = 1 + (1 if "device" in p.sections else 0) + assigns_rf_profiles(p.desired)
        verify += p.estimate.verify_reads - shared
    if busy:
        verify += 1 + (1 if any("device" in p.sections for p in busy) else 0)
        verify += 1 if any(assigns_rf_profiles(p.desired) for p in busy) else 0
    return verify


def rollout_estimate(plans: Sequence[SitePlan], options: ProvisioningOptions) -> CallEstimate:
    """Calls of applying these plans as one rollout (what `apply_rollout` will send)."""
    by_org: dict[str, list[SitePlan]] = defaultdict(list)
    for plan in plans:
        by_org[plan.organization_id].append(plan)
    reads = direct = batches = polls = verify = 0
    claim_wait = 0.0  # organizations run side by side: the longest of their claim waits
    for org_plans in by_org.values():
        reads += 1 + sum(p.reads_made for p in org_plans)
        busy = [p for p in org_plans if p.steps]
        if any(is_network_creation(p.steps[0]) for p in busy):
            reads += 1  # the network list that gives the new networks' ids
        org_batches, org_polls = _batch_calls(busy, options.claim_limit)
        batches, polls = batches + org_batches, polls + org_polls
        direct += sum(map(direct_writes, busy))
        verify += _verify_calls(busy)
        claims = sum(
            1 for p in busy for s in p.steps for op in s.operations if op.operation == "claim"
        )
        wait = claims_wait_total(
            claims, limit=options.claim_limit, window=options.claim_window_seconds
        )
        claim_wait = max(claim_wait, wait)
    total = reads + direct + batches + polls + verify
    seconds = total / options.rate / max(1, len(by_org)) + polls * options.poll_seconds
    return CallEstimate(
        reads, direct, batches, polls, verify, round(seconds + claim_wait, 2), claim_wait
    )

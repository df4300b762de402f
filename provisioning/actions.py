"""A journal step's requests: its actions built for the dashboard, and what a batch created.

Pure except `created_ids`, which may read one collection when an older journal lacks the ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import DashboardError
from provisioning.batching import created_refs, resolve_created
from provisioning.domain import NETWORK, StepStatus, ident_of, kind_of
from provisioning.models import JobStep
from provisioning.plan import resolve_secrets
from provisioning.ports import ProvisioningDashboard


def with_network(value: Any, network_id: str | None) -> Any:
    """`value` with its `{networkId}` placeholders filled in (kept when the id is unknown)."""
    if isinstance(value, str):
        return value.replace("{networkId}", network_id or "{networkId}")
    if isinstance(value, Mapping):
        return {k: with_network(v, network_id) for k, v in value.items()}
    if isinstance(value, list):
        return [with_network(v, network_id) for v in value]
    return value


def build_actions(
    step: JobStep,
    network_id: str | None,
    secrets: Mapping[str, str],
    created: Mapping[str, str] | None = None,
) -> list[Any]:
    """The step's batch actions: network id, secrets and created resources' ids filled in."""
    return [
        {
            "resource": with_network(op["resource"], network_id),
            "operation": op["operation"],
            "body": resolve_created(resolve_secrets(op["body"], secrets), created or {}),
        }
        for op in step.operations
    ]


def is_network_creation(step: Any) -> bool:
    """Whether a journal row (or a planned step) creates the network."""
    if step.batch or not step.operations:
        return False
    op = step.operations[0]
    key, action = (op["key"], op["action"]) if isinstance(op, Mapping) else (op.key, op.action)
    return bool(key == NETWORK and action == "create")


def created_here(
    resources: list[Any], network_id: str | None, ops: list[dict[str, Any]]
) -> dict[str, str]:
    """Ids of what a completed batch created, by resource key: each create action in order
    takes the next created resource under its collection (``createdResources`` uris)."""
    left = [str(c.get("uri", "")).split("/api/v1", 1)[-1] for c in resources]
    ids = [str(c.get("id")) for c in resources]
    found: dict[str, str] = {}
    for op in ops:
        if op["operation"] != "create":
            continue
        base = with_network(op["resource"], network_id).rstrip("/") + "/"
        for i, uri in enumerate(left):
            if uri.startswith(base) and "/" not in uri[len(base) :]:
                found[op["key"]] = ids[i]
                left[i] = ""
                break
    return found


def own_created(status: Mapping[str, Any], network_id: str | None) -> dict[str, Any]:
    """A completed batch's created resources under one network, kept as the step's answer."""
    mark = f"/networks/{network_id}/"
    made = [c for c in status.get("createdResources") or [] if mark in str(c.get("uri", ""))]
    return {"createdResources": made}


def contains_actions(batch: Mapping[str, Any], actions: list[Any]) -> bool:
    """Whether the batch carries these actions, in order, alone or among other sites' actions."""
    listed = [
        (a.get("resource"), a.get("operation"), a.get("body") or {})
        for a in batch.get("actions") or []
    ]
    wanted = [(a["resource"], a["operation"], a["body"]) for a in actions]
    n = len(wanted)
    return any(listed[i : i + n] == wanted for i in range(len(listed) - n + 1))


def created_ids(
    dashboard: ProvisioningDashboard,
    steps: Sequence[JobStep],
    step: JobStep,
    network_id: str | None,
) -> dict[str, str]:
    """Ids of resources this job created that the step's bodies refer to.

    Taken from the finished batch steps' answers (their created resources); what is not there
    (an older journal, an unexpected answer) is looked up by one read of its collection.
    """
    wanted = {ref for op in step.operations for ref in created_refs(op["body"])}
    if not wanted:
        return {}
    found: dict[str, str] = {}
    for done in steps:
        if done.batch and done.status == StepStatus.DONE and done.answer:
            made = list(done.answer.get("createdResources") or [])
            found.update(created_here(made, network_id, done.operations))
    for kind in sorted({kind_of(k) for k in wanted - set(found)}):
        if kind != "rfProfile":
            raise DashboardError(f"cannot look up the id of a created {kind}")
        rows = dashboard.read_collection(str(network_id), kind) or []
        by_name = {str(r.get("name")): str(r.get("id")) for r in rows}
        for key in wanted - set(found):
            if kind_of(key) == kind and ident_of(key) in by_name:
                found[key] = by_name[ident_of(key)]
    missing = sorted(wanted - set(found))
    if missing:
        raise DashboardError(
            f"{', '.join(missing)} should have been created by an earlier step but is not "
            "on the dashboard"
        )
    return found

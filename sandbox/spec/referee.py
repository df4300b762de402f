"""Judge logged requests against the published operations: bodies, routes and batch actions.

Input: the sandbox's request log (``Dashboard.request_log`` entries, or the JSON lines that
``SANDBOX_REQUEST_LOG`` collects). Used by ``tests/contract/spec`` and ``tools/spec_report.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sandbox.router import Router
from sandbox.spec.responses import ANSWERS, answer_problems
from sandbox.spec.sdk import Catalog
from sandbox.spec.validate import body_problems

NETKEEP_CALLER = "netkeep"
"""netkeep's SDK caller (``dashboard.session.CALLER``) shows in every User-Agent it sends."""


@dataclass
class Findings:
    """What a log says about the requests of one client."""

    requests: int = 0
    used: Counter[str] = field(default_factory=Counter)
    """Requests per operationId (batch actions included)."""
    validated: Counter[str] = field(default_factory=Counter)
    """Request bodies checked per operationId."""
    body_mismatches: dict[tuple[str, str], str] = field(default_factory=dict)
    """(operationId, field) -> one message."""
    mismatch_counts: Counter[str] = field(default_factory=Counter)
    """Bodies with a mismatch per operationId."""
    not_in_spec: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(method, sandbox template) requested that the specification lacks."""
    batch_actions: int = 0
    batch_pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(resource template, batch operation) -> actions."""
    batch_mismatches: dict[tuple[str, str], str] = field(default_factory=dict)
    answers: Counter[str] = field(default_factory=Counter)
    """Successful answers checked per operationId (those with a documented shape)."""
    answer_mismatches: dict[tuple[str, str], int] = field(default_factory=dict)
    """(operationId, problem) -> answers showing it."""

    def table(self) -> str:
        """Operations used / validated / mismatches, one line per operation, plus totals."""
        width = max([len(op) for op in self.used] + [9])
        lines = [f"{'operation':<{width}}  used  bodies  mismatches  answers"]
        for op in sorted(self.used):
            lines.append(
                f"{op:<{width}}  {self.used[op]:>4}  {self.validated[op]:>6}"
                f"  {self.mismatch_counts[op]:>10}  {self.answers[op]:>7}"
            )
        lines.append(
            f"{len(self.used)} operations used, {sum(self.validated.values())} request bodies"
            f" validated, {len(self.body_mismatches)} body mismatches (field level),"
            f" {self.batch_actions} batch actions of {len(self.batch_pairs)} kinds checked,"
            f" {len(self.batch_mismatches)} not batchable, {len(self.not_in_spec)} routes"
            f" not in the specification, {sum(self.answers.values())} answers checked,"
            f" {len(self.answer_mismatches)} answer mismatches"
        )
        return "\n".join(lines)


def _template_of(router: Router, resource: str) -> str | None:
    path = resource.removeprefix("/api/v1").split("?", 1)[0].rstrip("/")
    for method in ("POST", "PUT", "DELETE", "GET"):
        route, _, _ = router.match(method, path)
        if route is not None:
            return route.template
    return None


def referee(
    entries: Iterable[dict[str, Any]],
    catalog: Catalog,
    router: Router,
    caller: str = NETKEEP_CALLER,
) -> Findings:
    """Check every logged request of ``caller`` (direct calls and batch actions)."""
    found = Findings()
    for entry in entries:
        if caller not in str(entry.get("agent", "")):
            continue
        found.requests += 1
        method, template = entry["method"], entry.get("template")
        op = catalog.find(method, template) if template else None
        if op is None:
            found.not_in_spec[(method, template or entry["path"])] += 1
            continue
        found.used[op.operation_id] += 1
        if method in ("POST", "PUT"):
            found.validated[op.operation_id] += 1
            problems = body_problems(op.operation_id, op.body, entry.get("body"))
            for name, message in problems:
                found.body_mismatches.setdefault((op.operation_id, name), message)
            if problems:
                found.mismatch_counts[op.operation_id] += 1
        status = entry.get("status")
        if status and 200 <= int(status) < 300 and op.operation_id in ANSWERS:
            found.answers[op.operation_id] += 1
            for message in answer_problems(op.operation_id, entry.get("reply"), int(status)):
                key = (op.operation_id, message)
                found.answer_mismatches[key] = found.answer_mismatches.get(key, 0) + 1
        if op.operation_id == "createOrganizationActionBatch" and not entry.get("batch"):
            actions = (entry.get("body") or {}).get("actions") or []
            for action in actions:
                _check_action(found, catalog, router, action)
    return found


def _check_action(found: Findings, catalog: Catalog, router: Router, action: Any) -> None:
    found.batch_actions += 1
    resource = str(action.get("resource", "")) if isinstance(action, dict) else ""
    verb = str(action.get("operation", "")) if isinstance(action, dict) else ""
    template = _template_of(router, resource)
    if template is None and verb:
        template = _template_of(router, f"{resource}/{verb}")
        template = template.rsplit("/", 1)[0] if template else None
    key = (template or resource, verb)
    found.batch_pairs[key] += 1
    if template is None or catalog.find_batch(template, verb) is None:
        found.batch_mismatches.setdefault(
            key, f"'{verb}' on {template or resource} is not in the SDK's batch module"
        )

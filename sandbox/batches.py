"""Action batches: ordered, all-or-nothing execution through the same operation handlers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sandbox.access import org_or_404
from sandbox.defaults import iso
from sandbox.router import ApiError, Call, Reply, Router, bad_request, not_found
from sandbox.state import Record, SandboxState


class Actions(Protocol):
    """What the engine offers the batch engine: resolve, check and apply one action."""

    def resolve(self, action: Any) -> tuple[str, str]:
        """Method and path of a batchable action, or ApiError(400)."""
        ...

    def refusals(self, method: str, path: str, body: Any) -> list[str]:
        """Schema problems of the action's body that the dashboard refuses."""
        ...

    def run(self, method: str, path: str, body: Any, now: datetime) -> Reply:
        """Apply the action through the direct-call handler."""
        ...


MAX_SYNC_ACTIONS = 20
MAX_ASYNC_ACTIONS = 100
MAX_RUNNING_PER_ORG = 5
TOO_MANY_RUNNING = (
    "Too many concurrently executing batches. Maximum is 5 confirmed but not yet executed batches."
)
RUN_AT = "_runAt"
INTERNAL_ERROR = "Internal server error"

log = logging.getLogger(__name__)


def _unfinished(batch: Record) -> bool:
    return (
        bool(batch["confirmed"])
        and not batch["status"]["completed"]
        and not batch["status"]["failed"]
    )


def _view(batch: Record) -> Record:
    return {k: v for k, v in batch.items() if k not in (RUN_AT, "organizationId")} | {
        "organizationId": batch["organizationId"]
    }


def _fail(st: SandboxState, batch_id: str, messages: list[str]) -> None:
    failed = st.action_batches[batch_id]
    failed[RUN_AT] = None
    failed["status"] = {
        "completed": False,
        "failed": True,
        "errors": messages,
        "createdResources": [],
    }


def _checked(
    st: SandboxState, batch: Record, actions: Actions
) -> tuple[list[tuple[str, str]], list[str]]:
    """Every action resolved and its body checked before anything is applied."""
    requests: list[tuple[str, str]] = []
    messages: list[str] = []
    for index, action in enumerate(batch["actions"]):
        try:
            method, path = actions.resolve(action)
            if st.org_of_path(path) not in (None, batch["organizationId"]):
                raise bad_request(
                    f"{action['resource']} is not in organization {batch['organizationId']}"
                )
        except ApiError as err:
            messages.extend(f"Action at index {index}: {m}" for m in err.messages)
            continue
        requests.append((method, path))
        refused = actions.refusals(method, path, action.get("body") or {})
        messages.extend(f"Action at index {index}: {m}" for m in refused)
    return requests, messages


def execute(st: SandboxState, batch_id: str, now: datetime, actions: Actions) -> None:
    """Validate every action, then apply them in order; any failure leaves nothing applied."""
    batch = st.action_batches[batch_id]
    batch[RUN_AT] = None
    requests, messages = _checked(st, batch, actions)
    if messages:
        _fail(st, batch_id, messages)
        return
    addressed = {path.split("/")[2] for _, path in requests if path.startswith("/networks/")}
    before = st.checkpoint(str(batch["organizationId"]), addressed)
    created: list[Record] = []
    for index, (action, (method, path)) in enumerate(zip(batch["actions"], requests, strict=True)):
        try:
            reply = actions.run(method, path, action.get("body") or {}, now)
        except ApiError as err:
            messages = [f"Action at index {index}: {m}" for m in err.messages]
        except Exception:  # a sandbox bug: still nothing of the batch stays applied
            log.exception("sandbox batch action %d failed: %s %s", index, method, path)
            messages = [f"Action at index {index}: {INTERNAL_ERROR}"]
        if messages:
            st.restore(before)
            _fail(st, batch_id, messages)
            return
        if method == "POST" and isinstance(reply.body, dict) and "id" in reply.body:
            created.append({"id": str(reply.body["id"]), "uri": f"{path}/{reply.body['id']}"})
    batch["status"] = {
        "completed": True,
        "failed": False,
        "errors": [],
        "createdResources": created,
    }


def run_due_batches(st: SandboxState, now: datetime, run: Actions) -> None:
    """Complete asynchronous batches whose delay has passed (called before each request)."""
    stamp = now.timestamp()
    if not st.running_batches:
        return
    due = sorted((at, bid) for bid, at in st.running_batches.items() if at <= stamp)
    for _, batch_id in due:
        del st.running_batches[batch_id]
        batch = st.action_batches.get(batch_id)
        if batch is not None and batch.get(RUN_AT) is not None:
            execute(st, batch_id, now, run)


def _start(st: SandboxState, batch: Record, now: datetime, delay: float, run: Actions) -> None:
    limit = MAX_SYNC_ACTIONS if batch["synchronous"] else MAX_ASYNC_ACTIONS
    if len(batch["actions"]) > limit:
        kind = "synchronous" if batch["synchronous"] else "asynchronous"
        raise bad_request(f"Too many actions: at most {limit} in an {kind} batch")
    running = [
        b
        for bid in st.running_batches
        if (b := st.action_batches.get(bid)) is not None
        and b["organizationId"] == batch["organizationId"]
        and _unfinished(b)
        and bid != batch["id"]
    ]
    if len(running) >= MAX_RUNNING_PER_ORG:
        raise bad_request(TOO_MANY_RUNNING)
    st.action_batches[batch["id"]] = batch
    if batch["synchronous"]:
        execute(st, batch["id"], now, run)
    else:
        batch[RUN_AT] = (now + timedelta(seconds=delay)).timestamp()
        st.running_batches[batch["id"]] = batch[RUN_AT]


def make_router(run: Actions, delay: Callable[[], float]) -> Router:
    """Action batch routes bound to the engine's action runner."""
    router = Router()
    base = "/organizations/{organizationId}/actionBatches"

    @router.add("POST", base)
    def create_batch(st: SandboxState, call: Call) -> Reply:
        """Create (and, when confirmed, run or schedule) an action batch."""
        org_id = org_or_404(st, call.params["organizationId"])["id"]
        body = call.obj()
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            raise bad_request("'actions' must be a non-empty array")
        refused: list[str] = []
        for index, action in enumerate(actions):
            try:
                run.resolve(action)
            except ApiError as err:
                refused.extend(f"Action at index {index}: {m}" for m in err.messages)
        if refused:
            raise bad_request(*refused)
        batch: Record = {
            "id": str(st.new_id()),
            "organizationId": org_id,
            "confirmed": bool(body.get("confirmed", False)),
            "synchronous": bool(body.get("synchronous", False)),
            "status": {"completed": False, "failed": False, "errors": [], "createdResources": []},
            "actions": actions,
            "createdAt": iso(call.now),
            RUN_AT: None,
        }
        if body.get("callback"):
            batch["callback"] = body["callback"]
        if batch["confirmed"]:
            _start(st, batch, call.now, delay(), run)
        else:
            st.action_batches[batch["id"]] = batch
        return Reply(_view(st.action_batches[batch["id"]]), 201)

    @router.add("GET", base)
    def list_batches(st: SandboxState, call: Call) -> Reply:
        """Batches of an organization, filterable by status (completed/failed/pending)."""
        org_id = org_or_404(st, call.params["organizationId"])["id"]
        found = [b for b in st.action_batches.values() if b["organizationId"] == org_id]
        status = call.q("status")
        if status == "completed":
            found = [b for b in found if b["status"]["completed"]]
        elif status == "failed":
            found = [b for b in found if b["status"]["failed"]]
        elif status == "pending":
            found = [b for b in found if not b["status"]["completed"] and not b["status"]["failed"]]
        return Reply([_view(b) for b in found])

    def _batch(st: SandboxState, call: Call) -> Record:
        batch = st.action_batches.get(call.params["actionBatchId"])
        if batch is None or batch["organizationId"] != call.params["organizationId"]:
            raise not_found(f"Action batch {call.params['actionBatchId']}")
        return batch

    @router.add("GET", base + "/{actionBatchId}")
    def get_batch(st: SandboxState, call: Call) -> Reply:
        """One batch with its status."""
        return Reply(_view(_batch(st, call)))

    @router.add("PUT", base + "/{actionBatchId}")
    def update_batch(st: SandboxState, call: Call) -> Reply:
        """Confirm a batch (cannot be unconfirmed) or change synchronous before confirming."""
        batch = _batch(st, call)
        body = call.obj()
        if batch["confirmed"]:
            if body.get("confirmed") is False:
                raise bad_request("A confirmed batch cannot be unconfirmed")
            return Reply(_view(batch))
        if "synchronous" in body:
            batch["synchronous"] = bool(body["synchronous"])
        if body.get("confirmed"):
            batch["confirmed"] = True
            try:
                _start(st, batch, call.now, delay(), run)
            except ApiError:
                batch["confirmed"] = False
                raise
        return Reply(_view(st.action_batches[batch["id"]]))

    @router.add("DELETE", base + "/{actionBatchId}")
    def delete_batch(st: SandboxState, call: Call) -> Reply:
        """Delete a batch that is not running."""
        batch = _batch(st, call)
        if _unfinished(batch):
            raise bad_request("A confirmed batch that has not finished cannot be deleted")
        del st.action_batches[batch["id"]]
        return Reply(None, 204)

    return router

"""Change-request use cases up to approval: submit, (re)validate, approve, reject, cancel, read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from changes.domain import (
    ENTITY,
    REVALIDATABLE,
    ChangeStatus,
    Target,
    advance,
    is_email,
)
from changes.models import ChangeNotice, ChangeRequest, ChangeRequestEvent
from changes.validation import SecretLookup, read_raw, refuse_literal_secrets, sheet_problems
from changes.validation import stored_sheet as stored_sheet
from core import audit
from core.audit import Actor
from core.errors import Conflict, NotFound, Problem, ValidationFailed
from core.policy import four_eyes
from netdevices.ports import Platform
from provisioning.sheet_io import dump_yaml


def snapshot(req: ChangeRequest) -> dict[str, Any]:
    """The request's state for the audit log (the sheet itself is left out)."""
    return req.model_dump(exclude={"sheet_original", "sheet_yaml", "plan_rows", "push_journal"})


def get_request(*, session: Session, request_id: int) -> ChangeRequest:
    found = session.get(ChangeRequest, request_id)
    if found is None:
        raise NotFound(f"no change request {request_id}", request_id=request_id)
    return found


def request_id_of(*, session: Session, ref: str) -> int:
    """A change request named by its id (digits) or by the request number on its sheet."""
    if ref.isascii() and ref.isdigit():
        return int(ref)
    stmt = (
        select(ChangeRequest.id).where(ChangeRequest.number == ref).order_by(col(ChangeRequest.id))
    )
    ids = [i for i in session.exec(stmt) if i is not None]
    if not ids:
        raise NotFound(f"no change request numbered {ref}", number=ref)
    if len(ids) > 1:
        raise Conflict(
            f"the number {ref} names change requests {', '.join(map(str, ids))}: use the id",
            number=ref,
            ids=ids,
        )
    return ids[0]


def list_requests(
    *,
    session: Session,
    status: ChangeStatus | None = None,
    customer: str | None = None,
    limit: int = 200,
) -> list[ChangeRequest]:
    stmt = select(ChangeRequest)
    if status is not None:
        stmt = stmt.where(ChangeRequest.status == status.value)
    if customer is not None:
        stmt = stmt.where(ChangeRequest.customer == customer)
    return list(session.exec(stmt.order_by(col(ChangeRequest.id).desc()).limit(limit)))


def events_of(*, session: Session, request_id: int) -> list[ChangeRequestEvent]:
    get_request(session=session, request_id=request_id)
    stmt = select(ChangeRequestEvent).where(ChangeRequestEvent.request_id == request_id)
    return list(session.exec(stmt.order_by(col(ChangeRequestEvent.id))))


def notices_of(*, session: Session, request_id: int) -> list[ChangeNotice]:
    get_request(session=session, request_id=request_id)
    stmt = select(ChangeNotice).where(ChangeNotice.request_id == request_id)
    return list(session.exec(stmt.order_by(col(ChangeNotice.id))))


def record_event(
    session: Session,
    req: ChangeRequest,
    *,
    action: str,
    to_status: str,
    actor: Actor,
    now: datetime,
    note: str = "",
    data: Mapping[str, Any] | None = None,
    outcome: str = "ok",
    before: Mapping[str, Any] | None = None,
) -> None:
    """A history row and an audit entry, in the caller's transaction."""
    assert req.id is not None
    session.add(
        ChangeRequestEvent(
            request_id=req.id,
            action=action,
            from_status=None if before is None else str(before.get("status")),
            to_status=to_status,
            actor=actor.name,
            role=actor.role,
            at=now,
            note=note[:2000],
            data=audit.redact(dict(data or {})),
        )
    )
    audit.record(
        session,
        actor=actor,
        action=f"{ENTITY}.{action}",
        entity_type=ENTITY,
        entity_id=str(req.id),
        before=before,
        after={**snapshot(req), **({"note": note} if note else {}), **dict(data or {})},
        outcome=outcome,
        at=now,
    )


def move(
    session: Session,
    req: ChangeRequest,
    target: ChangeStatus,
    *,
    action: str,
    actor: Actor,
    now: datetime,
    note: str = "",
    data: Mapping[str, Any] | None = None,
    apply_changes: Mapping[str, Any] | None = None,
) -> ChangeRequest:
    """Advance the status (or refuse), set fields, and record the event and the audit entry.

    The move is a compare-and-set on the status read: of calls racing to make the same move
    (fifty NOC clicks on "approve"), one moves the request and the others are refused as a late
    second call would be, not each approving it again (issue 15's concurrency section)."""
    before = snapshot(req)
    moved = advance(req.status, target).value
    claimed = session.execute(
        update(ChangeRequest)
        .where(col(ChangeRequest.id) == req.id, col(ChangeRequest.status) == req.status)
        .values(status=moved, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(req)
        advance(req.status, target)  # the move is illegal from where the winner left it
        raise Conflict(f"change request {req.id} changed meanwhile; read it again", id=req.id)
    req.status = moved
    for key, value in (apply_changes or {}).items():
        setattr(req, key, value)
    req.updated_at = now
    session.add(req)
    session.flush()
    record_event(
        session,
        req,
        action=action,
        to_status=req.status,
        actor=actor,
        now=now,
        note=note,
        data=data,
        before=before,
    )
    return req


def refuse(
    session: Session,
    req: ChangeRequest,
    error: Exception,
    *,
    action: str,
    actor: Actor,
    now: datetime,
) -> None:
    """Keep a refused attempt in the history and the audit log even though the call fails."""
    record_event(
        session,
        req,
        action=action,
        to_status=req.status,
        actor=actor,
        now=now,
        note=str(error)[:2000],
        outcome="refused",
        before=snapshot(req),
    )
    session.commit()


def _cli_target(target: Target, cli: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if target is Target.DASHBOARD:
        return None
    given = dict(cli or {})
    problems = [
        Problem("is required for a CLI target", f"cli.{key}")
        for key in ("host", "device_type", "username", "password_env")
        if not given.get(key)
    ]
    if given.get("device_type") and given["device_type"] not in {p.value for p in Platform}:
        problems.append(Problem(f"must be one of {[p.value for p in Platform]}", "cli.device_type"))
    if "password" in given:
        problems.append(Problem("give password_env, never the password", "cli.password"))
    if problems:
        raise ValidationFailed(problems)
    return {
        "host": str(given["host"]),
        "port": int(given.get("port") or 22),
        "device_type": str(given["device_type"]),
        "username": str(given["username"]),
        "password_env": str(given["password_env"]),
        "secret_env": given.get("secret_env") or None,
        "wan_interface": given.get("wan_interface") or None,
    }


def submit_request(
    *,
    session: Session,
    actor: Actor,
    filename: str,
    content: bytes,
    notice_email: str,
    now: datetime,
    target: Target = Target.DASHBOARD,
    cli: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    allow_env: bool = True,
    secrets: SecretLookup | None = None,
) -> ChangeRequest:
    """Store a request and validate it; problems are kept on it (status stays submitted).

    Over the network `allow_env=False`; `secrets` resolves ``secret:NAME`` references.
    """
    name = Path(filename or "sheet.yaml").name
    email = notice_email.strip()
    if not is_email(email):
        raise ValidationFailed(
            [Problem(f"{notice_email!r} is not an e-mail address", "notice_email")]
        )
    cli_target = _cli_target(target, cli)
    raw, source = read_raw(filename=name, content=content)
    refuse_literal_secrets(raw, name)
    head = raw.get("request") if isinstance(raw, dict) else None
    head = head if isinstance(head, dict) else {}
    site = raw.get("site") if isinstance(raw, dict) else None
    site = site if isinstance(site, dict) else {}
    req = ChangeRequest(
        number=str(head.get("id") or f"(no id: {name})")[:80],
        customer=str(head.get("customer") or "")[:120],
        requester=str(head.get("requester") or "")[:120],
        summary=str(head.get("summary") or "")[:1000],
        site_name=str(site.get("name") or "")[:200],
        site_plan=str(site.get("plan") or "")[:20],
        status=ChangeStatus.SUBMITTED.value,
        target=target.value,
        cli_target=cli_target,
        notice_email=email,
        sheet_filename=name,
        sheet_original=content,
        submitted_by=actor.name,
        created_at=now,
        updated_at=now,
    )
    session.add(req)
    session.flush()
    record_event(
        session,
        req,
        action="submitted",
        to_status=req.status,
        actor=actor,
        now=now,
        data={"filename": name, "target": target.value, "notice_email": email},
    )
    _validate(
        session, req, raw=raw, source=source, actor=actor, now=now,
        environ=environ, allow_env=allow_env, secrets=secrets,
    )  # fmt: skip
    return req


def _validate(
    session: Session,
    req: ChangeRequest,
    *,
    raw: object,
    source: Any,
    actor: Actor,
    now: datetime,
    environ: Mapping[str, str] | None,
    allow_env: bool = True,
    secrets: SecretLookup | None = None,
) -> ChangeRequest:
    sheet, problems = sheet_problems(
        session, raw=raw, source=source, environ=environ, target=Target(req.target),
        allow_env=allow_env, secrets=secrets,
    )  # fmt: skip
    if sheet is None:
        req.problems = [p.to_dict() for p in problems]
        req.sheet_yaml = ""
        req.updated_at = now
        session.add(req)
        record_event(
            session,
            req,
            action="validation_failed",
            to_status=req.status,
            actor=actor,
            now=now,
            data={"problems": req.problems},
            outcome="refused",
            before=snapshot(req),
        )
        return req
    head = sheet.request
    assert head is not None
    return move(
        session,
        req,
        ChangeStatus.VALIDATED,
        action="validated",
        actor=actor,
        now=now,
        apply_changes={
            "problems": [],
            "sheet_yaml": dump_yaml(sheet),
            "number": str(head.id),
            "customer": str(head.customer),
            "requester": head.requester or "",
            "request_date": head.date,
            "summary": head.summary or "",
            "site_name": sheet.site.name,
            "site_plan": str(sheet.site.plan),
        },
    )


def revalidate_request(
    *,
    session: Session,
    actor: Actor,
    request_id: int,
    now: datetime,
    filename: str | None = None,
    content: bytes | None = None,
    environ: Mapping[str, str] | None = None,
    allow_env: bool = True,
    secrets: SecretLookup | None = None,
) -> ChangeRequest:
    """Validate again (after a contract fix, or with a corrected sheet after a defect)."""
    req = get_request(session=session, request_id=request_id)
    if req.status not in REVALIDATABLE:
        advance(req.status, ChangeStatus.VALIDATED)  # raises with the allowed next states
    if content is not None:
        name = Path(filename or req.sheet_filename).name
        raw, source = read_raw(filename=name, content=content)
        refuse_literal_secrets(raw, name)
        candidate, problems = sheet_problems(
            session, raw=raw, source=source, environ=environ, target=Target(req.target)
        )
        if candidate is None:  # a failed correction keeps the stored sheet
            return _refuse_sheet(session, req, name, problems, actor=actor, now=now)
        req.sheet_filename, req.sheet_original = name, content
        record_event(
            session,
            req,
            action="sheet_replaced",
            to_status=req.status,
            actor=actor,
            now=now,
            data={"filename": name},
        )
    else:
        raw, source = read_raw(filename=req.sheet_filename, content=req.sheet_original)
    return _validate(
        session, req, raw=raw, source=source, actor=actor, now=now,
        environ=environ, allow_env=allow_env, secrets=secrets,
    )  # fmt: skip


def _refuse_sheet(
    session: Session,
    req: ChangeRequest,
    name: str,
    problems: list[Problem],
    *,
    actor: Actor,
    now: datetime,
) -> ChangeRequest:
    before = snapshot(req)
    req.problems = [p.to_dict() for p in problems]
    req.updated_at = now
    session.add(req)
    record_event(
        session,
        req,
        action="sheet_refused",
        to_status=req.status,
        actor=actor,
        now=now,
        data={"filename": name, "kept": req.sheet_filename, "problems": req.problems},
        outcome="refused",
        before=before,
    )
    return req


def approve_request(
    *, session: Session, actor: Actor, request_id: int, now: datetime, note: str = ""
) -> ChangeRequest:
    """The NOC (or an admin) approves a validated request; never the one who submitted it."""
    req = get_request(session=session, request_id=request_id)
    advance(req.status, ChangeStatus.APPROVED)  # an illegal move is refused as such first
    four_eyes(recorder=actor.name, authors=[req.submitted_by], what=f"change request {req.id}")
    return move(
        session,
        req,
        ChangeStatus.APPROVED,
        action="approved",
        actor=actor,
        now=now,
        note=note,
        apply_changes={"approved_by": actor.name, "approved_at": now},
    )


def reject_request(
    *, session: Session, actor: Actor, request_id: int, now: datetime, reason: str
) -> ChangeRequest:
    req = get_request(session=session, request_id=request_id)
    return move(
        session, req, ChangeStatus.REJECTED, action="rejected", actor=actor, now=now, note=reason
    )


def cancel_request(
    *, session: Session, actor: Actor, request_id: int, now: datetime, reason: str
) -> ChangeRequest:
    """Cancel a request not yet applied; never while its apply is under way (`claims`)."""
    from changes.claims import STALE_AFTER

    req = get_request(session=session, request_id=request_id)
    if req.claimed_for and req.claimed_at is not None and now - req.claimed_at < STALE_AFTER:
        raise Conflict(
            f"change request {req.id}: its {req.claimed_for} is under way since "
            f"{req.claimed_at.isoformat()}; cancel it once that has ended",
            claimed_for=req.claimed_for,
        )
    return move(
        session, req, ChangeStatus.CANCELLED, action="cancelled", actor=actor, now=now, note=reason
    )

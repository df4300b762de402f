"""The audit trail: written in the caller's transaction, secrets redacted."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import SecretStr
from sqlmodel import Session, col, select

from core.models import AuditEntry
from core.timeutil import as_utc, utcnow

SECRET_KEY_PATTERN = re.compile(r"(psk|secret|password|passphrase|api_?key|token)", re.IGNORECASE)
REDACTED = "***redacted***"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a token's name and role, or a CLI user; with the request id if any."""

    name: str
    role: str
    request_id: str | None = None


SYSTEM = Actor(name="system", role="admin")


def redact(value: Any) -> Any:
    """A JSON-safe copy of `value` with every secret-looking field replaced."""
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, Mapping):
        return {
            str(k): (REDACTED if SECRET_KEY_PATTERN.search(str(k)) and v is not None else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    outcome: str = "ok",
    at: datetime | None = None,
) -> AuditEntry:
    """Add an audit entry to the session; it commits (or not) with the change it describes."""
    entry = AuditEntry(
        at=at or utcnow(),
        actor=actor.name,
        role=actor.role,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=redact(before) if before is not None else None,
        after=redact(after) if after is not None else None,
        request_id=actor.request_id,
        outcome=outcome,
    )
    session.add(entry)
    return entry


def history(
    session: Session, *, entity_type: str, entity_id: str, limit: int = 500
) -> list[AuditEntry]:
    """An entity's audit entries, oldest first."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id)
        .order_by(col(AuditEntry.at), col(AuditEntry.id))
        .limit(limit)
    )
    return list(session.exec(stmt))


def entry_values(
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str,
    after: Mapping[str, Any] | None = None,
    at: datetime,
) -> dict[str, Any]:
    """The columns of one audit entry, as `record` writes it, for inserting many in one
    statement (`monitoring.ingest`); the caller inserts them in the change's transaction."""
    return {
        "at": at,
        "actor": actor.name,
        "role": actor.role,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before": None,
        "after": redact(after) if after is not None else None,
        "request_id": actor.request_id,
        "outcome": "ok",
    }

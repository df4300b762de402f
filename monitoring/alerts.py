"""The Meraki webhook receiver's rules and use case: check, store, map alerts to outages.

Meraki does not sign webhooks; it puts a plaintext `sharedSecret` in the body. It is compared
in constant time, never stored, never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core import audit
from core.audit import Actor
from core.calendar import BusinessCalendar
from core.errors import AuthenticationFailed, Conflict, Problem, ValidationFailed
from monitoring.models import MonitorAlert, MonitorTrack
from monitoring.outages import VPN as VPN_OUTAGE
from monitoring.outages import close_outage, open_outage, open_outage_of

log = logging.getLogger(__name__)

DOWN, UP, VPN, SETTINGS, OTHER = "down", "up", "vpn", "settings", "other"
_KINDS = {
    "appliance went down": DOWN,
    "aps went down": DOWN,
    "switch went down": DOWN,
    "appliance came up": UP,
    "aps came up": UP,
    "switch came up": UP,
    "vpn connectivity changed": VPN,
    "settings changed": SETTINGS,
}


def alert_kind(alert_type: str) -> str:
    """What an alert means to monitoring, from the dashboard's alertType text."""
    return _KINDS.get(alert_type.strip().lower(), OTHER)


@dataclass(frozen=True, slots=True)
class ReceiverPolicy:
    """The receiver's settings: the shared secret (None = unset), freshness window."""

    secret: str | None
    allow_without_secret: bool = False
    max_age: timedelta = timedelta(minutes=5)
    max_ahead: timedelta = timedelta(minutes=1)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _refuse(error: Exception, alert_id: object = None) -> Exception:
    log.warning("meraki webhook refused (alertId=%r): %s", alert_id, error)
    return error


def check_payload(raw: bytes, *, policy: ReceiverPolicy, now: datetime) -> dict[str, Any]:
    """The alert's JSON if it is well formed, carries the secret and is fresh; else refused."""
    if policy.secret is None and not policy.allow_without_secret:
        raise _refuse(
            AuthenticationFailed("no webhook secret is configured; every alert is refused")
        )
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _refuse(ValidationFailed([Problem("not JSON", "body")], "malformed alert")) from None
    if not isinstance(body, dict):
        raise _refuse(ValidationFailed([Problem("must be a JSON object", "body")]))
    alert_id = body.get("alertId")
    given = body.get("sharedSecret")
    if policy.secret is not None and not (
        isinstance(given, str) and hmac.compare_digest(given.encode(), policy.secret.encode())
    ):
        raise _refuse(AuthenticationFailed("wrong or missing sharedSecret"), alert_id)
    problems = []
    if not isinstance(alert_id, str) or not alert_id.strip() or len(alert_id) > 64:
        problems.append(Problem("must be a non-empty string of at most 64 characters", "alertId"))
    if not isinstance(body.get("alertType"), str) or not body["alertType"].strip():
        problems.append(Problem("must be a non-empty string", "alertType"))
    sent_at = _moment(body.get("sentAt"))
    if sent_at is None:
        problems.append(Problem("must be an ISO 8601 time", "sentAt"))
    elif now - sent_at > policy.max_age:
        problems.append(
            Problem(
                f"stale: sent {sent_at.isoformat()}, before the last "
                f"{int(policy.max_age.total_seconds())} s",
                "sentAt",
            )
        )
    elif sent_at - now > policy.max_ahead:
        problems.append(Problem(f"sent in the future ({sent_at.isoformat()})", "sentAt"))
    if (
        "occurredAt" in body
        and body["occurredAt"] is not None
        and _moment(body["occurredAt"]) is None
    ):
        problems.append(Problem("must be an ISO 8601 time", "occurredAt"))
    serial = body.get("deviceSerial")
    if serial is not None and (not isinstance(serial, str) or len(serial) > 14):
        problems.append(Problem("must be a serial of at most 14 characters", "deviceSerial"))
    if problems:
        raise _refuse(ValidationFailed(problems, "alert refused; nothing was stored"), alert_id)
    return body


def receive_alert(
    *,
    session: Session,
    raw: bytes,
    policy: ReceiverPolicy,
    actor: Actor,
    now: datetime,
    calendar: BusinessCalendar | None = None,
) -> MonitorAlert:
    """Check and store one alert; a down/up alert opens/closes the device's outage."""
    body = check_payload(raw, policy=policy, now=now)
    return store_alert(session=session, body=body, actor=actor, now=now, calendar=calendar)


def replayed(alert_id: str) -> Exception:
    """The refusal of an alert id already received (logged)."""
    return _refuse(Conflict(f"alert {alert_id} was already received", alertId=alert_id))


def follows_outage(body: dict[str, Any]) -> bool:
    """Whether the (checked) alert may open or close an outage (a device's, or a VPN peer's)."""
    return bool(body.get("deviceSerial")) and alert_kind(str(body["alertType"])) in (DOWN, UP, VPN)


def alert_values(body: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """The stored alert's columns from a checked body (never the shared secret)."""
    serial = str(body["deviceSerial"]).upper() if body.get("deviceSerial") else None
    occurred = _moment(body.get("occurredAt")) or _moment(body["sentAt"])
    return {
        "alert_id": str(body["alertId"]),
        "alert_type": str(body["alertType"])[:120],
        "alert_type_id": str(body.get("alertTypeId") or "")[:80] or None,
        "kind": alert_kind(str(body["alertType"])),
        "organization_id": str(body.get("organizationId") or "")[:40] or None,
        "network_id": str(body.get("networkId") or "")[:40] or None,
        "serial": serial,
        "occurred_at": occurred,
        "sent_at": _moment(body["sentAt"]) or now,
        "received_at": now,
        "payload": {k: v for k, v in body.items() if k != "sharedSecret"},
    }


def audit_after(
    alert_type: str, kind: str, serial: str | None, outage_id: int | None
) -> dict[str, Any]:
    """What an alert's audit entry records after it."""
    return {"type": alert_type, "kind": kind, "serial": serial, "outage": outage_id}


def store_alert(
    *,
    session: Session,
    body: dict[str, Any],
    actor: Actor,
    now: datetime,
    calendar: BusinessCalendar | None = None,
) -> MonitorAlert:
    """Store one checked alert (409 if its id was received already), follow it to the
    device's outage, audit it; in the caller's transaction (`monitoring.ingest` batches)."""
    alert_id = str(body["alertId"])
    if session.exec(select(MonitorAlert.id).where(MonitorAlert.alert_id == alert_id)).first():
        raise replayed(alert_id)
    alert = MonitorAlert(**alert_values(body, now=now))
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        raise replayed(alert_id) from None
    serial, kind = alert.serial, alert.kind
    if serial and kind in (DOWN, UP):
        alert.outage_id = _follow(
            session=session,
            alert=alert,
            serial=serial,
            actor=actor,
            now=now,
            calendar=calendar or BusinessCalendar(),
        )
    elif serial and kind == VPN:
        alert.outage_id = _follow_vpn(
            session=session,
            alert=alert,
            serial=serial,
            actor=actor,
            now=now,
            calendar=calendar or BusinessCalendar(),
        )
    audit.record(
        session,
        actor=actor,
        action="alert.receive",
        entity_type="alert",
        entity_id=alert_id,
        after=audit_after(alert.alert_type, kind, serial, alert.outage_id),
        at=now,
    )
    session.flush()
    return alert


_PRODUCT_OF_ALERT = {"appliance": "appliance", "aps": "wireless", "switch": "switch"}


def _follow(
    *,
    session: Session,
    alert: MonitorAlert,
    serial: str,
    actor: Actor,
    now: datetime,
    calendar: BusinessCalendar,
) -> int | None:
    """Open or close the device's outage; the dashboard has debounced a went-down already."""
    track = session.exec(select(MonitorTrack).where(MonitorTrack.serial == serial)).first()
    occurred = alert.occurred_at or now
    if alert.kind == DOWN:
        if track is not None and track.outage_id is not None:
            return track.outage_id
        outage = open_outage(
            session=session,
            serial=serial,
            organization_id=alert.organization_id or "",
            network_id=alert.network_id,
            product_type=(track.product_type if track else None)
            or _PRODUCT_OF_ALERT.get(alert.alert_type.split()[0].lower()),
            status="offline",
            started_at=occurred,
            source="webhook",
            actor=actor,
            now=now,
            calendar=calendar,
        )
        if track is None:
            track = MonitorTrack(
                serial=serial, organization_id=alert.organization_id or "", status="offline"
            )
            session.add(track)
        track.network_id = alert.network_id or track.network_id
        track.status, track.outage_id = "offline", outage.id
        track.down_since, track.down_polls = track.down_since or occurred, max(track.down_polls, 1)
        return outage.id
    if track is None or track.outage_id is None:
        return None
    closed = close_outage(
        session=session,
        outage_id=track.outage_id,
        ended_at=occurred,
        actor=actor,
        now=now,
        calendar=calendar,
    )
    track.status, track.outage_id, track.down_since, track.down_polls = "online", None, None, 0
    return closed.id


def vpn_change(alert_data: Any) -> tuple[bool, str] | None:
    """A "VPN connectivity changed" alert's meaning: (connected?, the peer), or None if it does
    not say. Meraki sends `connectivity` as "true"/"false" and names the peer in `peerIdent`
    (else `peerIp`)."""
    if not isinstance(alert_data, dict):
        return None
    raw = alert_data.get("connectivity")
    text = str(raw).strip().lower() if isinstance(raw, str | bool) else ""
    if text not in ("true", "false"):
        return None
    peer = alert_data.get("peerIdent") or alert_data.get("peerIp") or alert_data.get("peerName")
    if not isinstance(peer, str) or not peer.strip():
        return None
    return text == "true", peer.strip()[:120]


def _follow_vpn(
    *,
    session: Session,
    alert: MonitorAlert,
    serial: str,
    actor: Actor,
    now: datetime,
    calendar: BusinessCalendar,
) -> int | None:
    """A VPN peer lost opens the device's VPN outage for that peer; the peer back closes it."""
    change = vpn_change(alert.payload.get("alertData"))
    if change is None:
        return None
    connected, peer = change
    occurred = alert.occurred_at or now
    found = open_outage_of(session=session, serial=serial, kind=VPN_OUTAGE, vpn_peer=peer)
    if not connected:
        if found is not None:
            return found.id
        track = session.exec(select(MonitorTrack).where(MonitorTrack.serial == serial)).first()
        outage = open_outage(
            session=session,
            serial=serial,
            organization_id=alert.organization_id or "",
            network_id=alert.network_id,
            product_type=(track.product_type if track else None) or "appliance",
            status="vpn_down",
            started_at=occurred,
            source="webhook",
            actor=actor,
            now=now,
            calendar=calendar,
            kind=VPN_OUTAGE,
            vpn_peer=peer,
        )
        return outage.id
    if found is None or found.id is None:
        return None
    close_outage(
        session=session,
        outage_id=found.id,
        ended_at=occurred,
        actor=actor,
        now=now,
        calendar=calendar,
    )
    return found.id


def alerts_query(*, serial: str | None = None) -> Any:
    """Received alerts, newest first."""
    from sqlmodel import col

    query = select(MonitorAlert)
    if serial:
        query = query.where(MonitorAlert.serial == serial.strip().upper())
    return query.order_by(col(MonitorAlert.received_at).desc(), col(MonitorAlert.id).desc())


def list_alerts(
    *, session: Session, serial: str | None = None, limit: int = 100, offset: int = 0
) -> list[MonitorAlert]:
    """Received alerts, newest first."""
    return list(session.exec(alerts_query(serial=serial).offset(offset).limit(limit)))


def policy_from(
    *, secret: str | None, allow_without_secret: bool, max_age_seconds: int
) -> ReceiverPolicy:
    return ReceiverPolicy(
        secret=secret or None,
        allow_without_secret=allow_without_secret,
        max_age=timedelta(seconds=max_age_seconds),
    )

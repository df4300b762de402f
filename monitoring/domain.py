"""Monitoring's pure rules: what a device status means, debounce, outages, notice windows.

Stdlib plus the business calendar; never the current time (callers pass `now`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from core.calendar import BusinessCalendar, Service


class Liveness(StrEnum):
    """A device status as the dashboard's availabilities report it."""

    ONLINE = "online"
    ALERTING = "alerting"
    OFFLINE = "offline"
    DORMANT = "dormant"


DOWN: frozenset[str] = frozenset({Liveness.OFFLINE, Liveness.DORMANT, Liveness.ALERTING})
"""An online → offline/alerting change (and a dormant device) counts once debounced."""


def is_down(status: str) -> bool:
    """Whether a reported status counts as down (an unknown status does not: never guess)."""
    return status in DOWN


@dataclass(frozen=True, slots=True)
class Debounce:
    """How long a down status must last before it is an outage: polls seen AND minutes."""

    polls: int = 2
    minutes: int = 0

    def __post_init__(self) -> None:
        if self.polls < 1:
            raise ValueError(f"debounce needs at least one poll, got {self.polls}")
        if self.minutes < 0:
            raise ValueError(f"debounce minutes cannot be negative, got {self.minutes}")


@dataclass(frozen=True, slots=True)
class Track:
    """What monitoring remembers of one device between polls."""

    status: str
    down_since: datetime | None = None
    """When the current down spell began (the first poll or transition that showed it)."""
    down_polls: int = 0
    outage_open: bool = False
    last_polled_at: datetime | None = None


class Verdict(StrEnum):
    UNCHANGED = "unchanged"
    SUSPECT = "suspect"  # down, not yet debounced
    OPEN = "open"  # debounced: an outage starts at down_since
    CLOSE = "close"  # back up: the open outage ends
    CLEARED = "cleared"  # back up before it counted: nothing recorded
    REPEATED = "repeated"  # this poll was already taken into account


@dataclass(frozen=True, slots=True)
class Step:
    """The track after one observation, and what it means."""

    track: Track
    verdict: Verdict
    at: datetime | None = None
    """When the outage started (OPEN) or ended (CLOSE)."""


def observe(
    track: Track | None,
    *,
    status: str,
    changed_at: datetime | None,
    now: datetime,
    debounce: Debounce,
) -> Step:
    """One poll's view of a device: `changed_at` is when the status began if the dashboard
    says (change history), else None (the poll itself is the first sight).

    A poll at or before the last one counts nothing (idempotent); going down is debounced,
    coming back closes the outage at once.
    """
    previous = track or Track(status=Liveness.ONLINE)
    if previous.last_polled_at is not None and now <= previous.last_polled_at:
        return Step(previous, Verdict.REPEATED)
    if not is_down(status):
        up = Track(status=status, last_polled_at=now)
        if previous.outage_open:
            return Step(up, Verdict.CLOSE, changed_at or now)
        if previous.down_since is not None:
            return Step(up, Verdict.CLEARED)
        return Step(up, Verdict.UNCHANGED)
    if previous.outage_open:
        return Step(replace(previous, status=status, last_polled_at=now), Verdict.UNCHANGED)
    since = previous.down_since or changed_at or now
    polls = previous.down_polls + 1
    down = Track(status=status, down_since=since, down_polls=polls, last_polled_at=now)
    if polls >= debounce.polls and now - since >= timedelta(minutes=debounce.minutes):
        return Step(replace(down, outage_open=True), Verdict.OPEN, since)
    return Step(down, Verdict.SUSPECT)


# --- notice windows -------------------------------------------------------------------------------

WIRELESS_PRODUCTS = frozenset({"wireless"})


def monitoring_service(product_type: str | None) -> Service:
    """Which monitoring service's window a device's failure notice keeps to.

    Wireless (APs): service-status monitoring Mon–Fri 9–17; everything else a UTM/router plan
    watches (appliances, switches behind them): liveness monitoring Mon–Sat 9–17.
    """
    if product_type in WIRELESS_PRODUCTS:
        return Service.WIRELESS_MONITORING
    return Service.UTM_MONITORING


def notice_due(service: Service, detected_at: datetime, calendar: BusinessCalendar) -> datetime:
    """When a failure notice may go out: at once inside the window, else the next opening."""
    return calendar.next_service_start(service, detected_at)


def retry_delay(attempts: int, *, base_seconds: int = 60, cap_seconds: int = 3600) -> timedelta:
    """Backoff before the next delivery attempt after `attempts` failures: 1, 2, 4 … min, capped."""
    if attempts < 1:
        raise ValueError(f"a retry follows at least one failure, got {attempts}")
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** (attempts - 1)))


# --- failure notices ------------------------------------------------------------------------------

SIGNATURE_HEADER = "X-Netkeep-Signature"


def notice_signature(secret: str, timestamp: int, raw: bytes) -> str:
    """The outbound webhook's signature header value: `t=<unix>,v1=<hex>`, where v1 is
    HMAC-SHA256 with the customer's secret over `<unix>.` + the raw body (as Stripe signs)."""
    import hashlib
    import hmac

    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


@dataclass(frozen=True, slots=True)
class NoticeFacts:
    """What a failure notice says."""

    customer: str | None
    serial: str
    site: str | None
    since_tokyo: str
    """When the device went down, already in Asia/Tokyo ("2026-12-07 10:00 JST")."""
    outage_id: int
    vpn_peer: str | None = None
    """A VPN outage's peer (the device itself answers; its tunnel to this peer is down)."""
    until_tokyo: str | None = None
    """When it came back (a recovery notice), in Asia/Tokyo."""


def failure_mail(facts: NoticeFacts) -> tuple[str, str]:
    """The Japanese failure notice: subject and body."""
    site = facts.site or "(設置場所未登録)"
    if facts.vpn_peer:
        subject = f"【障害通知】{site} {facts.serial} VPN切断 ({facts.vpn_peer})"
        what = [
            "監視中の機器のVPN接続が切断されましたので、お知らせいたします。",
            "",
            f"  機器シリアル: {facts.serial}",
            f"  VPN接続先: {facts.vpn_peer}",
        ]
        english = "(Failure notice: the device's VPN tunnel above is down; we will follow up.)"
    else:
        subject = f"【障害通知】{site} {facts.serial} 応答なし"
        what = [
            "監視中の機器からの応答が途絶えましたので、お知らせいたします。",
            "",
            f"  機器シリアル: {facts.serial}",
        ]
        english = "(Failure notice: the device above stopped responding; we will follow up.)"
    body = "\n".join(
        [
            f"{facts.customer or 'お客様'} 御中",
            "",
            "いつもお世話になっております。",
            *what,
            f"  設置場所: {site}",
            f"  発生時刻: {facts.since_tokyo} から",
            f"  管理番号: 障害 {facts.outage_id}",
            "",
            "状況を確認のうえ、あらためてご連絡いたします。",
            english,
        ]
    )
    return subject, body


def recovery_mail(facts: NoticeFacts) -> tuple[str, str]:
    """The Japanese recovery notice: subject and body (the outage's start and end)."""
    site = facts.site or "(設置場所未登録)"
    what = f"VPN接続 ({facts.vpn_peer})" if facts.vpn_peer else "機器からの応答"
    subject = f"【復旧通知】{site} {facts.serial} " + (
        f"VPN復旧 ({facts.vpn_peer})" if facts.vpn_peer else "応答復旧"
    )
    body = "\n".join(
        [
            f"{facts.customer or 'お客様'} 御中",
            "",
            "いつもお世話になっております。",
            f"先にお知らせした障害について、{what}が復旧しましたので、お知らせいたします。",
            "",
            f"  機器シリアル: {facts.serial}",
            f"  設置場所: {site}",
            f"  発生時刻: {facts.since_tokyo}",
            f"  復旧時刻: {facts.until_tokyo or '-'}",
            f"  管理番号: 障害 {facts.outage_id}",
            "",
            "(Recovery notice: the failure we reported is over.)",
        ]
    )
    return subject, body

"""The receiver's checks on one payload (pure): the secret, the freshness, the fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import AuthenticationFailed, ValidationFailed
from monitoring.alerts import ReceiverPolicy, alert_kind, check_payload

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
SECRET = "s3cret-value"


def body(**changes: object) -> bytes:
    base = {
        "version": "0.1",
        "sharedSecret": SECRET,
        "sentAt": "2026-12-07T00:59:30.000000Z",
        "alertId": "0000aaaa1111bbbb",
        "alertType": "APs went down",
        "deviceSerial": "Q3AJ-DDDD-0001",
    }
    return json.dumps(base | changes).encode()


def test_a_good_payload_passes() -> None:
    assert check_payload(body(), policy=ReceiverPolicy(SECRET), now=NOW)["alertId"] == (
        "0000aaaa1111bbbb"
    )


def test_no_secret_configured_refuses_everything_unless_allowed() -> None:
    with pytest.raises(AuthenticationFailed):
        check_payload(body(), policy=ReceiverPolicy(None), now=NOW)
    with pytest.raises(AuthenticationFailed):  # refused before the body is even read
        check_payload(b"not json", policy=ReceiverPolicy(None), now=NOW)
    allowed = ReceiverPolicy(None, allow_without_secret=True)
    assert check_payload(body(sharedSecret=None), policy=allowed, now=NOW)["alertType"]


@pytest.mark.parametrize("given", ["s3cret-valuf", "", None, 12, "S3CRET-VALUE", SECRET + " "])
def test_a_wrong_secret_is_refused(given: object) -> None:
    with pytest.raises(AuthenticationFailed):
        check_payload(body(sharedSecret=given), policy=ReceiverPolicy(SECRET), now=NOW)


@pytest.mark.parametrize(
    ("sent_at", "fresh"),
    [
        ("2026-12-07T00:55:00Z", True),  # exactly 5 minutes old
        ("2026-12-07T00:54:59Z", False),  # one second more
        ("2026-12-07T01:01:00Z", True),  # a minute ahead: clock skew allowed
        ("2026-12-07T01:01:01Z", False),
        ("yesterday", False),
    ],
)
def test_freshness(sent_at: str, fresh: bool) -> None:
    policy = ReceiverPolicy(SECRET, max_age=timedelta(minutes=5))
    if fresh:
        assert check_payload(body(sentAt=sent_at), policy=policy, now=NOW)
    else:
        with pytest.raises(ValidationFailed) as refused:
            check_payload(body(sentAt=sent_at), policy=policy, now=NOW)
        assert [p.location for p in refused.value.problems] == ["sentAt"]


def test_every_field_problem_is_named() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_payload(
            body(alertId="", alertType=None, sentAt=None, deviceSerial="X" * 15),
            policy=ReceiverPolicy(SECRET),
            now=NOW,
        )
    locations = [p.location for p in refused.value.problems]
    assert locations == ["alertId", "alertType", "sentAt", "deviceSerial"]


@pytest.mark.parametrize(
    ("alert_type", "kind"),
    [
        ("Appliance went down", "down"),
        ("APs went down", "down"),
        ("APs came up", "up"),
        ("VPN connectivity changed", "vpn"),
        ("Settings changed", "settings"),
        ("Rogue AP detected", "other"),
    ],
)
def test_alert_kinds(alert_type: str, kind: str) -> None:
    assert alert_kind(alert_type) == kind

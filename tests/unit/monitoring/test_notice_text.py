"""The failure notice's words and the outbound webhook's signature (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.calendar import TOKYO
from monitoring.domain import (
    Debounce,
    NoticeFacts,
    Verdict,
    failure_mail,
    notice_signature,
    observe,
    recovery_mail,
)

# HMAC-SHA256(key "whsec_test", "1765000000." + body), computed once with Python's hmac module
KNOWN = "f626310e6d7f5bb0a42f8eafbe713c0ccd44218b8c331abed517e4f37d90960d"


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    raw = b'{"serial":"Q2FY-AAAA-0001"}'
    assert notice_signature("whsec_test", 1765000000, raw) == f"t=1765000000,v1={KNOWN}"
    assert KNOWN not in notice_signature("whsec_test", 1765000001, raw)
    assert KNOWN not in notice_signature("whsec_tesT", 1765000000, raw)


def test_the_mail_names_serial_site_and_since_when() -> None:
    facts = NoticeFacts(
        "なにわ物産株式会社", "Q2KY-BBBB-0003", "大阪支店", "2026-12-07 10:58 JST", 7
    )
    subject, body = failure_mail(facts)
    assert subject == "【障害通知】大阪支店 Q2KY-BBBB-0003 応答なし"
    lines = body.splitlines()
    assert lines[0] == "なにわ物産株式会社 御中"
    assert "  機器シリアル: Q2KY-BBBB-0003" in lines
    assert "  設置場所: 大阪支店" in lines
    assert "  発生時刻: 2026-12-07 10:58 JST から" in lines
    assert "  管理番号: 障害 7" in lines


def test_the_mail_without_site_or_customer() -> None:
    subject, body = failure_mail(NoticeFacts(None, "Q2KY-BBBB-0003", None, "x", 1))
    assert subject == "【障害通知】(設置場所未登録) Q2KY-BBBB-0003 応答なし"
    assert body.splitlines()[0] == "お客様 御中"
    assert "  設置場所: (設置場所未登録)" in body.splitlines()


def test_the_default_debounce_is_two_polls() -> None:
    t = datetime(2026, 12, 7, 10, tzinfo=TOKYO)
    first = observe(None, status="offline", changed_at=None, now=t, debounce=Debounce())
    second = observe(
        first.track,
        status="offline",
        changed_at=None,
        now=t + timedelta(minutes=1),
        debounce=Debounce(),
    )
    assert (first.verdict, second.verdict) == (Verdict.SUSPECT, Verdict.OPEN)


def test_the_vpn_failure_mail_names_the_peer() -> None:
    facts = NoticeFacts(
        "なにわ物産株式会社", "Q2KY-BBBB-0003", "大阪支店", "2026-12-07 10:58 JST", 8, "N_tokyo"
    )
    subject, body = failure_mail(facts)
    assert subject == "【障害通知】大阪支店 Q2KY-BBBB-0003 VPN切断 (N_tokyo)"
    lines = body.splitlines()
    assert "  VPN接続先: N_tokyo" in lines
    assert "  発生時刻: 2026-12-07 10:58 JST から" in lines
    assert "応答が途絶えました" not in body  # the device itself answers


def test_the_recovery_mail_says_from_when_until_when() -> None:
    facts = NoticeFacts(
        "なにわ物産株式会社",
        "Q2KY-BBBB-0003",
        "大阪支店",
        "2026-12-07 10:58 JST",
        7,
        until_tokyo="2026-12-07 13:20 JST",
    )
    subject, body = recovery_mail(facts)
    assert subject == "【復旧通知】大阪支店 Q2KY-BBBB-0003 応答復旧"
    lines = body.splitlines()
    assert lines[0] == "なにわ物産株式会社 御中"
    assert "  発生時刻: 2026-12-07 10:58 JST" in lines
    assert "  復旧時刻: 2026-12-07 13:20 JST" in lines
    assert "  管理番号: 障害 7" in lines
    vpn_subject, vpn_body = recovery_mail(
        NoticeFacts(None, "Q2KY-BBBB-0003", None, "x", 7, "N_tokyo", "y")
    )
    assert vpn_subject == "【復旧通知】(設置場所未登録) Q2KY-BBBB-0003 VPN復旧 (N_tokyo)"
    assert vpn_body.splitlines()[0] == "お客様 御中"
    assert "VPN接続 (N_tokyo)が復旧しました" in vpn_body

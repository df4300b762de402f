"""The completion notice (作業完了のお知らせ) in Japanese: pure text from the request's rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from core.timeutil import show

SECRET_CHANGED: Final = "変更あり (changed)"
_LABELS: Final = {
    "network": "ネットワーク",
    "device": "機器",
    "managementInterface": "機器WAN設定",
    "vlansSettings": "VLAN設定",
    "vlan": "VLAN",
    "l3FirewallRules": "L3ファイアウォールルール",
    "l7FirewallRules": "L7ファイアウォールルール",
    "portForwardingRules": "ポートフォワーディング",
    "oneToOneNatRules": "1:1 NAT",
    "contentFiltering": "コンテンツフィルタ",
    "security/intrusion": "IPS (侵入防止)",
    "security/malware": "マルウェア対策",
    "ssid": "SSID",
    "rfProfile": "RFプロファイル",
    "cli": "ルータ設定 (CLI)",
}
_ACTIONS: Final = {"create": "追加", "update": "変更", "delete": "削除", "disable": "無効化"}
MAX_VALUE: Final = 80


@dataclass(frozen=True, slots=True)
class NoticeText:
    subject: str
    body: str


def _label(resource: str) -> str:
    kind, _, ident = resource.partition("/")
    if resource in _LABELS:
        return _LABELS[resource]
    name = _LABELS.get(kind, kind)
    return f"{name} {ident}".strip()


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def change_lines(rows: list[dict[str, Any]]) -> list[str]:
    """One line per changed setting; a secret shows only that it changed, never a value."""
    lines: list[str] = []
    for row in rows:
        action = str(row.get("action", ""))
        head = f"{_label(str(row.get('resource', '')))} ({_ACTIONS.get(action, action)})"
        if "commands" in row:
            lines.append(f"・{head}: {len(row['commands'])} 行の設定を投入")
            lines += [f"    {c}" for c in row["commands"]]
            continue
        fields = row.get("fields") or []
        if not fields:
            lines.append(f"・{head}")
        for f in fields:
            if f.get("secret"):
                lines.append(f"・{head} {f.get('field', '')}: {SECRET_CHANGED}")
            else:
                before = "" if f.get("before") in (None, "") else _value(f["before"])
                after = _value(f.get("after"))
                arrow = f"{before} → {after}" if before else after
                lines.append(f"・{head} {f.get('field', '')}: {arrow}")
    return lines or ["・変更なし (設定はご依頼の内容と既に一致していました / already as requested)"]


def completion_notice(
    *,
    number: str,
    customer: str,
    requester: str,
    site: str,
    summary: str,
    rows: list[dict[str, Any]],
    applied_at: datetime,
    window_last_day: date,
    days: int,
    sender_name: str,
) -> NoticeText:
    """The work-completion mail of seed 001, with the defect window's last day in JST."""
    subject = f"【設定変更完了のお知らせ】依頼番号 {number}"
    who = f"{requester} 様" if requester else "ご担当者 様"
    body = "\n".join(
        [
            f"{customer} 御中",
            who,
            "",
            "いつもお世話になっております。",
            "ご依頼いただいた設定変更作業が完了しましたので、お知らせいたします。",
            "",
            f"■ 依頼番号: {number}",
            f"■ 対象サイト: {site}",
            *([f"■ ご依頼内容: {summary}"] if summary else []),
            f"■ 作業完了日時: {show(applied_at)}",
            "■ 変更内容:",
            *change_lines(rows),
            "",
            f"■ 不具合のご連絡期限: {window_last_day:%Y年%m月%d日} (JST) まで",
            f"  本メール送信日の翌日から{days}日以内に不具合のご連絡がない場合、",
            "  本作業は完了（検収）したものといたします。",
            "  パスワード等の秘密情報は本メールに記載しておりません。",
            "",
            sender_name,
        ]
    )
    return NoticeText(subject, body + "\n")

"""The customer's VPN status report (VPN接続状況報告書) as a Japanese PDF, and as CSV."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from datetime import datetime

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from core.csv_export import csv_text
from core.fonts import pdf_font
from core.timeutil import show
from vpn.domain import NOTE_CGNAT, NOTE_RECONNECT, EventKind, SiteReport
from vpn.models import VpnEvent, VpnReport

EVENT_LABELS = {
    EventKind.PEER_DOWN.value: "対向拠点 切断",
    EventKind.PEER_UP.value: "対向拠点 復旧",
    EventKind.WAN_IP_CHANGED.value: "WAN IP 変更",
}
CSV_HEADER = (
    "取得日時 Taken at",
    "お客様 Customer",
    "拠点 Site",
    "ネットワークID Network",
    "機器状態 Device",
    "モード Mode",
    "WAN IP",
    "WAN IP変更 Changed",
    "前回WAN IP Previous",
    "対向拠点 Peer",
    "対向ネットワークID Peer network",
    "状態 State",
    "この状態になった時刻 Since",
)


def report_sites(report: VpnReport, customer: str | None = None) -> list[SiteReport]:
    """The snapshot's sites, only the customer's when one is named."""
    sites = [SiteReport.from_dict(s) for s in report.sites]
    return [s for s in sites if customer is None or s.customer == customer]


def _state(reachable: bool) -> str:
    return "接続中 reachable" if reachable else "未接続 unreachable"


def _since(moment: datetime, first_seen: bool) -> str:
    return f"{show(moment)}{'（初回観測）' if first_seen else ''}"


def render_report_pdf(
    report: VpnReport,
    events: Sequence[VpnEvent],
    *,
    customer: str | None = None,
    provider: str = "当社",
) -> bytes:
    """The report as PDF bytes: period, per site WAN IP, peers and since when, changes, notes."""
    font = pdf_font()
    sites = report_sites(report, customer)
    site_ids = {s.network_id for s in sites}
    changes = [e for e in events if e.network_id in site_ids]
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setTitle(f"VPN接続状況報告書 VPN-{report.id}")
    width, height = A4
    left, right, bottom = 50.0, width - 50.0, 60.0
    y = height - 60.0

    def line(text: str, size: float = 9.5, gap: float = 14.0, x: float = left) -> None:
        nonlocal y
        for part in _wrap(text, font, size, right - x):
            if y < bottom:
                pdf.showPage()
                y = height - 60.0
            pdf.setFont(font, size)
            pdf.drawString(x, y, part)
            y -= gap

    pdf.setFont(font, 9)
    pdf.drawRightString(right, y, f"報告書番号 VPN-{report.id:06d}  作成 {show(report.taken_at)}")
    y -= 34
    line("VPN接続状況報告書", size=18, gap=16)
    line("VPN connection status report", size=9, gap=28)
    line(f"{customer or '各お客様'} 御中", size=13, gap=24)
    start = report.previous_taken_at or report.taken_at
    line(f"対象期間 Period: {show(start)} 〜 {show(report.taken_at)}", gap=16)
    down = sum(1 for s in sites for p in s.peers if not p.reachable)
    wan = sum(1 for s in sites if s.wan_ip_changed)
    line(
        f"拠点数 {len(sites)} / 対向数 {sum(len(s.peers) for s in sites)} / "
        f"未接続の対向 {down} / WAN IP変更 {wan}",
        gap=24,
    )
    for site in sites:
        line(f"■ {site.name}（{site.network_id}）", size=11, gap=16)
        line(
            f"機器 {site.serial or '—'}  状態 {site.device_status}  モード {site.mode}",
            x=left + 12,
        )
        wan_text = f"WAN IP（グローバルIP）: {site.public_ip or '取得できず'}"
        if site.wan_ip_changed:
            wan_text += f"  ※変更あり（前回 {site.previous_public_ip} → 今回 {site.public_ip}）"
        line(wan_text, x=left + 12)
        if not site.peers:
            line("対向拠点なし", x=left + 24)
        for peer in site.peers:
            line(
                f"対向 {peer.name}（{peer.network_id}）: {_state(peer.reachable)}  "
                f"{_since(peer.since, peer.first_seen)} から",
                x=left + 24,
            )
        y -= 6
    line("期間中の変化 Changes", size=11, gap=16)
    if not changes:
        line("期間中の変化はありません。", x=left + 12)
    for event in changes:
        who = f" 対向 {event.peer_name}（{event.peer_network_id}）" if event.peer_network_id else ""
        detail = f"  {event.detail}" if event.detail else ""
        line(
            f"{show(event.at)}  {event.site_name}: {EVENT_LABELS.get(event.kind, event.kind)}"
            f"{who}{detail}",
            x=left + 12,
        )
    y -= 8
    line("ご注意 Notes", size=11, gap=16)
    line(f"※{NOTE_CGNAT}", size=9, x=left + 12)
    line(f"※{NOTE_RECONNECT}", size=9, x=left + 12)
    line(provider, size=10.5, gap=16, x=right - 140)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _wrap(text: str, font: str, size: float, room: float) -> list[str]:
    """Break a line (Japanese has no spaces to break at) so each part fits the page."""
    parts, current = [], ""
    for char in text:
        if current and pdfmetrics.stringWidth(current + char, font, size) > room:
            parts.append(current)
            current = char
        else:
            current += char
    parts.append(current)
    return parts


def report_csv(report: VpnReport, *, customer: str | None = None) -> str:
    """One row per site and peer, through the one safe CSV writer (UTF-8 with a BOM for Excel)."""
    return csv_text(_csv_rows(report, customer))


def _csv_rows(report: VpnReport, customer: str | None) -> Iterator[list[str]]:
    yield list(CSV_HEADER)
    taken = show(report.taken_at)
    for site in report_sites(report, customer):
        head = [
            taken,
            site.customer or "",
            site.name,
            site.network_id,
            site.device_status,
            site.mode,
            site.public_ip or "",
            "変更あり" if site.wan_ip_changed else "",
            site.previous_public_ip or "",
        ]
        if not site.peers:
            yield [*head, "", "", "", ""]
        for peer in site.peers:
            yield [
                *head,
                peer.name,
                peer.network_id,
                "接続中" if peer.reachable else "未接続",
                _since(peer.since, peer.first_seen),
            ]

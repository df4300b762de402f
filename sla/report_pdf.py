"""The monthly SLA credit report (SLA減額明細) as an A4 PDF in Japanese."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from core.fonts import pdf_font
from core.timeutil import show
from rma.domain import format_yen
from sla.service import CreditReport

_CAUSE = {"provider": "当社起因", "negligence": "故意・重過失", "customer": "お客様起因"}
_BASIS = {"calendar_days": "暦日割", "year_365": "365日割"}


def render_credit_report(report: CreditReport, *, provider: str = "当社") -> bytes:
    """Per contract: the outages that earned a credit, the credit and tax; then the totals."""
    font = pdf_font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setTitle(f"SLA減額明細 {report.month}")
    width, height = A4
    left = 50.0
    y = height - 60.0

    def text(s: str, size: float = 9.5, x: float = left, right: bool = False) -> None:
        pdf.setFont(font, size)
        if right:
            pdf.drawRightString(x, y, s)
        else:
            pdf.drawString(x, y, s)

    def down(gap: float) -> None:
        nonlocal y
        y -= gap
        if y < 70:
            pdf.showPage()
            y = height - 60.0

    year, month = report.month.split("-")
    text(f"SLA減額明細（{year}年{int(month)}月分）", size=16)
    down(16)
    text("Monthly SLA credit report", size=9)
    down(28)
    text(
        "サービスを全く利用できない状態が、当社が知った時刻から24時間以上連続した場合の減額です。",
        9,
    )
    down(14)
    text("税抜の月額料金を基に算定し、1円未満の端数は切り捨てています。", 9)
    down(26)
    for total in report.totals:
        text(f"{total.contract}  {total.customer} 御中", size=11)
        down(18)
        for r in (row for row in report.rows if row.contract == total.contract):
            span = f"{show(r.started_at)} – {show(r.ended_at)}"
            unit = (
                f"{r.full_days}日"
                if r.full_days
                else f"{r.seconds // 3600}時間{r.seconds % 3600 // 60}分"
            )
            text(f"障害 {r.outage_id}  {span}", 9, x=left + 10)
            text(format_yen(r.credit_yen), 9, x=width - 60, right=True)
            down(13)
            text(
                f"{_CAUSE.get(r.cause, r.cause)} / {_BASIS.get(r.basis, r.basis)} / "
                f"月額 {format_yen(r.monthly_fee_yen)} / {unit}",
                8.5,
                x=left + 24,
            )
            down(15)
        text("減額合計（税抜） Credit", 9.5, x=left + 10)
        text(format_yen(total.credit_yen), 9.5, x=width - 60, right=True)
        down(13)
        text("消費税相当額（10%） Tax", 9.5, x=left + 10)
        text(format_yen(total.tax_yen), 9.5, x=width - 60, right=True)
        down(8)
        pdf.line(left, y, width - 60, y)
        down(22)
    if not report.totals:
        text("当月の減額対象はありません。 No credits this month.", 10)
        down(20)
    if report.ongoing:
        text("継続中の障害（復旧後に算定） Ongoing outages:", 9)
        down(13)
        for contract, outage_id, started in report.ongoing:
            text(f"{contract}  障害 {outage_id}  {show(started)} –", 8.5, x=left + 10)
            down(12)
    down(10)
    text(provider, 10.5, x=width - 200)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()

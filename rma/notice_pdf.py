"""The damage-charge notice (機器損害金のご請求) as a one-page A4 PDF in Japanese."""

from __future__ import annotations

import io
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from core.fonts import pdf_font
from rma.domain import format_yen
from rma.views import DamageNotice


def _day(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else "—"


def render_damage_notice(notice: DamageNotice, *, provider: str = "当社") -> bytes:
    """The notice as PDF bytes: customer, contract, unit, dates, amounts and the clause."""
    font = pdf_font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setTitle(f"機器損害金のご請求 {notice.number}")
    width, height = A4
    left, y = 60.0, height - 70.0

    def line(text: str, size: float = 10.5, gap: float = 20.0, x: float = left) -> None:
        nonlocal y
        pdf.setFont(font, size)
        pdf.drawString(x, y, text)
        y -= gap

    pdf.setFont(font, 10)
    pdf.drawRightString(width - 60, y, f"発行日 {_day(notice.issued_on)}  {notice.number}")
    y -= 40
    line("機器損害金のご請求", size=18, gap=16)
    line("Equipment damage charge notice", size=9, gap=34)
    line(f"{notice.customer} 御中", size=13, gap=30)
    line("平素より格別のご高配を賜り、厚く御礼申し上げます。", gap=16)
    line("先出しセンドバック保守にて代替機を発送いたしましたが、返却期間を経過しても", gap=16)
    line(
        "障害機のご返却を確認できませんでしたので、下記のとおり機器損害金をご請求いたします。",
        gap=30,
    )
    rows = (
        ("ご契約番号 Contract", notice.contract_number or "—"),
        ("障害機 機種 Model", notice.failed_model),
        ("障害機 シリアル番号 Serial", notice.failed_serial),
        ("代替機発送日 Shipped", _day(notice.shipped_on)),
        ("返却期限 Return due", _day(notice.due_date)),
        ("機器損害金（税抜） Net", format_yen(notice.net_yen)),
        ("消費税（10%） Tax", format_yen(notice.tax_yen)),
        ("ご請求金額（税込） Total", format_yen(notice.total_yen)),
    )
    for label, value in rows:
        pdf.setFont(font, 10.5)
        pdf.drawString(left, y, label)
        pdf.drawRightString(width - 80, y, value)
        pdf.line(left, y - 5, width - 80, y - 5)
        y -= 24
    y -= 10
    line(f"根拠条項: {notice.clause}", size=9.5, gap=16)
    line("※消費税の1円未満の端数は切り捨てています。", size=9, gap=16)
    if notice.credited:
        line("※本請求は取消（クレジット）済みです。", size=9, gap=16)
    line(provider, size=10.5, gap=16, x=width - 200)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()

"""The installation preparation sheet (導入準備シート) as an A4 PDF in Japanese."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from survey.diagram import japanese_font, network_drawing
from survey.domain import EXCLUSION_LABELS, MOUNTING_LABELS
from survey.snapshot import SurveyData

TITLE = "導入準備シート"
CAVEATS = (
    "アクセスポイントは工事を伴わない場所にのみ設置します。お客様の他のアクセスポイントとの"
    "ローミングは対象外です。",
    "屋外および脚立が必要な高所は調査・設置の対象外です（下記「対象外箇所」）。",
    "すべての端末の接続を保証するものではありません。",
    "設置後に発生する電波干渉（近隣の無線LAN、電子レンジ等）による影響は保証いたしかねます。",
    "機器の設定変更等により本シートの変更が必要となった場合は、お客様からご連絡いただき、"
    "当社が本シートを更新（新しい版を発行）します。",
    "お客様のご承認（完了確認欄へのご署名）をいただくまで、サービスの提供を保留する場合が"
    "あります。",
)
COPIES = ("お客様控え", "当社控え")
FRAME_WIDTH = A4[0] - 36 * mm


def _day(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else "—"


def _styles() -> dict[str, ParagraphStyle]:
    font = japanese_font()
    base = ParagraphStyle("base", fontName=font, fontSize=9.5, leading=14, wordWrap="CJK")
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11),
        "title": ParagraphStyle("title", parent=base, fontSize=20, leading=26),
        "h2": ParagraphStyle("h2", parent=base, fontSize=13, leading=18, spaceBefore=8),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "centre": ParagraphStyle("centre", parent=base, alignment=TA_CENTER, fontSize=12),
    }


def _table(
    rows: list[list[object]], widths: list[float] | None = None, header: bool = True
) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    style: list[Any] = [
        ("FONTNAME", (0, 0), (-1, -1), japanese_font()),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.93, 0.97)))
    table.setStyle(TableStyle(style))
    return table


def _signature_block(copy: str, version: int, styles: dict[str, ParagraphStyle]) -> Table:
    rows: list[list[object]] = [
        [Paragraph(f"完了確認（{copy}）", styles["centre"]), ""],
        [
            Paragraph(f"導入準備シート 第{version}版の内容を確認し、承認します。", styles["base"]),
            "",
        ],
        ["お名前 Name", ""],
        ["日付 Date", "　　　　年　　　月　　　日"],
        ["ご署名 Signature", ""],
    ]
    table = Table(
        rows,
        colWidths=[40 * mm, FRAME_WIDTH - 40 * mm],
        rowHeights=[9 * mm, 9 * mm, 13 * mm, 11 * mm, 18 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), japanese_font()),
                ("FONTSIZE", (0, 0), (-1, -1), 9.5),
                ("SPAN", (0, 0), (1, 0)),
                ("SPAN", (0, 1), (1, 1)),
                ("BOX", (0, 0), (-1, -1), 1.0, colors.black),
                ("GRID", (0, 2), (-1, -1), 0.5, colors.grey),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


def render_prep_sheet(
    data: SurveyData,
    *,
    version: int,
    issued_on: date | None,
    coverage: Mapping[str, bytes],
    draft: bool = False,
    provider: str = "当社",
) -> bytes:
    """The sheet for one version; `coverage` maps floor name → coverage PNG bytes."""
    styles = _styles()
    font = japanese_font()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"{TITLE} {data.number} 第{version}版",
        author=provider,
        invariant=True,
    )
    story: list[Flowable] = []
    mark = "（下書き DRAFT）" if draft else ""
    story.append(Paragraph(f"{TITLE}{mark}", styles["title"]))
    story.append(Paragraph("Installation preparation sheet / site survey result", styles["small"]))
    story.append(Spacer(1, 4 * mm))
    info = [
        ["版 Version", f"第{version}版", "発行日 Issued", _day(issued_on)],
        ["お客様 Customer", data.customer, "ご契約番号 Contract", data.contract_number or "—"],
        ["設置場所 Site", data.site, "調査番号 Survey", data.number],
        ["住所 Address", data.address or "—", "", ""],
        ["調査日 Survey date", _day(data.survey_date), "調査担当 Surveyor", data.surveyor],
    ]
    info_table = _table(
        [[Paragraph(str(c), styles["cell"]) for c in row] for row in info],
        [32 * mm, 55 * mm, 32 * mm, FRAME_WIDTH - 119 * mm],
        header=False,
    )
    info_table.setStyle(TableStyle([("SPAN", (1, 3), (3, 3))]))
    story.append(info_table)

    story.append(Paragraph("ネットワーク構成図 Network diagram", styles["h2"]))
    drawing = network_drawing(data, width=FRAME_WIDTH)
    max_height = 150 * mm
    if drawing.height > max_height:
        factor = max_height / drawing.height
        drawing.scale(factor, factor)
        drawing.width, drawing.height = drawing.width * factor, max_height
    story.append(drawing)

    story.append(CondPageBreak(40 * mm))
    story.append(Paragraph("SSID（予定） Planned SSIDs", styles["h2"]))
    if data.ssids:
        rows: list[list[object]] = [["SSID", "認証 Auth", "VLAN"]]
        rows += [[s.name, s.auth_mode, str(s.vlan_id or "—")] for s in data.ssids]
        story.append(_table(rows, [70 * mm, 40 * mm, 30 * mm]))
    else:
        story.append(Paragraph("未定（設定時にご確認ください）", styles["base"]))

    for floor in data.floors:
        story.append(PageBreak())
        story.append(
            Paragraph(
                f"フロア {floor.name}　{floor.width_m:g} m × {floor.height_m:g} m　"
                f"測定点 {len(floor.points)}　AP {len(floor.aps)}台",
                styles["h2"],
            )
        )
        picture = coverage.get(floor.name)
        if picture is not None:
            image = Image(io.BytesIO(picture))
            ratio = image.imageHeight / image.imageWidth
            width = FRAME_WIDTH
            height = width * ratio
            if height > 200 * mm:
                height, width = 200 * mm, 200 * mm / ratio
            image.drawWidth, image.drawHeight = width, height
            story.append(image)
        story.append(
            Paragraph(
                "色: 受信強度 RSSI（赤 -90 dBm ～ 緑 -30 dBm）、▲: 設置予定AP、×: 干渉あり、"
                "斜線: 対象外箇所",
                styles["small"],
            )
        )

    story.append(PageBreak())
    story.append(Paragraph("アクセスポイント一覧 Planned access points", styles["h2"]))
    ap_rows: list[list[object]] = [
        ["No.", "名称 Name", "機種", "フロア", "位置 x, y (m)", "設置", "チャネル/出力", "シリアル"]
    ]
    for floor, ap in data.aps:
        ap_rows.append(
            [
                f"AP{ap.number}",
                Paragraph(ap.name, styles["cell"]),
                ap.model,
                floor.name,
                f"{ap.x_m:g}, {ap.y_m:g}",
                MOUNTING_LABELS[ap.mounting],
                Paragraph(ap.radio_text().replace(", ", "<br/>"), styles["cell"]),
                ap.serial or "—",
            ]
        )
    if len(ap_rows) == 1:
        ap_rows.append(["—", "なし", "", "", "", "", "", ""])
    widths = [11, 36, 15, 14, 22, 11, 33, 32]
    story.append(_table(ap_rows, [w * mm for w in widths]))

    story.append(Paragraph("対象外箇所 Excluded areas", styles["h2"]))
    ex_rows: list[list[object]] = [["フロア", "理由 Reason", "範囲 x, y, 幅 × 奥行 (m)", "備考"]]
    for floor in data.floors:
        for area in floor.exclusions:
            ex_rows.append(
                [
                    floor.name,
                    f"{EXCLUSION_LABELS[area.reason]}",
                    f"{area.x_m:g}, {area.y_m:g}, {area.width_m:g} × {area.height_m:g}",
                    Paragraph(area.note or "", styles["cell"]),
                ]
            )
    if len(ex_rows) == 1:
        story.append(Paragraph("なし", styles["base"]))
    else:
        story.append(_table(ex_rows, [20 * mm, 40 * mm, 50 * mm, FRAME_WIDTH - 110 * mm]))

    story.append(
        KeepTogether(
            [
                Paragraph("ご注意 Notes", styles["h2"]),
                *(Paragraph(f"・{text}", styles["base"]) for text in CAVEATS),
            ]
        )
    )

    story.append(PageBreak())
    story.append(Paragraph("完了確認 Completion confirmation", styles["h2"]))
    story.append(
        Paragraph(
            "本シートは2部作成し、お客様と当社で1部ずつ保管します。"
            "ご署名をもって本シートの内容のご承認とします。",
            styles["base"],
        )
    )
    for copy in COPIES:
        story.append(Spacer(1, 8 * mm))
        story.append(_signature_block(copy, version, styles))
    story.append(Spacer(1, 6 * mm))
    story.append(Paragraph(provider, styles["base"]))

    footer = f"{data.number}　{TITLE} 第{version}版{mark}"

    def on_page(canvas: Canvas, _doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.drawString(18 * mm, 9 * mm, footer)
        canvas.drawRightString(A4[0] - 18 * mm, 9 * mm, f"{canvas.getPageNumber()}")
        canvas.restoreState()

    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()

"""The site's network diagram: internet, gateway/UTM, switch if any, and the planned APs.

Built as a reportlab Drawing, so the same picture goes into the PDF as vectors and out as SVG
(pure Python; no graphviz binary, Japanese names in the embedded font).
"""

from __future__ import annotations

from reportlab.graphics import renderSVG
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics

from core.fonts import pdf_font
from survey.snapshot import SurveyData

PER_ROW = 5
BOX_W, BOX_H = 92.0, 54.0
GAP_X, GAP_Y = 12.0, 26.0


def japanese_font() -> str:
    """The registered Japanese font (see core.fonts)."""
    return pdf_font()


def _fit(text: str, size: float, width: float) -> str:
    font = japanese_font()
    while text and pdfmetrics.stringWidth(text, font, size) > width:
        text = text[:-1]
    return text


def _box(
    drawing: Drawing, x: float, y: float, lines: list[str], fill: colors.Color, w: float = BOX_W
) -> None:
    frame = Rect(x, y, w, BOX_H)
    frame.fillColor, frame.strokeColor, frame.strokeWidth = fill, colors.black, 0.8
    drawing.add(frame)
    font = japanese_font()
    for i, text in enumerate(lines[:4]):
        size = 8.0 if i == 0 else 6.5
        drawing.add(
            String(
                x + w / 2,
                y + BOX_H - 12 - i * 11,
                _fit(text, size, w - 6),
                fontName=font,
                fontSize=size,
                textAnchor="middle",
            )
        )


def network_drawing(data: SurveyData, width: float = 520.0) -> Drawing:
    """Top to bottom: internet, gateway, switch, then the APs floor by floor."""
    aps = data.aps
    rows = max(1, -(-len(aps) // PER_ROW))
    tiers = 2 + (1 if data.switch_model else 0)
    height = 20 + tiers * (BOX_H + GAP_Y) + rows * (BOX_H + GAP_Y)
    drawing = Drawing(width, height)
    centre = width / 2
    y = height - 10 - BOX_H
    _box(drawing, centre - BOX_W / 2, y, ["Internet", "インターネット / ONU"], colors.whitesmoke)
    upper = y
    y -= BOX_H + GAP_Y
    drawing.add(Line(centre, upper, centre, y + BOX_H))
    gateway = data.gateway_model or "(未定)"
    _box(drawing, centre - BOX_W / 2, y, ["Gateway / UTM", gateway], colors.lightyellow)
    if data.switch_model:
        upper = y
        y -= BOX_H + GAP_Y
        drawing.add(Line(centre, upper, centre, y + BOX_H))
        _box(drawing, centre - BOX_W / 2, y, ["Switch", data.switch_model], colors.honeydew)
    parent_bottom = y
    bus_y = parent_bottom - GAP_Y / 2
    if aps:
        drawing.add(Line(centre, parent_bottom, centre, bus_y))
    row_width = PER_ROW * BOX_W + (PER_ROW - 1) * GAP_X
    scale = min(1.0, (width - 10) / row_width)
    box_w = BOX_W * scale
    gap = GAP_X * scale
    for index, (floor, ap) in enumerate(aps):
        row, column = divmod(index, PER_ROW)
        x = 5 + column * (box_w + gap)
        top = bus_y - GAP_Y / 2 - row * (BOX_H + GAP_Y)
        drawing.add(Line(x + box_w / 2, top, x + box_w / 2, top + GAP_Y / 2, strokeWidth=0.5))
        if column == 0:
            end = min(len(aps) - row * PER_ROW, PER_ROW) - 1
            right = 5 + end * (box_w + gap) + box_w / 2
            drawing.add(Line(5 + box_w / 2, top + GAP_Y / 2, max(right, centre), top + GAP_Y / 2))
            if row:
                drawing.add(Line(centre, top + GAP_Y / 2, centre, top + GAP_Y + BOX_H))
        label = f"AP{ap.number} {ap.name}"
        _box(
            drawing,
            x,
            top - BOX_H,
            [label, f"{ap.model} {floor.name}", *ap.radio_text().split(", ")],
            colors.aliceblue,
            w=box_w,
        )
    return drawing


def diagram_svg(data: SurveyData) -> bytes:
    """The network diagram as SVG bytes."""
    return renderSVG.drawToString(network_drawing(data)).encode("utf-8")

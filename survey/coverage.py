"""The coverage picture of a floor: layout, excluded areas hatched, readings by RSSI, planned APs.

Drawn with matplotlib's object API (no pyplot state, safe in threads). Labels are Japanese with
English beside them, in the embedded IPAexGothic (`core.fonts`) so they render without a system
Japanese font; the floor's name is the title.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle
from PIL import Image

from core.errors import Problem, ValidationFailed
from core.fonts import japanese_font_file
from survey.domain import Band
from survey.snapshot import FloorData
from survey.storage import MAX_LAYOUT_PIXELS

RSSI_SCALE = (-90.0, -30.0)  # red at -90 dBm, green at -30 dBm
LAYOUT_OPACITY = 0.55


def _font(size: float) -> FontProperties:
    path = japanese_font_file()
    if path is None:
        return FontProperties(size=size)
    return FontProperties(fname=str(path), size=size)


def _layout_picture(layout: bytes, size: tuple[int, int]) -> Image.Image:
    """The layout stretched over the floor's box, faded to 55% over white (a JPEG decoded small)."""
    with Image.open(io.BytesIO(layout)) as image:
        width, height = image.size
        if width * height > MAX_LAYOUT_PIXELS:  # never decode what the upload would refuse
            raise ValidationFailed(
                [Problem(f"the layout is {width}×{height} pixels; upload a smaller one", "layout")]
            )
        image.draft("RGB", size)
        fitted = image.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    return Image.blend(Image.new("RGB", size, "white"), fitted, LAYOUT_OPACITY)


def _under_layout(canvas: FigureCanvasAgg, axes: Any, layout: bytes) -> bytes:
    """The drawn figure (transparent background) laid over the layout, as PNG bytes.

    Compositing in Pillow instead of `imshow` keeps a render's memory to a few copies of the
    picture: matplotlib resamples an image through float arrays of the output size, which cost
    some 300 MB for one 300-dpi picture.
    """
    raw = io.BytesIO()
    canvas.figure.savefig(raw, format="rgba", dpi=canvas.figure.dpi)
    width, height = canvas.get_width_height()
    drawn = Image.frombytes("RGBA", (width, height), raw.getvalue())
    del raw
    box = axes.get_window_extent()
    left, right = round(box.x0), round(box.x1)
    top, bottom = height - round(box.y1), height - round(box.y0)
    picture = Image.new("RGBA", (width, height), "white")
    if right > left and bottom > top:
        picture.paste(_layout_picture(layout, (right - left, bottom - top)), (left, top))
    picture.alpha_composite(drawn)
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def render_coverage(
    floor: FloorData,
    *,
    layout: bytes | None = None,
    band: Band | None = None,
    width_in: float = 8.0,
    dpi: int = 100,
) -> bytes:
    """The floor's coverage picture as PNG bytes, `width_in` × `dpi` pixels wide."""
    aspect = floor.height_m / floor.width_m
    height_in = min(max(width_in * aspect, 2.0), width_in * 3) + 0.8
    figure = Figure(figsize=(width_in, height_in), dpi=dpi, layout="constrained")
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if layout is not None:  # drawn underneath afterwards: see _under_layout
        figure.patch.set_alpha(0.0)
        axes.set_facecolor("none")
    axes.set_xlim(0, floor.width_m)
    axes.set_ylim(floor.height_m, 0)
    axes.set_aspect("equal")
    axes.set_xlabel("横 x (m)", fontproperties=_font(9))
    axes.set_ylabel("縦 y (m)", fontproperties=_font(9))
    title = floor.name if band is None else f"{floor.name} — {band}"
    axes.set_title(title, fontproperties=_font(11))
    axes.add_patch(
        Rectangle((0, 0), floor.width_m, floor.height_m, fill=False, edgecolor="black", lw=1.2)
    )
    for area in floor.exclusions:
        axes.add_patch(
            Rectangle(
                (area.x_m, area.y_m),
                area.width_m,
                area.height_m,
                facecolor=(0.6, 0.6, 0.6, 0.35),
                edgecolor="dimgray",
                hatch="///",
                lw=1.0,
                zorder=2,
            )
        )
    points = [p for p in floor.points if band is None or p.band is band]
    if points:
        xs = np.array([p.x_m for p in points])
        ys = np.array([p.y_m for p in points])
        rssi = np.array([p.rssi_dbm for p in points])
        dots = axes.scatter(
            xs,
            ys,
            c=rssi,
            cmap="RdYlGn",
            vmin=RSSI_SCALE[0],
            vmax=RSSI_SCALE[1],
            s=28,
            edgecolors="black",
            linewidths=0.3,
            zorder=3,
        )
        bar = figure.colorbar(dots, ax=axes, shrink=0.8)
        bar.set_label("受信強度 RSSI (dBm)", fontproperties=_font(9))
        noisy = [p for p in points if p.interference]
        if noisy:
            axes.scatter(
                [p.x_m for p in noisy],
                [p.y_m for p in noisy],
                marker="x",
                c="purple",
                s=40,
                linewidths=1.0,
                zorder=4,
                label="干渉 interference",
            )
            axes.legend(loc="lower right", prop=_font(8))
    for ap in floor.aps:
        axes.scatter(
            [ap.x_m],
            [ap.y_m],
            marker="^",
            s=140,
            c="royalblue",
            edgecolors="black",
            zorder=5,
        )
        axes.annotate(
            f"AP{ap.number}",
            (ap.x_m, ap.y_m),
            xytext=(6, 6),
            textcoords="offset points",
            fontsize=8,
            weight="bold",
            zorder=6,
        )
    if layout is not None:
        return _under_layout(canvas, axes, layout)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()

"""The Japanese font of netkeep's PDFs and pictures.

IPAexGothic (shipped in the japanize-matplotlib package) is embedded, so a notice or report reads
the same on any viewer, including one without Japanese fonts. If that file is missing, the
documents fall back to reportlab's built-in CID font HeiseiKakuGo-W5, which the viewer supplies.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

EMBEDDED_FONT = "IPAexGothic"
FALLBACK_CID_FONT = "HeiseiKakuGo-W5"


@cache
def japanese_font_file() -> Path | None:
    """IPAexGothic's TrueType file, found without importing its package."""
    spec = importlib.util.find_spec("japanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "ipaexg.ttf"
    return path if path.is_file() else None


@cache
def pdf_font() -> str:
    """Register the Japanese font with reportlab once and return its name."""
    path = japanese_font_file()
    if path is not None:
        pdfmetrics.registerFont(TTFont(EMBEDDED_FONT, str(path)))
        return EMBEDDED_FONT
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_CID_FONT))
    return FALLBACK_CID_FONT

"""PDFs embed their Japanese font, so they read the same without Japanese fonts installed."""

import io

import pypdf
from reportlab.pdfgen import canvas

from core.fonts import EMBEDDED_FONT, japanese_font_file, pdf_font


def test_the_embedded_font_is_installed_and_used() -> None:
    assert japanese_font_file() is not None
    assert pdf_font() == EMBEDDED_FONT


def test_a_pdf_carries_the_font_file_and_its_text() -> None:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.setFont(pdf_font(), 12)
    page.drawString(72, 720, "機器損害金のご請求 ¥140,800")
    page.save()
    reader = pypdf.PdfReader(io.BytesIO(buffer.getvalue()))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = [f.get_object() for f in fonts.values() if "/FontDescriptor" in f.get_object()]
    assert [f["/BaseFont"].split("+")[-1] for f in embedded] == [EMBEDDED_FONT]
    assert "/FontFile2" in embedded[0]["/FontDescriptor"]  # the TrueType program itself
    assert "機器損害金のご請求" in reader.pages[0].extract_text()

"""The outputs drawn from survey data: coverage PNG, diagram SVG, the preparation-sheet PDF."""

from __future__ import annotations

import io
import warnings
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date

import pypdf
from PIL import Image

from survey.coverage import render_coverage
from survey.diagram import diagram_svg
from survey.domain import Band, ExclusionReason, Mounting
from survey.prep_sheet_pdf import render_prep_sheet
from survey.snapshot import ApData, ExclusionData, FloorData, PointData, SsidData, SurveyData


def layout_png(size: tuple[int, int] = (60, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "lightgrey").save(buffer, "PNG")
    return buffer.getvalue()


def sample() -> SurveyData:
    floors = [
        FloorData(
            name="1F",
            width_m=30,
            height_m=20,
            exclusions=[
                ExclusionData(ExclusionReason.OUTDOOR, 0, 0, 5, 5, "テラス"),
                ExclusionData(ExclusionReason.LADDER, 20, 0, 10, 4, "吹き抜け"),
            ],
            points=[
                PointData(3, 10, Band.GHZ_5, 36, -48.0, 35.0, interference=True),
                PointData(25, 15, Band.GHZ_24, 6, -82.0),
            ],
            aps=[ApData(1, "1F-受付-AP01", "MR36", 10, 10, Mounting.CEILING, 1, 14, 36, 17)],
        ),
        FloorData(
            name="2F",
            width_m=30,
            height_m=20,
            aps=[
                ApData(
                    2, "2F-事務室-AP02", "CW9162", 15, 8, Mounting.WALL, None, None, 44, 20, 5, 18
                )
            ],
        ),
    ]
    return SurveyData(
        number="SV-000042",
        customer="医療法人あおば会",
        site="あおばクリニック",
        address="宮城県仙台市青葉区一番町3-7-1",
        surveyor="佐藤",
        survey_date=date(2026, 11, 2),
        contract_number="C-2026-001",
        gateway_model="MX67",
        switch_model="MS120-8",
        ssids=[SsidData("AOBA-STAFF", "psk", 10)],
        floors=floors,
    )


def test_coverage_png_has_the_requested_size() -> None:
    floor = sample().floors[0]
    png = render_coverage(floor, layout=layout_png(), width_in=4, dpi=40)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.width == 160
        assert image.height > 60
    without = render_coverage(floor, width_in=4, dpi=40, band=Band.GHZ_24)
    assert without != png


def test_coverage_labels_render_japanese_glyphs() -> None:
    """matplotlib warns "Glyph ... missing from font" when a label falls back to tofu."""
    floor = sample().floors[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        render_coverage(replace(floor, name="1階 受付"), width_in=4, dpi=40)


def test_diagram_svg_names_gateway_switch_and_aps() -> None:
    svg = diagram_svg(sample())
    root = ET.fromstring(svg)
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"MX67", "MS120-8", "AP1 1F-受付-AP01", "AP2 2F-事務室-AP02"} <= texts
    assert "5G ch36/17dBm" in texts and "6G ch5/18dBm" in texts


def pdf_text(pdf: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_preparation_sheet_pdf_in_japanese() -> None:
    data = sample()
    coverage = {f.name: render_coverage(f, width_in=3, dpi=30) for f in data.floors}
    pdf = render_prep_sheet(data, version=3, issued_on=date(2026, 11, 5), coverage=coverage)
    pages, text = pdf_text(pdf)
    assert pages == 5  # cover, 1F, 2F, AP list + exclusions + notes, signatures
    for expected in (
        "導入準備シート",
        "第3版",
        "医療法人あおば会",
        "あおばクリニック",
        "2026年11月2日",
        "2026年11月5日",
        "1F-受付-AP01",
        "CW9162",
        "天井",
        "壁",
        "屋外",
        "脚立が必要な高所",
        "吹き抜け",
        "AOBA-STAFF",
        "すべての端末の接続を保証するものではありません",
        "電波干渉",
        "完了確認（お客様控え）",
        "完了確認（当社控え）",
        "ご署名",
    ):
        assert expected in text, expected
    assert text.count("お名前") == 2
    assert "下書き" not in text
    again = render_prep_sheet(data, version=3, issued_on=date(2026, 11, 5), coverage=coverage)
    assert again == pdf  # invariant: the hash of an issued version can be checked again


def test_draft_preview_is_marked() -> None:
    data = sample()
    pdf = render_prep_sheet(data, version=1, issued_on=None, coverage={}, draft=True)
    _, text = pdf_text(pdf)
    assert "下書き" in text


def test_snapshot_round_trips_through_json() -> None:
    data = sample()
    assert SurveyData.from_json(data.to_json()) == data
    assert SurveyData.from_json(data.to_json()).digest() == data.digest()

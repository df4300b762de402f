"""A PSK equal to the sheet's mask `********` is refused, at its place, on every route in.

The mask is what a masked export shows instead of a secret; taking it back as the PSK would set
every SSID of a re-uploaded export to `********`. So a value equal to the mask is refused (never
silently kept) with the location of the field or cell; any other PSK round-trips.
"""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from core.errors import Problem, ValidationFailed
from provisioning.excel import write_workbook
from provisioning.sheet_io import load_sheet
from provisioning.sheet_model import MASK
from provisioning.validation import validate_sheet

from . import sheets

PSK = "correct-horse-battery-9"
REFUSAL = f"psk is masked ({MASK}); write the secret or a secret:NAME"


def test_the_mask_is_eight_asterisks():
    assert MASK == "********"


@pytest.mark.parametrize(
    ("psk", "refused"),
    [(MASK, True), (f"{MASK}*", False), (f"{MASK}x", False), (f" {MASK}", False), (PSK, False)],
)
def test_only_the_exact_mask_is_refused(psk, refused):
    raw = sheets.wireless()
    raw["ssids"][0]["psk"] = psk
    sheet, problems = validate_sheet(raw, environ={})
    if refused:
        assert (sheet, problems) == (None, [Problem(REFUSAL, "ssids[0].psk")])
    else:
        assert problems == []
        assert sheet is not None and sheet.ssids and sheet.ssids[0].psk
        assert sheet.ssids[0].psk.reveal() == psk


def _workbook(tmp_path, *, reveal: bool):
    raw = sheets.wireless()
    raw["ssids"][0]["psk"] = PSK
    sheet, problems = validate_sheet(raw, environ={})
    assert problems == [] and sheet is not None
    return write_workbook(sheet, tmp_path / "w.xlsx", reveal_secrets=reveal)


def _psk_cell(path, value):
    rows = load_workbook(path)["SSID"].iter_rows()
    return next(cell for row in rows for cell in row if cell.value == value)


def test_a_masked_export_sent_back_is_refused_at_the_psk_cell(tmp_path):
    path = _workbook(tmp_path, reveal=False)
    cell = _psk_cell(path, MASK)
    with pytest.raises(ValidationFailed) as failure:
        load_sheet(path, environ={})
    assert failure.value.problems == [Problem(REFUSAL, f"tab SSID, cell {cell.coordinate}")]


def test_a_revealed_export_round_trips_the_psk(tmp_path):
    path = _workbook(tmp_path, reveal=True)
    assert _psk_cell(path, PSK).value == PSK
    sheet = load_sheet(path, environ={})
    assert sheet.ssids and sheet.ssids[0].psk and sheet.ssids[0].psk.reveal() == PSK

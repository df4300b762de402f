"""The Excel form of a sheet: one tab per section, Japanese headers in row 1, English in row 2.

Data starts on row 3. Nested lists (DHCP reserved ranges, fixed IPs, 1:1 NAT inbound rules, RADIUS
servers) have their own tab whose first column names the parent row (VLAN ID, public IP, SSID
number). A list tab whose first data cell is ``(なし) none`` is an empty list, which a change
request uses to clear a section; an empty tab leaves the section out.

The tab layout is in ``excel_layout`` and reading in ``excel_read``; this module writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from provisioning.excel_layout import EMPTY_MARKER as EMPTY_MARKER
from provisioning.excel_layout import W1, Cell, Column, Shape, Tab
from provisioning.excel_layout import tabs_for as tabs_for
from provisioning.excel_read import read_workbook as read_workbook
from provisioning.sheet_enums import Plan, SheetKind
from provisioning.sheet_model import FORMAT, Sheet, sheet_to_raw

LAST_ROW: Final = 500
_HEADER_FILL: Final = PatternFill("solid", fgColor="DDEBF7")
_ENGLISH_FILL: Final = PatternFill("solid", fgColor="F2F2F2")


def write_cell(value: object, cell: Cell) -> object:
    """A raw sheet value as what goes into an Excel cell."""
    if value is None:
        return None
    if cell is Cell.LIST and isinstance(value, list):
        return "\n".join(str(v) for v in value) or None
    if cell is Cell.DATE and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(value, bool | int | float | dt.date):
        return value
    return str(value)


def _get(item: Mapping[str, Any], path: tuple[str, ...]) -> object:
    value: object = item
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _new_workbook(plan: Plan) -> tuple[Workbook, dict[str, Any]]:
    workbook = Workbook()
    workbook.remove(workbook.active)
    sheets: dict[str, Any] = {}
    for tab in tabs_for(plan):
        ws = workbook.create_sheet(tab.title)
        _headers(ws, tab)
        sheets[tab.title] = ws
    return workbook, sheets


def _headers(ws: Any, tab: Tab) -> None:
    """Header rows, widths, frozen panes and a dropdown for every enum or yes/no column."""
    for index, column in enumerate(tab.all_columns, start=1):
        letter = get_column_letter(index)
        ja, en = ws.cell(1, index, column.ja), ws.cell(2, index, column.en)
        ja.font, ja.fill = Font(bold=True), _HEADER_FILL
        en.font, en.fill = Font(italic=True, color="595959"), _ENGLISH_FILL
        hint = _hint(column)
        if hint:
            en.comment = Comment(hint, "netkeep")
        width = max(len(column.en) + 4, _display_width(column.ja) + 4, 12)
        ws.column_dimensions[letter].width = min(width, 40)
        choices = column.choices or (("TRUE", "FALSE") if column.cell is Cell.BOOL else ())
        if choices:
            rule = DataValidation(type="list", formula1=f'"{",".join(choices)}"', allow_blank=True)
            rule.error = f"{', '.join(choices)} のいずれか / one of {', '.join(choices)}"
            rule.showErrorMessage = True
            ws.add_data_validation(rule)
            rule.add(f"{letter}3:{letter}{LAST_ROW}")
        if column.cell is Cell.LIST:
            for row in range(3, 53):
                ws.cell(row, index).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A3"


def _hint(column: Column) -> str:
    parts = []
    if column.example is not None:
        parts.append(f"例 e.g. {write_cell(column.example, column.cell)}")
    if column.cell is Cell.LIST:
        parts.append("複数は改行またはカンマ区切り / several: one per line or comma-separated")
    if column.cell is Cell.SECRET:
        parts.append("env:変数名 で環境変数から読込 / env:NAME reads an environment variable")
    return "\n".join(parts)


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _write_rows(ws: Any, tab: Tab, items: Iterable[Mapping[str, Any]]) -> None:
    for row, item in enumerate(items, start=3):
        for index, column in enumerate(tab.all_columns, start=1):
            value = write_cell(_get(item, column.path), column.cell)
            if value is not None:
                ws.cell(row, index, value)


def _tab_items(tab: Tab, raw: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The rows a tab gets from a raw sheet; None when its list section is an explicit []."""
    if tab.shape is Shape.ROOT:
        return [dict(raw)]
    section = raw.get(tab.section)
    if tab.shape is Shape.SINGLE:
        return [section] if isinstance(section, dict) else []
    if tab.shape is Shape.LIST:
        return None if section == [] else list(section or [])
    if tab.shape is Shape.PART_LIST:
        part = section.get(tab.child_field) if isinstance(section, dict) else None
        return None if part == [] else list(part or [])
    rows: list[dict[str, Any]] = []
    for parent in section or []:
        ref = {f"@{tab.parent_key}": parent.get(tab.parent_key)}
        children: Any = parent.get(tab.child_field) or {}
        if tab.shape is Shape.CHILD_LIST:
            rows.extend({**ref, **child} for child in children)
        else:
            rows.extend({**ref, tab.map_key: key, **child} for key, child in children.items())
    return rows


def write_workbook(sheet: Sheet, path: str | Path, *, reveal_secrets: bool = False) -> Path:
    """Write a loaded sheet as a workbook that loads back to an equal sheet.

    Secrets read from the environment stay ``env:NAME``; secrets written in the sheet are masked
    unless ``reveal_secrets`` (a masked secret will not load back).
    """
    raw = sheet_to_raw(sheet, reveal_secrets=reveal_secrets)
    workbook, sheets = _new_workbook(sheet.site.plan)
    for tab in tabs_for(sheet.site.plan):
        items = _tab_items(tab, raw)
        if items is None:
            sheets[tab.title].cell(3, 1, EMPTY_MARKER)
        else:
            _write_rows(sheets[tab.title], tab, items)
    file = Path(path)
    workbook.save(file)
    return file


def write_template(
    plan: Plan | str,
    path: str | Path,
    kind: SheetKind | str = SheetKind.SETTINGS,
    *,
    example: bool = False,
) -> Path:
    """A blank workbook for a plan (format, kind and plan filled in), or one example row per tab."""
    plan, kind = Plan(plan), SheetKind(kind)
    workbook, sheets = _new_workbook(plan)
    for tab in tabs_for(plan):
        if example and tab.example_row:
            row = {c.key: c.example for c in tab.all_columns}
        elif tab.shape is Shape.ROOT:
            row = {"format": FORMAT}
        elif tab.shape is Shape.SINGLE and tab.section == "site":
            row = {}
        else:
            continue
        if tab.shape is Shape.ROOT:
            row["kind"] = kind.value
            if kind is SheetKind.SETTINGS:
                row = {k: v for k, v in row.items() if not k.startswith("request.")}
        if tab.section == "site":
            row["plan"] = plan.value
            if example:  # the demo customer's contract of this plan (none for a router)
                row["contract"] = EXAMPLE_CONTRACTS.get(plan)
        if example and tab.section == "devices":
            row.update(_example_device(plan))
        ws = sheets[tab.title]
        for index, column in enumerate(tab.all_columns, start=1):
            value = write_cell(row.get(column.key), column.cell)
            if value is not None:
                ws.cell(3, index, value).font = Font(color="808080", italic=example)
    file = Path(path)
    workbook.save(file)
    return file


EXAMPLE_CONTRACTS = {Plan.UTM: "C-2026-0005", Plan.WIRELESS: "C-2026-0002"}


def _example_device(plan: Plan) -> dict[str, object]:
    if plan is Plan.WIRELESS:
        return {
            "serial": "Q3AJ-DDDD-0002",
            "model": "MR36",
            "name": "本社-1F-AP01",
            "tags": "本社\n1F",
            W1 + "usingStaticIp": False,
            W1 + "staticIp": None,
            W1 + "staticSubnetMask": None,
            W1 + "staticGatewayIp": None,
            W1 + "staticDns": None,
        }
    if plan is Plan.ROUTER:
        return {"serial": "Q2KY-BBBB-0001", "model": "MX68", "name": "本社-MX68"}
    return {}

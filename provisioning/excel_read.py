"""Reading a workbook into the raw sheet, remembering the cell behind every value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from core.errors import Problem, ValidationFailed
from core.workbook import NOT_A_WORKBOOK, not_a_workbook
from provisioning.excel_layout import EMPTY_MARKER, TABS, Cell, Column, Shape, Tab
from provisioning.validation import Loc, SheetSource

_EMPTY_WORDS: Final = frozenset({EMPTY_MARKER.casefold(), "(なし)", "(none)", "なし", "none"})
_TRUE: Final = frozenset({"true", "yes", "y", "1", "はい", "有効", "○", "◯", "on"})
_FALSE: Final = frozenset({"false", "no", "n", "0", "いいえ", "無効", "×", "off"})


def _tab_named(title: str) -> Tab | None:
    wanted = title.strip().casefold()
    for tab in TABS:
        names = {tab.title.casefold(), *(part.casefold() for part in tab.title.split(" ", 1))}
        if wanted in names:
            return tab
    return None


def _section_tabs() -> dict[str, str]:
    tabs: dict[str, str] = {"format": TABS[0].title, "kind": TABS[0].title}
    tabs["request"] = TABS[0].title
    for tab in TABS:
        if tab.section and tab.shape in (Shape.SINGLE, Shape.LIST):
            tabs[tab.section] = tab.title
    return tabs


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def read_cell(value: object, cell: Cell) -> object:
    """An Excel cell value as the raw sheet value for its column type."""
    if cell is Cell.BOOL:
        if isinstance(value, bool):
            return value
        word = _number_text(value).casefold()
        return True if word in _TRUE else False if word in _FALSE else word
    if cell is Cell.INT:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value if isinstance(value, int) else _number_text(value)
    if cell is Cell.FLOAT:
        return value if isinstance(value, int | float) else _number_text(value)
    if cell is Cell.LIST:
        parts = str(value).replace(",", "\n").splitlines()
        return [_number_text(p) for p in parts if p.strip()]
    if cell is Cell.DATE:
        if isinstance(value, dt.datetime):
            return value.date()
        return value if isinstance(value, dt.date) else _number_text(value)
    return _number_text(value)


def _put(target: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


@dataclass
class _Reader:
    """Reads one workbook into the raw sheet, remembering the cell behind every value."""

    source: SheetSource
    raw: dict[str, Any] = field(default_factory=dict)

    def problem(self, message: str, where: str) -> None:
        self.source.problems.append(Problem(message, where))

    def columns(self, ws: Any, tab: Tab) -> dict[int, Column]:
        """Map sheet columns to tab columns by the English (row 2) or Japanese (row 1) header."""
        by_name: dict[str, Column] = {}
        for column in tab.all_columns:
            by_name.setdefault(column.en.casefold(), column)
            by_name.setdefault(column.ja.casefold(), column)
        found: dict[int, Column] = {}
        for index in range(1, ws.max_column + 1):
            en, ja = ws.cell(2, index).value, ws.cell(1, index).value
            if _blank(en) and _blank(ja):
                continue
            known = by_name.get(str(en).strip().casefold()) or by_name.get(
                str(ja).strip().casefold()
            )
            if known is None:
                letter = get_column_letter(index)
                self.problem(
                    f"column {en or ja!s} is not a column of this tab", _at(tab, letter, 2)
                )
            else:
                found[index] = known
        return found

    def rows(self, ws: Any, columns: Mapping[int, Column]) -> Iterable[tuple[int, dict[int, Any]]]:
        for row in range(3, ws.max_row + 1):
            values = {i: ws.cell(row, i).value for i in columns}
            if not all(_blank(v) for v in values.values()):
                yield row, values

    def read(self, ws: Any, tab: Tab) -> None:
        columns = self.columns(ws, tab)
        rows = list(self.rows(ws, columns))
        first = min(columns, default=1)
        if rows and str(rows[0][1].get(first) or "").strip().casefold() in _EMPTY_WORDS:
            if tab.shape is Shape.LIST:
                self.raw[tab.section] = []
            elif tab.shape is Shape.PART_LIST:
                self._part(tab)[tab.child_field] = []
            else:
                self.problem(f"{EMPTY_MARKER} only empties a list tab", _at(tab, "A", rows[0][0]))
            return
        if tab.shape in (Shape.ROOT, Shape.SINGLE) and len(rows) > 1:
            self.problem("this tab holds one row (row 3); remove the others", _row(tab, rows[1][0]))
            rows = rows[:1]
        for position, (row, values) in enumerate(rows):
            self.read_row(tab, columns, position, row, values)

    def read_row(
        self,
        tab: Tab,
        columns: Mapping[int, Column],
        position: int,
        row: int,
        values: dict[int, Any],
    ) -> None:
        item: dict[str, Any] = {}
        cells: dict[tuple[str, ...], str] = {}
        parent_ref: tuple[object, str] | None = None
        for index, column in columns.items():
            where = _at(tab, get_column_letter(index), row)
            if column.key.startswith("@"):
                parent_ref = (values[index], where)
                continue
            cells[column.path] = where
            if not _blank(values[index]):
                _put(item, column.path, read_cell(values[index], column.cell))
        base: Loc
        if tab.shape is Shape.ROOT:
            self.raw.update(item)
            base = ()
        elif tab.shape is Shape.SINGLE:
            self.raw[tab.section] = item
            base = (tab.section,)
        elif tab.shape is Shape.LIST:
            self.raw.setdefault(tab.section, []).append(item)
            base = (tab.section, position)
        elif tab.shape is Shape.PART_LIST:
            self._part(tab).setdefault(tab.child_field, []).append(item)
            base = (tab.section, tab.child_field, position)
        else:
            found = self.attach(tab, item, parent_ref, row)
            if found is None:
                return
            base = found
        if base:
            self.source.cells[base] = _row(tab, row)
        for path, where in cells.items():
            self.source.cells[(*base, *path)] = where
            if tab.shape is Shape.CHILD_MAP and path == (tab.map_key,):
                self.source.cells[(*base, "[key]")] = where

    def _part(self, tab: Tab) -> dict[str, Any]:
        """The single-object section a part-list tab adds to (made if its own tab is empty)."""
        section = self.raw.get(tab.section)
        if not isinstance(section, dict):
            section = self.raw[tab.section] = {}
        return section

    def attach(
        self, tab: Tab, item: dict[str, Any], parent_ref: tuple[object, str] | None, row: int
    ) -> Loc | None:
        """Put a child row under its parent row; its location, or None if it has no parent."""
        header = tab.parent_header[1]
        if parent_ref is None or _blank(parent_ref[0]):
            where = parent_ref[1] if parent_ref else _row(tab, row)
            self.problem(f"{header} is required to say which row this belongs to", where)
            return None
        wanted, where = _number_text(parent_ref[0]).casefold(), parent_ref[1]
        parents: list[dict[str, Any]] = self.raw.get(tab.section) or []
        matches = [
            i
            for i, p in enumerate(parents)
            if _number_text(p.get(tab.parent_key, "")).casefold() == wanted
        ]
        if not matches:
            parent_title = _section_tabs().get(tab.section, tab.section)
            self.problem(f"{header} {parent_ref[0]} is not on tab {parent_title}", where)
            return None
        index = matches[0]
        parent = parents[index]
        if tab.shape is Shape.CHILD_LIST:
            children = parent.setdefault(tab.child_field, [])
            children.append(item)
            return (tab.section, index, tab.child_field, len(children) - 1)
        key = item.pop(tab.map_key, None)
        if key is None:
            self.problem(f"{tab.map_key} is required", _row(tab, row))
            return None
        mapping = parent.setdefault(tab.child_field, {})
        key = str(key)
        if key in mapping:
            self.problem(f"{tab.map_key} {key} is listed twice for {header} {parent_ref[0]}", where)
            return None
        mapping[key] = item
        return (tab.section, index, tab.child_field, key)


def _at(tab: Tab, letter: str, row: int) -> str:
    return f"tab {tab.title}, cell {letter}{row}"


def _row(tab: Tab, row: int) -> str:
    return f"tab {tab.title}, row {row}"


def read_workbook(path: str | Path) -> tuple[dict[str, Any], SheetSource]:
    """The raw sheet of a workbook and the cell each value came from."""
    file = Path(path)
    source = SheetSource(name=file.name, tabs=_section_tabs())
    try:
        workbook = load_workbook(file, data_only=True)
    except NOT_A_WORKBOOK as error:
        size = file.stat().st_size if file.exists() else None
        problem = not_a_workbook(file.name, error, size)
        raise ValidationFailed([problem], f"{file.name}: {problem.message}") from None
    reader = _Reader(source)
    by_tab: dict[str, Any] = {}
    for ws in workbook.worksheets:
        tab = _tab_named(ws.title)
        if tab is None:
            source.problems.append(Problem("is not a tab of a netkeep sheet", f"tab {ws.title}"))
        else:
            by_tab[tab.title] = ws
    for tab in TABS:
        if tab.title in by_tab:
            reader.read(by_tab[tab.title], tab)
    _fix_mac_keys(source)
    return reader.raw, source


def _fix_mac_keys(source: SheetSource) -> None:
    """Also register fixed-IP cells under the normalised MAC, which the rules report with."""
    for loc, where in list(source.cells.items()):
        if len(loc) > 3 and loc[2] == "fixedIpAssignments" and isinstance(loc[3], str):
            normal = loc[3].strip().lower().replace("-", ":")
            source.cells.setdefault((*loc[:3], normal, *loc[4:]), where)

"""The parts of a sheet that validated, with their original positions, for the cross-field rules."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError

from provisioning.sheet_appliance import SiteToSiteVpn
from provisioning.sheet_enums import Plan, SheetKind
from provisioning.sheet_model import (
    APPLIANCE_OBJECT_SECTIONS,
    LIST_SECTIONS,
    SECTION_MODELS,
    ChangeRequest,
    Sheet,
    Site,
)

Loc = tuple[str | int, ...]
Found = tuple[Loc, str]
"""A rule's finding: where, and the message."""
T = TypeVar("T")


@dataclass
class SheetParts:
    """The valid pieces of a sheet; cross-field rules run on these even when others failed."""

    kind: SheetKind | None = None
    plan: Plan | None = None
    request: ChangeRequest | None = None
    site: Site | None = None
    present: frozenset[str] = frozenset()
    items: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    incomplete: set[str] = field(default_factory=set)
    site_to_site_vpn: SiteToSiteVpn | None = None

    def each(self, section: str, model: type[T]) -> Iterator[tuple[int, T]]:
        """The valid items of a list section, with their index in the sheet."""
        for index, item in self.items.get(section, []):
            if isinstance(item, model):
                yield index, item


def _present(raw: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(key for key, value in raw.items() if value is not None and value != [])


def parts_of_sheet(sheet: Sheet, raw: Mapping[str, Any]) -> SheetParts:
    """Parts of a sheet that validated as a whole."""
    items: dict[str, list[tuple[int, Any]]] = {}
    for section in LIST_SECTIONS:
        name = _attribute(section)
        values = getattr(sheet, name) or []
        items[section] = list(enumerate(values))
    parts = SheetParts(sheet.kind, sheet.site.plan, sheet.request, sheet.site, _present(raw), items)
    parts.site_to_site_vpn = sheet.site_to_site_vpn
    return parts


def parts_of_raw(raw: Mapping[str, Any], context: Mapping[str, Any]) -> SheetParts:
    """Validate each section and item on its own, keeping what passes."""
    parts = SheetParts(present=_present(raw))
    try:
        parts.kind = SheetKind(str(raw.get("kind")))
    except ValueError:
        parts.kind = None
    for key in ("site", "request", *APPLIANCE_OBJECT_SECTIONS):
        try:
            value = SECTION_MODELS[key].model_validate(raw.get(key), context=context)
        except ValidationError:
            continue
        if isinstance(value, Site):
            parts.site, parts.plan = value, value.plan
        elif isinstance(value, ChangeRequest):
            parts.request = value
        elif isinstance(value, SiteToSiteVpn):
            parts.site_to_site_vpn = value
    if parts.plan is None and isinstance(raw.get("site"), Mapping):
        try:
            parts.plan = Plan(str(raw["site"].get("plan")))
        except ValueError:
            parts.plan = None
    for section in LIST_SECTIONS:
        values = raw.get(section)
        if not isinstance(values, list):
            continue
        kept: list[tuple[int, Any]] = []
        for index, value in enumerate(values):
            try:
                kept.append((index, SECTION_MODELS[section].model_validate(value, context=context)))
            except ValidationError:
                parts.incomplete.add(section)
        parts.items[section] = kept
    return parts


def _attribute(section: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", section).lower()

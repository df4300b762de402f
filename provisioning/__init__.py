"""Provisioning from sheets: the settings / change-request sheet, its loaders and its validation.

A later step diffs the validated sheet (``dashboard_view``) against the Meraki dashboard.
The names below are imported on first use (PEP 562), so importing one submodule — the tables in
``provisioning.models`` for instance — does not load openpyxl and numpy for every CLI command.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "read_workbook": "provisioning.excel",
    "write_template": "provisioning.excel",
    "write_workbook": "provisioning.excel",
    "dashboard_view": "provisioning.sheet_io",
    "dump_yaml": "provisioning.sheet_io",
    "load_sheet": "provisioning.sheet_io",
    "parse_yaml": "provisioning.sheet_io",
    "read_sheet": "provisioning.sheet_io",
    "FORMAT": "provisioning.sheet_model",
    "Plan": "provisioning.sheet_model",
    "Sheet": "provisioning.sheet_model",
    "SheetKind": "provisioning.sheet_model",
    "SheetSecret": "provisioning.sheet_model",
    "secret_fingerprint": "provisioning.sheet_model",
    "SheetSource": "provisioning.validation",
    "validate_sheet": "provisioning.validation",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'provisioning' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)

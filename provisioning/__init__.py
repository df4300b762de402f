"""Provisioning from sheets: the settings / change-request sheet, its loaders and its validation.

A later step diffs the validated sheet (``dashboard_view``) against the Meraki dashboard.
"""

from provisioning.excel import read_workbook, write_template, write_workbook
from provisioning.sheet_io import dashboard_view, dump_yaml, load_sheet, parse_yaml, read_sheet
from provisioning.sheet_model import FORMAT, Plan, Sheet, SheetKind, SheetSecret, secret_fingerprint
from provisioning.validation import SheetSource, validate_sheet

__all__ = [
    "FORMAT",
    "Plan",
    "Sheet",
    "SheetKind",
    "SheetSecret",
    "SheetSource",
    "dashboard_view",
    "dump_yaml",
    "load_sheet",
    "parse_yaml",
    "read_sheet",
    "read_workbook",
    "secret_fingerprint",
    "validate_sheet",
    "write_template",
    "write_workbook",
]

"""Every message the field pages show exists in Japanese and English, the keys built from a
status or an action included (one for each value the page can meet)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from inventory.domain import DeviceStatus
from provisioning.domain import ChangeAction, JobStatus
from provisioning.sheet_model import Plan
from web.field_view import _SECTIONS
from web.i18n import load_catalogue

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates" / "field"
LITERAL = re.compile(r"""_\(\s*["']([a-z0-9_.]+[a-z0-9])["']\s*[,)]""")
"""A whole key (`_("field.title")`); a prefix joined to a value (`"field.unit_" ~ …`) is not."""


def keys_needed() -> set[str]:
    found = {key for path in TEMPLATES.glob("*.html") for key in LITERAL.findall(path.read_text())}
    found |= {f"field.unit_{s.value}" for s in DeviceStatus}
    found |= {f"field.action_{a.value}" for a in ChangeAction}
    found |= {f"field.plan_{p.value}" for p in Plan}
    found |= {f"field.section_{name}" for name in _SECTIONS}
    found |= {
        f"field.job_{s.value}" for s in JobStatus if s not in (JobStatus.PENDING, JobStatus.RUNNING)
    }
    return found


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_field_message_is_in_both_languages(lang: str) -> None:
    assert {"field.title", "field.claim_and_apply", "field.verified"} <= keys_needed()
    catalogue = load_catalogue()
    missing = sorted(k for k in keys_needed() if not catalogue.get(k, {}).get(lang))
    assert missing == []

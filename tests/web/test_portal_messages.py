"""Every message the portal's templates use is in the catalogue in Japanese and English,
including the status labels they build from each domain's statuses."""

from __future__ import annotations

import re
from pathlib import Path

from changes.domain import ChangeStatus
from inventory.domain import ContractStatus, DeviceStatus
from rma.domain import RmaStatus
from survey.domain import VersionStatus
from web.i18n import LANGS, catalogue

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates" / "portal"
USED = re.compile(r"""_\(\s*["'](portal\.[a-z0-9_.]+)["']\s*[,)]""")


def test_every_key_the_portal_templates_use_is_there_in_both_languages() -> None:
    messages = catalogue()
    used = {key for path in TEMPLATES.glob("*.html") for key in USED.findall(path.read_text())}
    assert len(used) > 40
    missing = sorted(k for k in used if k not in messages or set(messages[k]) != set(LANGS))
    assert missing == []


def test_every_status_a_portal_page_shows_has_a_label() -> None:
    messages = catalogue()
    statuses = {
        s.value
        for enum in (ChangeStatus, ContractStatus, DeviceStatus, RmaStatus, VersionStatus)
        for s in enum
    }
    assert sorted(s for s in statuses if f"portal.st_{s}" not in messages) == []

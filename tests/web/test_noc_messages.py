"""Every message the NOC pages show exists in Japanese and English, the built ones included."""

from __future__ import annotations

import re
from pathlib import Path

from changes.domain import ChangeStatus, QueueStage
from web.i18n import catalogue
from web.noc import DONE_MESSAGES

WEB = Path(__file__).resolve().parents[2] / "web"
LITERAL = re.compile(r"""_\(\s*["']((?:noc|common)\.[a-z0-9_]+)["']""")


def test_each_key_written_in_the_noc_templates_is_in_both_languages() -> None:
    sources = [*(WEB / "templates" / "noc").glob("*.html"), *WEB.glob("noc*.py")]
    found = {key for path in sources for key in LITERAL.findall(path.read_text("utf-8"))}
    used = {key for key in found if not key.endswith("_")}  # a prefix: built, tested below
    assert len(used) > 80
    messages = catalogue()
    missing = sorted(k for k in used if k not in messages)
    assert missing == []
    assert all(messages[k]["ja"] and messages[k]["en"] for k in used)


def test_each_built_key_is_in_the_catalogue() -> None:
    built = [f"noc.status_{s.value}" for s in ChangeStatus]
    built += [f"noc.stage_{s.value}" for s in QueueStage]
    built += [f"noc.done_{d}" for d in DONE_MESSAGES]
    built += [f"common.step_{s}" for s in ("done", "failed")]
    messages = catalogue()
    assert sorted(k for k in built if k not in messages) == []

"""`xdist_group` under `--dist loadgroup` with pytest 9 (called from tests/conftest.py).

pytest-xdist 3.8 marks a grouped test by appending "@group" to `item._nodeid`; pytest 9 keeps a
node's id in `item._id` and no longer reads `_nodeid`, so the suffix never reached the scheduler
and every test was sent alone, as under `--dist load`. `apply` puts the suffix where pytest 9
reads it (on xdist's workers, whose ids the controller schedules by).
"""

from __future__ import annotations

import pytest
from _pytest.nodeid import NodeId


def apply(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):  # set on xdist's workers only
        return
    for item in items:
        groups = sorted(
            {
                str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                for mark in item.iter_markers("xdist_group")
            }
        )
        if groups and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")

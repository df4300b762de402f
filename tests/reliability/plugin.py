"""The reliability suite (issue 15): a pytest plugin that selects, scales and sums it up.

`pytest --reliability=full -m reliability` (`make reliability`) runs the tests of
tests/reliability/ (marked `reliability`, left out of the ordinary run) at full scale together
with the existing tests each section reuses (listed in SECTIONS, marked here). The short form
(`--reliability=short`, `make reliability-short`) runs only the suite's own tests, small, but
the slow ones in FULL_ONLY (deselected). `make test` runs it inside its one pytest (no `-m`):
the ordinary tests, the reused ones among them, and the short form's own, in one session. Each
prints one table: per section the tests passed/failed and the
figures the tests recorded with the `figure` fixture (tests/reliability/conftest.py) or
`record_property("figure:<name>", value)`.
The table is also written to var/reliability-<mode>.json.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

MODES = ("off", "short", "full")
FIGURE = "figure:"

# Existing tests each section reuses (node-id prefixes), and the tests/reliability/ module of each.
SECTIONS: dict[str, tuple[str, ...]] = {
    "faults": (
        "tests/service/test_provisioning_429_storm.py",
        "tests/reliability/test_faults.py",
    ),
    "crash": (
        "tests/service/test_rollout_kill_resume.py",
        "tests/service/test_resume_batch_sent_again.py",
        "tests/service/test_secret_record_crash.py",
        "tests/reliability/test_crash.py",
        "tests/reliability/test_apply_recovery.py",
    ),
    "concurrency": (
        "tests/api/test_rma_swap_race.py",
        "tests/api/test_rma_sweep_concurrency.py",
        "tests/reliability/test_concurrency.py",
        "tests/reliability/test_resume_race.py",
        "tests/reliability/test_shared_rollouts.py",
    ),
    "fuzz": ("tests/reliability/test_schemathesis.py",),
    "roles": (
        "tests/api/test_role_policy.py",
        "tests/reliability/test_role_matrix.py",
    ),
    "secrets": (
        "tests/api/test_sheet_secrets_api.py",
        "tests/reliability/test_secret_scan.py",
    ),
    "abuse": (
        "tests/security/test_bounds.py",
        "tests/security/test_uploads.py",
        "tests/security/test_rss_bound.py",
        "tests/reliability/test_abuse.py",
    ),
}
# Only in the full form: each takes ~30-60 s on a shared 2-core machine.
OWN = "tests/reliability/"
RECOVERY = "test_an_apply_whose_process_died_is_finished_by_the_sweep_once"
FULL_ONLY = (
    "tests/service/test_rollout_kill_resume.py::test_a_rollout_killed_at_any_point",
    "tests/security/test_rss_bound.py",
    "tests/reliability/test_crash.py",
    "tests/reliability/test_shared_rollouts.py",  # four workers: bench/shared_budget.py --rollouts
    "tests/reliability/test_secret_scan.py",
    *(
        f"tests/reliability/test_apply_recovery.py::{RECOVERY}[{db}-planning]"
        for db in ("sqlite", "postgresql")
    ),
)


def section_of(nodeid: str) -> str | None:
    for name, prefixes in SECTIONS.items():
        if any(nodeid.startswith(p) for p in prefixes):
            return name
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reliability",
        choices=MODES,
        default="off",
        help="run the reliability suite's tests at this scale and print its table",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability: the reliability suite (make reliability)")
    if config.getoption("--reliability") != "off":
        config.pluginmanager.register(Summary(config), "reliability-summary")


def mode(config: pytest.Config) -> str:
    value: str = config.getoption("--reliability")
    return value


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the reused tests before `-m` selects (tryfirst: ahead of pytest's own deselection)."""
    own = [item for item in items if item.nodeid.startswith(OWN)]
    if mode(config) == "off":  # the ordinary run leaves the suite's own tests out
        if own:
            config.hook.pytest_deselected(items=own)
            items[:] = [item for item in items if not item.nodeid.startswith(OWN)]
        return
    if mode(config) == "short":  # the suite's own slow tests wait for the full form
        slow = [item for item in own if item.nodeid.startswith(FULL_ONLY)]
        if slow:
            config.hook.pytest_deselected(items=slow)
            items[:] = [item for item in items if item not in slow]
    for item in items:
        is_own = item.nodeid.startswith(OWN)
        if mode(config) == "short" and not is_own:
            continue  # the reused tests ran in `make test`'s pytest just before
        if is_own or section_of(item.nodeid) is not None:
            item.add_marker(pytest.mark.reliability)


class Summary:
    """Collects outcomes and figures by section (on the xdist controller too) and prints them."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = time.monotonic()
        self.outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.figures: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        self.seconds: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        section = section_of(report.nodeid)
        if section is None:
            return
        self.seconds[section] += report.duration
        if report.when == "call":
            self.outcomes[section][report.outcome] += 1
        elif report.outcome != "passed":
            self.outcomes[section]["error" if report.failed else "skipped"] += 1
        if report.when == "call":
            for name, value in report.user_properties:
                if str(name).startswith(FIGURE):
                    self.figures[section].append((str(name)[len(FIGURE) :], value))

    def table(self) -> list[str]:
        lines = [f"reliability ({mode(self.config)}): {time.monotonic() - self.started:.1f} s"]
        lines.append(f"{'section':<12} {'passed':>6} {'failed':>6} {'skip':>4} {'s':>7}  figures")
        for section in SECTIONS:
            got = self.outcomes.get(section, {})
            figures = "; ".join(f"{k}={v}" for k, v in self.figures.get(section, []))
            lines.append(
                f"{section:<12} {got.get('passed', 0):>6} "
                f"{got.get('failed', 0) + got.get('error', 0):>6} {got.get('skipped', 0):>4} "
                f"{self.seconds.get(section, 0.0):>7.1f}  {figures or '-'}"
            )
        return lines

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        lines = self.table()
        terminalreporter.section("reliability summary")
        for line in lines:
            terminalreporter.write_line(line)
        out = Path("var") / f"reliability-{mode(self.config)}.json"
        out.parent.mkdir(exist_ok=True)
        data = {
            "sections": {
                s: {
                    "outcomes": dict(self.outcomes.get(s, {})),
                    "figures": [[k, v] for k, v in self.figures.get(s, [])],
                    "seconds": round(self.seconds.get(s, 0.0), 1),
                }
                for s in SECTIONS
            },
        }
        out.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")

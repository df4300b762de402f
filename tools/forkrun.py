"""Mutants of a function's body, run without importing or collecting anything again.

`tools/mutate.py` gives every mutant a fresh import of the mutated module and a fresh pytest
session (start, plugins, collection: about 0.4 s of CPU each). For most mutants that is not
needed: when the one change is inside a function's body and that body never ran outside a test
in the baseline (not at import, not at collection), the mutant behaves exactly like the
original until a test calls the function. So one process collects the module's tests once,
with the original module imported, and for each such mutant forks a child that swaps the
function's code object (``__code__``: every reference to the function — `from x import f`,
another module's table of handlers, a decorator's wrapper — then runs the mutant) and runs the
selected tests through pytest's own run protocol, stopping at the first failure like ``-x``.

Anything else — module-level data (the transition tables), class bodies, default arguments, a
function that runs at import — keeps the fresh-import path.
"""

from __future__ import annotations

import os
import resource
import signal
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from tools.mutants import Scope

OUTSIDE = ""
"""The test id of lines run outside any test (the same constant as tools.mutate.OUTSIDE)."""


def runs_only_inside_tests(change: Scope, lines: Mapping[str, Sequence[str]]) -> bool:
    """Whether no line of the function's body ran outside a test in the baseline."""
    return not any(
        OUTSIDE in lines.get(str(n), ()) for n in range(change.first_line, change.last_line + 1)
    )


def mutant_code(source: str, path: str, qualname: str) -> types.CodeType | None:
    """The code object of `qualname` compiled from the mutant's source (None: not one)."""
    found: list[types.CodeType] = []
    todo = [compile(source, path, "exec")]
    while todo:
        code = todo.pop()
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                if const.co_qualname == qualname:
                    found.append(const)
                todo.append(const)
    return found[0] if len(found) == 1 else None


def live_function(module: types.ModuleType, qualname: str) -> types.FunctionType | None:
    """The function object the loaded module holds for `qualname`, unwrapped; None if unsure."""
    holder: object = module
    parts = qualname.split(".")
    for part in parts[:-1]:
        holder = vars(holder).get(part)
        if not isinstance(holder, type):
            return None
    found: object = vars(holder).get(parts[-1])
    for _ in range(10):  # staticmethod, classmethod, property, functools.wraps / cache
        if isinstance(found, types.FunctionType):
            break
        if isinstance(found, staticmethod | classmethod):
            found = found.__func__
        elif isinstance(found, property):
            found = found.fget
        else:
            found = getattr(found, "__wrapped__", None)
    if isinstance(found, types.FunctionType) and found.__code__.co_qualname == qualname:
        return found
    return None


@dataclass(frozen=True, slots=True)
class Patch:
    """One mutant for the fork runner: the function to change, its new code, the tests."""

    index: int
    function: types.FunctionType
    code: types.CodeType
    only: tuple[str, ...] | None
    cpu: int
    """CPU seconds the mutant's tests may take (tools.mutate.cpu_budget)."""


def patch_for(
    index: int,
    module: types.ModuleType,
    change: Scope,
    source: str,
    only: Sequence[str] | None,
    cpu: int,
) -> Patch | None:
    """A Patch for the mutant, or None when its code cannot be swapped in safely."""
    path = str(getattr(module, "__file__", "") or "")
    function, code = live_function(module, change.qualname), None
    if function is not None:
        code = mutant_code(source, path, change.qualname)
    if function is None or code is None or code.co_freevars != function.__code__.co_freevars:
        return None
    return Patch(index, function, code, tuple(only) if only is not None else None, cpu)


class BriefFailures:
    """A pytest plugin: a failed test's report without its traceback text.

    A mutant's verdict needs only whether a test failed; formatting the failure (pytest reads
    the source of every frame, and scans sys.modules for each) was 90% of the CPU of a killed
    mutant's test run. Passed and skipped outcomes (and xfail, decided by a wrapper around
    this hook) are left to pytest.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> pytest.TestReport | None:
        excinfo = call.excinfo
        if excinfo is None or isinstance(excinfo.value, pytest.skip.Exception):
            return None
        return pytest.TestReport(
            item.nodeid,
            item.location,
            dict.fromkeys(item.keywords, 1),
            "failed",
            f"{excinfo.typename} (traceback left out: a mutation run)",
            call.when,  # type: ignore[arg-type]  # never "collect" for a test item
            duration=call.duration,
            start=call.start,
            stop=call.stop,
        )


class ExitAtSessionEnd:
    """A pytest plugin for a mutant's throw-away process: exit with the session's status as
    soon as it ends, before the summary and pytest_unconfigure.

    pytest's unconfigure runs gc.collect() over the whole preloaded heap (SQLAlchemy, FastAPI,
    Hypothesis …) to surface unraisable exceptions as warnings: a third of a fresh mutant's
    CPU. Warnings do not change the exit status here (no `error` filter in the pytest
    configuration), so the verdict is the same.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        os._exit(int(exitstatus))


class KillersFirst:
    """A pytest plugin for a fresh mutant: the tests that failed for earlier mutants run first.

    A module-level mutant (a transition table's edge) runs every test until the first failure;
    the test that caught the previous edge of the same table usually catches the next one, so
    it goes first. Only the order changes — the same tests are collected and selected, and for
    independent tests whether one fails does not depend on the order. The child notes its
    first failed test in `note` for the parent (first_failure).
    """

    def __init__(self, order: Sequence[str], note: str, index: int) -> None:
        self.rank = {test: n for n, test in enumerate(order)}
        self.note, self.index, self.noted = note, index, False

    @pytest.hookimpl(trylast=True)  # after the deselection of --select
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        items.sort(key=lambda item: self.rank.get(item.nodeid, len(self.rank)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and not self.noted:
            self.noted = True
            with open(self.note, "w", encoding="utf-8") as out:
                out.write(report.nodeid)

    def first_failure(self) -> str | None:
        try:
            with open(self.note, encoding="utf-8") as given:
                return given.read() or None
        except FileNotFoundError:
            return None


@dataclass(slots=True)
class ForkRunner:
    """A pytest plugin: after collection, one forked child per patch instead of the test loop.

    The child swaps the code in, runs the selected items (every item when `only` is None, the
    files of `only` when none of its ids is collected — as tools.mutate does) and exits 1 at
    the first failed report (setup, call or teardown), 0 when all pass. The patch's CPU-time
    limit and the wall alarm end a looping mutant (a signal: counted as killed by timeout).
    """

    make_patches: Any  # Callable[[], tuple[list[Patch], list[int]]]: run after collection
    jobs: int
    limits: tuple[int, int]
    statuses: dict[int, int] = field(default_factory=dict)
    unpatched: list[int] = field(default_factory=list)
    collected: bool = False
    failed: bool = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        if session.testsfailed:  # collection errors: leave every mutant to the fresh path
            return True
        self.collected = True
        patches, self.unpatched = self.make_patches()
        pending, running = list(patches), dict[int, int]()
        while pending or running:
            while pending and len(running) < self.jobs:
                patch = pending.pop(0)
                running[self._fork(session, patch)] = patch.index
            pid, status = os.wait()
            self.statuses[running.pop(pid)] = status
        return True

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.failed = True

    def _fork(self, session: pytest.Session, patch: Patch) -> int:
        pid = os.fork()
        if pid:
            return pid
        code = 3  # pragma: no cover - the child
        try:
            _, wall = self.limits
            resource.setrlimit(resource.RLIMIT_CPU, (patch.cpu, patch.cpu + 1))
            signal.alarm(wall)
            patch.function.__code__ = patch.code
            session.config.pluginmanager.register(BriefFailures())
            code = self._run(session.items, patch.only)
        finally:
            os._exit(code)

    def _run(self, items: Sequence[pytest.Item], only: tuple[str, ...] | None) -> int:
        chosen = list(items)
        if only is not None:
            wanted = set(only)
            chosen = [i for i in items if i.nodeid in wanted]
            if not chosen:
                files = {t.split("::")[0] for t in only}
                chosen = [i for i in items if i.nodeid.split("::")[0] in files]
        for n, item in enumerate(chosen):
            following = chosen[n + 1] if n + 1 < len(chosen) else None
            item.ihook.pytest_runtest_protocol(item=item, nextitem=following)
            if self.failed:
                return 1
        return 0

"""Mutation testing of the pure modules: one small change at a time, the module's tests run.

Why not mutmut (3.x): it rewrites only code inside functions (its trampolines), so the
transition tables and state sets this project's rules live in (`TRANSITIONS`, `CHARGEABLE`,
`AWAITING_RETURN` …) are never mutated — yet a dropped edge there is the bug issue 22 is about.
Each module is run in a forked process that has already imported the third-party libraries and
every project module that does not import the target (found by a baseline run that records the
imports); each mutant then runs in a fork of that, so it costs little more than its tests.
Configuration: ``[tool.netkeep.mutation]`` in pyproject.toml; docs/mutation.md.

    python -m tools.mutate                 # every configured module
    python -m tools.mutate --ci            # the CI-sized set (`ci = true`)
    python -m tools.mutate --ci --select   # each mutant against only the tests reaching its line
    python -m tools.mutate changes/domain.py --show-survivors
"""

from __future__ import annotations

import argparse
import builtins
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import resource
import signal
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from tools.forkrun import (
    OUTSIDE,
    BriefFailures,
    ExitAtSessionEnd,
    ForkRunner,
    KillersFirst,
    Patch,
    patch_for,
    runs_only_inside_tests,
)
from tools.mutants import Mutant, mutants

TraceFunction = Callable[[FrameType, str, object], Any]


@dataclass(frozen=True, slots=True)
class Target:
    """A module to mutate, the tests that must notice, and the kill rate it must keep."""

    path: str
    tests: tuple[str, ...]
    threshold: float = 90.0
    ci: bool = False
    conftest: bool = False
    args: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")


@dataclass(slots=True)
class Outcome:
    target: Target
    total: int = 0
    killed: int = 0
    timeouts: int = 0
    survivors: list[tuple[int, str]] = field(default_factory=list)
    patched: int = 0
    """Mutants run by swapping a function's code in (tools/forkrun.py), not a fresh import."""
    seconds: float = 0.0
    cpu: float = 0.0
    """CPU seconds (user + system) of the run's processes: a fair figure on a busy machine."""

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 100.0

    @property
    def passed(self) -> bool:
        return self.score >= self.target.threshold


def load_config(pyproject: Path) -> tuple[list[Target], list[str]]:
    """The configured targets and the third-party modules to import before forking."""
    section = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["netkeep"]["mutation"]
    targets = [
        Target(
            path=entry["path"],
            tests=tuple(entry["tests"]),
            threshold=float(entry.get("threshold", section.get("threshold", 90))),
            ci=bool(entry.get("ci", False)),
            conftest=bool(entry.get("conftest", False)),
            args=tuple(entry.get("args", ())),
        )
        for entry in section["modules"]
    ]
    return targets, list(section.get("preload", []))


# --- what a module's tests import, and what does not depend on the target ----------------------


def dependents(target: str, edges: Iterable[tuple[str, str]]) -> set[str]:
    """Modules that import `target` directly or through others, packages of those included."""
    importers: dict[str, set[str]] = {}
    for importer, imported in edges:
        importers.setdefault(imported, set()).add(importer)
    found, todo = {target}, [target]
    while todo:
        for importer in importers.get(todo.pop(), ()):
            if importer not in found:
                found.add(importer)
                todo.append(importer)
    return found


def independent(target: str, loaded: Sequence[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    """Modules safe to import before mutating `target`, in load order."""
    tainted = dependents(target, edges)

    def safe(name: str) -> bool:
        parts = name.split(".")
        return not any(".".join(parts[:i]) in tainted for i in range(1, len(parts) + 1))

    return [name for name in loaded if safe(name)]


class _ImportRecorder:
    """Records (importer, imported) for every import statement, cached imports included."""

    def __init__(self, root: Path) -> None:
        self.root, self.edges = str(root), set[tuple[str, str]]()
        self.original: Callable[..., ModuleType] = builtins.__import__

    def __call__(
        self,
        name: str,
        globals: dict[str, Any] | None = None,
        locals: dict[str, Any] | None = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> ModuleType:
        module = self.original(name, globals, locals, fromlist, level)
        importer = str((globals or {}).get("__name__", ""))
        if level:
            package = str((globals or {}).get("__package__") or importer)
            name = importlib.util.resolve_name("." * level + name, package)
        self.edges.add((importer, name))
        self.edges.update((importer, f"{name}.{item}") for item in fromlist or ())
        return module

    def project_modules(self) -> list[str]:
        """Modules loaded from the project's own files (not the venv), in load order."""
        out = []
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", None) or ""
            if path.startswith(self.root) and "/.venv/" not in path and name != "__main__":
                out.append(name)
        return out


# --- forked runs -------------------------------------------------------------------------------


class _MutantLoader(importlib.abc.Loader):
    def __init__(self, path: str, source: str) -> None:
        self.path, self.source = path, source

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        module.__file__ = self.path
        exec(compile(self.source, self.path, "exec"), module.__dict__)


class _MutantFinder(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, path: str, source: str) -> None:
        self.name, self.loader = name, _MutantLoader(path, source)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        return importlib.util.spec_from_loader(fullname, self.loader, origin=self.loader.path)


def pytest_args(target: Target, only: Sequence[str] | None = None) -> list[str]:
    """pytest's arguments; with `only` (test ids), just the files those tests are in."""
    conftest = [] if target.conftest else ["--noconftest"]
    plugins = ["-p", "no:cacheprovider", "-p", "_hypothesis_pytestplugin"]
    tests = list(dict.fromkeys(t.split("::")[0] for t in only)) if only else list(target.tests)
    return ["-x", "-q", *conftest, *plugins, "-o", "addopts=", *target.args, *tests]


# --- which tests reach which line (--select) ----------------------------------------------------

# OUTSIDE (tools/forkrun.py): the test id of lines run outside any test (import, collection);
# every test depends on them.


class _LineCoverage:
    """Records, for each line of one file, the ids of the tests that ran it, and each test's
    CPU seconds under the tracer (baseline only)."""

    def __init__(self, path: str) -> None:
        self.path, self.current = path, OUTSIDE
        self.lines: dict[int, set[str]] = {}
        self.cpu: dict[str, float] = {}

    def __call__(self, frame: FrameType, event: str, arg: object) -> TraceFunction | None:
        return self._line if frame.f_code.co_filename == self.path else None

    def _line(self, frame: FrameType, event: str, arg: object) -> TraceFunction:
        if event == "line":
            self.lines.setdefault(frame.f_lineno, set()).add(self.current)
        return self._line


def reaching_tests(line: int, lines: Mapping[str, Sequence[str]]) -> list[str] | None:
    """The tests a mutant of `line` must run: those that reached it; None means every test.

    Every test when the line ran outside a test (module level, collection) or never showed in
    the baseline at all (a constant the compiler folded into another line, say): a line no
    test reaches cannot change a test's outcome, but one the tracer never saw may.
    """
    reached = lines.get(str(line))
    if not reached or OUTSIDE in reached:
        return None
    return sorted(reached)


def _plugins(coverage: _LineCoverage | None, only: Sequence[str] | None) -> list[object]:
    """pytest plugins: track the running test for `coverage`; deselect all but `only`."""
    import pytest

    class Track:
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
            assert coverage is not None
            coverage.current, started = item.nodeid, time.process_time()
            yield
            coverage.cpu[item.nodeid] = time.process_time() - started
            coverage.current = OUTSIDE

    class Only:
        def pytest_collection_modifyitems(
            self, config: pytest.Config, items: list[pytest.Item]
        ) -> None:
            wanted = set(only or ())
            keep = [i for i in items if i.nodeid in wanted]
            if not keep:  # ids that no longer match: run everything rather than nothing
                return
            config.hook.pytest_deselected(items=[i for i in items if i.nodeid not in wanted])
            items[:] = keep

    return ([Track()] if coverage is not None else []) + ([Only()] if only else [])


def _children_cpu() -> float:
    """CPU seconds of every finished child and its waited-for descendants so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # a forked child starts from zero
    return usage.ru_utime + usage.ru_stime


def _quiet_test_process() -> None:
    """In a forked child about to run pytest: no output, no plugin autoload, fixed examples."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - ends with the child
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # xdist, respx … are not needed here
    from hypothesis import settings

    settings.register_profile(  # the same examples for every mutant, fewer than a normal run
        "mutation", derandomize=True, database=None, deadline=None, max_examples=25
    )
    settings.load_profile("mutation")


def _run_tests(
    target: Target,
    source: str | None,
    limits: tuple[int, int],
    *,
    only: Sequence[str] | None = None,
    coverage: _LineCoverage | None = None,
    killers: KillersFirst | None = None,
) -> int:
    """In a forked child: install the mutant, run the tests quietly, return pytest's code.

    `only`: the ids of the tests to run (default: all of the target's); `coverage`: record
    which test reaches which line of the target (the baseline of `--select`).

    A mutant that loops is ended by its CPU-time limit (fair however busy the machine is) or,
    failing that, by the wall-clock alarm; either way it counts as killed.
    """
    cpu, wall = limits
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    signal.alarm(wall)
    if source is not None:
        path = str(Path(target.path).resolve())
        sys.meta_path.insert(0, _MutantFinder(target.module, path, source))
    _quiet_test_process()
    import pytest

    plugins = _plugins(coverage, only)
    if coverage is None:
        plugins += [BriefFailures(), ExitAtSessionEnd(), *([killers] if killers else [])]
        return int(pytest.main(pytest_args(target, only), plugins=plugins))
    sys.settrace(coverage)
    threading.settrace(coverage)
    try:
        return int(pytest.main(pytest_args(target, only), plugins=plugins))
    finally:
        sys.settrace(None)
        threading.settrace(None)  # type: ignore[arg-type,unused-ignore]


def _in_child(work: Callable[[], object]) -> tuple[int, object]:
    """Run `work` in a forked child; its exit status and what it returned (JSON)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # fd 1 may be a test runner's channel
        payload: object = None
        try:
            payload = work()
        finally:
            with os.fdopen(write, "w") as out:
                json.dump(payload, out)
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        text = answer.read()
    _, status = os.waitpid(pid, 0)
    return status, json.loads(text) if text else None


def _spawn(
    target: Target,
    source: str,
    limits: tuple[int, int],
    only: Sequence[str] | None,
    killers: KillersFirst | None = None,
) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 3
        try:
            code = _run_tests(target, source, limits, only=only, killers=killers)
        finally:
            os._exit(code)
    return pid


def _baseline(target: Target) -> dict[str, Any]:
    """The unmutated run: whether it passes, how long it takes, what it imports, and which
    tests reach each line of the target (a line tracer on that one file: `--select` runs a
    mutant against those tests only, and tools/forkrun.py patches a function in place only
    when no line of its body ran outside a test)."""
    recorder = _ImportRecorder(Path.cwd())
    builtins.__import__ = recorder  # type: ignore[assignment]  # same call, extra bookkeeping
    coverage = _LineCoverage(str(Path(target.path).resolve()))
    started = time.monotonic()
    code = _run_tests(target, None, (900, 1800), coverage=coverage)
    return {
        "code": code,
        "seconds": time.monotonic() - started,
        "cpu": _cpu_seconds(),
        "loaded": recorder.project_modules(),
        "edges": sorted(recorder.edges),
        "lines": {str(n): sorted(ids) for n, ids in coverage.lines.items()},
        "test_cpu": coverage.cpu,
    }


def cpu_budget(only: Sequence[str] | None, test_cpu: Mapping[str, float], limit: int) -> int:
    """The CPU seconds a patched mutant may take: twice what its tests took in the (traced)
    baseline + 2 s, as the module's limit is for a whole run — without that, a mutant that
    loops burned the whole run's allowance (14 s for rma/domain.py); never above `limit`, and
    `limit` itself when a test is unknown."""
    ids = list(test_cpu) if only is None else only
    if any(i not in test_cpu for i in ids):
        return limit
    return min(limit, int(2 * sum(test_cpu[i] for i in ids)) + 2)


def _verdict(status: int) -> str:
    """A mutant's verdict from its process's wait status: a signal is a timeout (killed)."""
    if os.WIFSIGNALED(status):
        return "timeout"
    return "survived" if os.waitstatus_to_exitcode(status) == 0 else "killed"


def _run_patched(
    target: Target,
    fast: Mapping[int, Mutant],
    *,
    jobs: int,
    limits: tuple[int, int],
    lines: Mapping[str, Sequence[str]] | None,
    test_cpu: Mapping[str, float],
) -> dict[str, Any]:
    """In a forked child: collect the tests once, then fork per mutant with its code swapped in.

    Returns the wait status of each mutant run this way and the indices of those that could
    not be patched (left to the fresh-import path).
    """
    _quiet_test_process()
    import pytest

    def make_patches() -> tuple[list[Patch], list[int]]:
        module = sys.modules.get(target.module)
        patches, unpatched = [], []
        for index, mutant in fast.items():
            only = reaching_tests(mutant.line, lines) if lines is not None else None
            cpu = cpu_budget(only, test_cpu, limits[0])
            patch = None
            if module is not None and mutant.scope is not None:
                patch = patch_for(index, module, mutant.scope, mutant.source, only, cpu)
            if patch is None:
                unpatched.append(index)
            else:
                patches.append(patch)
        return patches, unpatched

    runner = ForkRunner(make_patches, jobs, limits)
    pytest.main(pytest_args(target), plugins=[runner])
    if not runner.collected:
        return {"statuses": {}, "unpatched": sorted(fast)}
    return {"statuses": runner.statuses, "unpatched": runner.unpatched}


def _mutate_all(
    target: Target,
    preload: Sequence[str],
    *,
    jobs: int,
    limits: tuple[int, int],
    lines: Mapping[str, Sequence[str]],
    test_cpu: Mapping[str, float],
    select: bool = False,
    patch: bool = True,
) -> object:
    """Every mutant's verdict: those changing only a function body that runs inside tests
    alone by swapping its code in a process that collected once (tools/forkrun.py), the others
    by a fresh import and pytest run each (in forks of this process, which preloaded what does
    not depend on the target)."""
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # a module that fails alone is left for the tests to import
            continue
    if target.module in sys.modules:
        return {"retry": True}
    every = mutants(Path(target.path).read_text(encoding="utf-8"))
    selected = lines if select else None
    fast = {
        index: mutant
        for index, mutant in enumerate(every)
        if patch and mutant.scope is not None and runs_only_inside_tests(mutant.scope, lines)
    }
    verdicts: dict[int, str] = {}
    if fast:
        _, answer = _in_child(
            lambda: _run_patched(
                target, fast, jobs=jobs, limits=limits, lines=selected, test_cpu=test_cpu
            )
        )
        if isinstance(answer, dict):
            verdicts.update({int(i): _verdict(s) for i, s in answer["statuses"].items()})
    patched = len(verdicts)
    pending = [(i, m) for i, m in enumerate(every) if i not in verdicts]
    running: dict[int, KillersFirst] = {}
    order: list[str] = []  # the tests that failed for earlier mutants, the latest first
    with tempfile.TemporaryDirectory(prefix="netkeep-killers-") as notes:
        while pending or running:
            while pending and len(running) < jobs:
                index, mutant = pending.pop(0)
                only = reaching_tests(mutant.line, lines) if select else None
                killers = KillersFirst(order, str(Path(notes) / str(index)), index)
                running[_spawn(target, mutant.source, limits, only, killers)] = killers
            pid, status = os.wait()
            killers = running.pop(pid)
            verdicts[killers.index] = _verdict(status)
            failed = killers.first_failure()
            if failed is not None:
                order[:] = [failed, *(t for t in order if t != failed)]
    timeouts = sum(1 for v in verdicts.values() if v == "timeout")
    survivors = [
        (every[i].line, every[i].description) for i in sorted(verdicts) if verdicts[i] == "survived"
    ]
    return {
        "total": len(every),
        "killed": len(every) - len(survivors),
        "timeouts": timeouts,
        "survivors": survivors,
        "patched": patched,
    }


def _run_target(
    target: Target,
    *,
    jobs: int,
    limits: tuple[int, int] | None,
    select: bool,
    patch: bool,
) -> object:
    _, base = _in_child(lambda: _baseline(target))
    if not isinstance(base, dict) or base["code"] != 0:
        raise SystemExit(f"{target.path}: its tests fail without any mutant ({target.tests})")
    limits = limits or (int(base["cpu"] * 2) + 2, max(60, int(base["seconds"] * 20)))
    preload = independent(target.module, base["loaded"], [tuple(e) for e in base["edges"]])
    lines = base["lines"]

    def run(preloaded: Sequence[str]) -> object:
        _, answer = _in_child(
            lambda: _mutate_all(
                target,
                preloaded,
                jobs=jobs,
                limits=limits,
                lines=lines,
                test_cpu=base["test_cpu"],
                select=select,
                patch=patch,
            )
        )
        return answer

    result = run(preload)
    if isinstance(result, dict) and result.get("retry"):  # a preload pulled the target in
        result = run([])
    return result


@contextmanager
def _bytecode_cache() -> Iterator[None]:
    """Compiled modules (pytest's rewritten test modules too) cached for the run's processes.

    With PYTHONDONTWRITEBYTECODE set (as here), every fresh-import mutant compiled the
    target's dependents and assertion-rewrote its test modules again: about a third of its
    CPU. The cache lives in a directory of its own, removed afterwards, and is checked against
    each source's size and time as usual; the mutated module itself is never cached.
    """
    saved = sys.dont_write_bytecode, sys.pycache_prefix
    with tempfile.TemporaryDirectory(prefix="netkeep-mutate-") as cache:
        sys.dont_write_bytecode, sys.pycache_prefix = False, cache
        try:
            yield
        finally:
            sys.dont_write_bytecode, sys.pycache_prefix = saved


def run_target(
    target: Target,
    *,
    jobs: int,
    limits: tuple[int, int] | None = None,
    select: bool = False,
    patch: bool = True,
) -> Outcome:
    """Baseline first (the tests must pass unmutated), then every mutant, `jobs` at a time.

    `limits`: CPU and wall-clock seconds a mutant may take (default: from the baseline).
    `select`: each mutant runs only the tests that reached its line in the baseline (every
    test for a line run at import or never seen) — the same verdicts for deterministic tests.
    `patch`: a mutant of a function body that runs only inside tests swaps the function's code
    in a process that collected the tests once (tools/forkrun.py) instead of a fresh import and
    pytest run; False runs every mutant the fresh way (to compare the verdicts).
    """
    started, cpu = time.monotonic(), _children_cpu()
    with _bytecode_cache():
        result = _run_target(target, jobs=jobs, limits=limits, select=select, patch=patch)
    if not isinstance(result, dict):
        raise SystemExit(f"{target.path}: the mutation run ended without a result")
    return Outcome(
        target,
        total=result["total"],
        killed=result["killed"],
        timeouts=result["timeouts"],
        survivors=[(line, text) for line, text in result["survivors"]],
        patched=result["patched"],
        seconds=time.monotonic() - started,
        cpu=_children_cpu() - cpu,
    )


def report(outcome: Outcome, *, show_survivors: bool) -> str:
    t = outcome.target
    flag = "ok" if outcome.passed else f"BELOW {t.threshold:.0f}%"
    lines = [
        f"{t.path:28} {outcome.killed:4}/{outcome.total:<4} killed {outcome.score:5.1f}%  "
        f"({outcome.timeouts} by timeout, {outcome.patched} patched in place, "
        f"{outcome.seconds:4.0f}s, CPU {outcome.cpu:.0f}s)  {flag}"
    ]
    if show_survivors or not outcome.passed:
        lines += [f"    survived  {t.path}:{line}  {text}" for line, text in outcome.survivors]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mutation testing of the pure modules.")
    parser.add_argument("paths", nargs="*", help="configured module paths (default: all)")
    parser.add_argument("--ci", action="store_true", help="only the modules marked ci = true")
    parser.add_argument("--jobs", "-j", type=int, default=2)
    parser.add_argument("--show-survivors", action="store_true")
    parser.add_argument(
        "--select",
        action="store_true",
        help="run each mutant against only the tests that reach its line (faster, same verdicts)",
    )
    parser.add_argument(
        "--no-patch",
        dest="patch",
        action="store_false",
        help="every mutant through a fresh import and pytest run (slower; to compare verdicts)",
    )
    parser.add_argument("--config", type=Path, default=Path("pyproject.toml"))
    args = parser.parse_args(argv)
    targets, preload = load_config(args.config)
    chosen = [
        t for t in targets if (t.path in args.paths or not args.paths) and (t.ci or not args.ci)
    ]
    unknown = set(args.paths) - {t.path for t in targets}
    if unknown or not chosen:
        parser.error(f"not configured in [tool.netkeep.mutation]: {sorted(unknown) or args.paths}")
    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:
            print(f"(preload: {name} is not importable; the tests import what they need)")
    failed = []
    for target in chosen:
        outcome = run_target(target, jobs=args.jobs, select=args.select, patch=args.patch)
        print(report(outcome, show_survivors=args.show_survivors), flush=True)
        if not outcome.passed:
            failed.append(target.path)
    if failed:
        print(f"mutation kill rate below its threshold: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

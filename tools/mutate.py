"""Mutation testing of the pure modules: one small change at a time, the module's tests run.

Why not mutmut (3.x): it rewrites only code inside functions (its trampolines), so the
transition tables and state sets this project's rules live in (`TRANSITIONS`, `CHARGEABLE`,
`AWAITING_RETURN` …) are never mutated — yet a dropped edge there is the bug issue 22 is about.
This tool mutates module-level data too, runs each mutant in a forked child that has the
third-party libraries already imported (a mutant costs only its tests), and fails when a
module's kill rate drops below its threshold. Configuration: ``[tool.netkeep.mutation]``.

    python -m tools.mutate                 # every configured module
    python -m tools.mutate --ci            # the CI-sized set (`ci = true`)
    python -m tools.mutate changes/domain.py --show-survivors
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib
import importlib.abc
import importlib.util
import os
import signal
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

SKIP_PRAGMA = "# mutation: equivalent"
"""A line ending with this comment is not mutated; docs/mutation.md says why, one line each."""

_COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_BINOP_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
}
_TYPE_FIELDS = frozenset({"annotation", "returns", "type_comment"})


@dataclass(frozen=True, slots=True)
class Mutant:
    """One small change to a module: where, what, and the changed source."""

    line: int
    description: str
    source: str


@dataclass(frozen=True, slots=True)
class _Point:
    index: int  # position of the node in _nodes() order
    line: int
    description: str
    kind: str
    arg: int = 0


def _nodes(tree: ast.AST) -> list[tuple[ast.AST, bool]]:
    """Every node in a fixed order, with whether it sits in a type annotation or docstring."""
    out: list[tuple[ast.AST, bool]] = []

    def visit(node: ast.AST, skipped: bool) -> None:
        out.append((node, skipped))
        for name, value in ast.iter_fields(node):
            skip = skipped or name in _TYPE_FIELDS
            children = value if isinstance(value, list) else [value]
            for i, child in enumerate(children):
                if isinstance(child, ast.AST):
                    docstring = name == "body" and i == 0 and _is_docstring(child)
                    visit(child, skip or docstring)

    visit(tree, False)
    return out


def _is_docstring(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _points(tree: ast.Module, skipped_lines: frozenset[int]) -> Iterator[_Point]:
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(id(s) for s in ast.walk(node) if isinstance(s, ast.stmt))
            in_function.discard(id(node))
    for index, (node, skipped) in enumerate(_nodes(tree)):
        line = getattr(node, "lineno", 0)
        if skipped or line in skipped_lines:
            continue
        yield from _node_points(node, index, line, in_function)


def _node_points(node: ast.AST, index: int, line: int, in_function: set[int]) -> Iterator[_Point]:
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            swap = _COMPARE_SWAPS.get(type(op))
            if swap is not None:
                text = f"{_op_text(op)} → {_op_text(swap())}"
                yield _Point(index, line, text, "compare", i)
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        yield _Point(index, line, f"{node.value} → {node.value + 1}", "int", 1)
        yield _Point(index, line, f"{node.value} → {node.value - 1}", "int", -1)
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        yield _Point(index, line, f"{node.value} → {not node.value}", "bool")
    elif isinstance(node, ast.BoolOp):
        yield _Point(index, line, "and ↔ or", "boolop")
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield _Point(index, line, "not removed", "not")
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAPS:
        swap = _BINOP_SWAPS[type(node.op)]()
        yield _Point(index, line, f"{_op_text(node.op)} → {_op_text(swap)}", "binop")
    elif isinstance(node, ast.Set):
        for i, element in enumerate(node.elts):
            yield _Point(index, line, f"set element {ast.unparse(element)} dropped", "set", i)
    if isinstance(node, ast.stmt) and id(node) in in_function and not isinstance(node, ast.Pass):
        first = ast.unparse(node).splitlines()[0][:60]
        yield _Point(index, line, f"statement deleted: {first}", "delete")


def _op_text(op: ast.AST) -> str:
    texts = {
        ast.Lt: "<",
        ast.LtE: "<=",
        ast.Gt: ">",
        ast.GtE: ">=",
        ast.Eq: "==",
        ast.NotEq: "!=",
        ast.In: "in",
        ast.NotIn: "not in",
        ast.Is: "is",
        ast.IsNot: "is not",
        ast.Add: "+",
        ast.Sub: "-",
        ast.Mult: "*",
        ast.FloorDiv: "//",
    }
    return texts[type(op)]


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, replacement: ast.AST) -> None:
        self.target, self.replacement = target, replacement

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.replacement
        return super().visit(node)


def _apply(tree: ast.Module, point: _Point) -> ast.Module:
    mutated = copy.deepcopy(tree)
    node = _nodes(mutated)[point.index][0]
    replacement: ast.AST | None = None
    if point.kind == "compare" and isinstance(node, ast.Compare):
        node.ops[point.arg] = _COMPARE_SWAPS[type(node.ops[point.arg])]()
    elif point.kind == "int" and isinstance(node, ast.Constant):
        node.value = node.value + point.arg
    elif point.kind == "bool" and isinstance(node, ast.Constant):
        node.value = not node.value
    elif point.kind == "boolop" and isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif point.kind == "not" and isinstance(node, ast.UnaryOp):
        replacement = node.operand
    elif point.kind == "binop" and isinstance(node, ast.BinOp):
        node.op = _BINOP_SWAPS[type(node.op)]()
    elif point.kind == "set" and isinstance(node, ast.Set):
        del node.elts[point.arg]  # an empty Set unparses as {*()}, still a set
    elif point.kind == "delete" and isinstance(node, ast.stmt):
        replacement = ast.Pass()
    else:  # pragma: no cover - a point always matches its node
        raise AssertionError(f"point {point} does not match {ast.dump(node)[:80]}")
    if replacement is not None:
        mutated = _Replace(node, replacement).visit(mutated)
    return ast.fix_missing_locations(mutated)


def mutants(source: str) -> list[Mutant]:
    """Every single-change mutant of `source`, in source order; unchanged code is no mutant."""
    tree = ast.parse(source)
    skipped = frozenset(
        n for n, text in enumerate(source.splitlines(), 1) if text.rstrip().endswith(SKIP_PRAGMA)
    )
    original = ast.unparse(tree)
    out = []
    for point in _points(tree, skipped):
        text = ast.unparse(_apply(tree, point))
        if text != original:
            out.append(Mutant(point.line, point.description, text))
    return out


# --- running ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A module to mutate, the tests that must notice, and the kill rate it must keep."""

    path: str
    tests: tuple[str, ...]
    threshold: float = 90.0
    ci: bool = False

    @property
    def module(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")


@dataclass(slots=True)
class Outcome:
    target: Target
    total: int = 0
    killed: int = 0
    timeouts: int = 0
    survivors: list[Mutant] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 100.0

    @property
    def passed(self) -> bool:
        return self.score >= self.target.threshold


def load_config(pyproject: Path) -> tuple[list[Target], list[str]]:
    """The configured targets and the third-party modules to import before forking."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    section = data["tool"]["netkeep"]["mutation"]
    targets = [
        Target(
            path=entry["path"],
            tests=tuple(entry["tests"]),
            threshold=float(entry.get("threshold", section.get("threshold", 90))),
            ci=bool(entry.get("ci", False)),
        )
        for entry in section["modules"]
    ]
    return targets, list(section.get("preload", []))


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


def _pytest_args(tests: Sequence[str]) -> list[str]:
    return [
        "-x",
        "-q",
        "--noconftest",
        "-p",
        "no:cacheprovider",
        "-p",
        "_hypothesis_pytestplugin",
        "-o",
        "addopts=",
        *tests,
    ]


def _child(target: Target, source: str | None, timeout: int) -> int:
    """In the forked child: install the mutant, run the tests quietly, return pytest's code."""
    signal.alarm(timeout)  # default action ends the child: a hanging mutant counts as killed
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    if source is not None:
        path = str(Path(target.path).resolve())
        sys.meta_path.insert(0, _MutantFinder(target.module, path, source))
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # xdist, respx … are not needed here
    import pytest
    from hypothesis import settings

    settings.register_profile("mutation", derandomize=True, database=None, deadline=None)
    settings.load_profile("mutation")
    return int(pytest.main(_pytest_args(target.tests)))


def _fork(target: Target, source: str | None, timeout: int) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 3
        try:
            code = _child(target, source, timeout)
        finally:
            os._exit(code)
    return pid


def _verdict(status: int) -> str:
    if os.WIFSIGNALED(status):
        return "timeout"
    return "survived" if os.waitstatus_to_exitcode(status) == 0 else "killed"


def run_target(target: Target, *, jobs: int, timeout: int | None = None) -> Outcome:
    """Baseline first (the tests must pass unmutated), then every mutant, `jobs` at a time."""
    started = time.monotonic()
    pid = _fork(target, None, 600)
    _, status = os.waitpid(pid, 0)
    if _verdict(status) != "survived":
        raise SystemExit(f"{target.path}: its tests fail without any mutant ({target.tests})")
    baseline = time.monotonic() - started
    limit = timeout or max(20, int(baseline * 10))
    source = Path(target.path).read_text(encoding="utf-8")
    outcome = Outcome(target)
    pending = list(mutants(source))
    outcome.total = len(pending)
    running: dict[int, Mutant] = {}
    while pending or running:
        while pending and len(running) < jobs:
            mutant = pending.pop(0)
            running[_fork(target, mutant.source, limit)] = mutant
        pid, status = os.wait()
        mutant = running.pop(pid)
        verdict = _verdict(status)
        if verdict == "survived":
            outcome.survivors.append(mutant)
        else:
            outcome.killed += 1
            outcome.timeouts += verdict == "timeout"
    outcome.survivors.sort(key=lambda m: m.line)
    outcome.seconds = time.monotonic() - started
    return outcome


def _preload(modules: Sequence[str]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            print(f"(preload: {name} not importable; mutants will import it themselves)")


def report(outcome: Outcome, *, show_survivors: bool) -> str:
    t = outcome.target
    flag = "ok" if outcome.passed else f"BELOW {t.threshold:.0f}%"
    lines = [
        f"{t.path:32} {outcome.killed:4}/{outcome.total:<4} killed  {outcome.score:5.1f}%  "
        f"({outcome.timeouts} by timeout, {outcome.seconds:5.1f}s)  {flag}"
    ]
    if show_survivors or not outcome.passed:
        lines += [f"    survived  {t.path}:{m.line}  {m.description}" for m in outcome.survivors]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("paths", nargs="*", help="configured module paths (default: all)")
    parser.add_argument("--ci", action="store_true", help="only the modules marked ci = true")
    parser.add_argument("--jobs", "-j", type=int, default=2)
    parser.add_argument("--show-survivors", action="store_true")
    parser.add_argument("--config", type=Path, default=Path("pyproject.toml"))
    args = parser.parse_args(argv)
    targets, preload = load_config(args.config)
    chosen = [
        t for t in targets if (not args.paths or t.path in args.paths) and (t.ci or not args.ci)
    ]
    unknown = set(args.paths) - {t.path for t in targets}
    if unknown or not chosen:
        parser.error(f"not configured in [tool.netkeep.mutation]: {sorted(unknown) or args.paths}")
    _preload(preload)
    failed = []
    for target in chosen:
        outcome = run_target(target, jobs=args.jobs)
        print(report(outcome, show_survivors=args.show_survivors), flush=True)
        if not outcome.passed:
            failed.append(target.path)
    if failed:
        print(f"mutation kill rate below threshold: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

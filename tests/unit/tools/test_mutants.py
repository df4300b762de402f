"""The mutation tool: which mutants it makes, which it must not, and that a run counts right."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from tools.mutants import Scope, _apply, _points, mutants
from tools.mutate import (
    Target,
    _baseline,
    _in_child,
    cpu_budget,
    dependents,
    independent,
    load_config,
    main,
    reaching_tests,
    run_target,
)


def _mutants(source: str) -> list[tuple[int, str]]:
    return [(m.line, m.description) for m in mutants(textwrap.dedent(source))]


def test_each_operator():
    source = """
        LIMIT = 254
        STATES = frozenset({"a", "b"})


        def rule(x, flags):
            if x < LIMIT and not flags:
                return x + 1
            return x * 2 // 3 == True
    """
    assert _mutants(source) == [
        (2, "254 → 255"),
        (2, "254 → 253"),
        (3, "set element 'a' dropped"),
        (3, "set element 'b' dropped"),
        (7, "statement deleted: if x < LIMIT and (not flags):"),
        (7, "and ↔ or"),
        (7, "< → <="),
        (7, "not removed"),
        (8, "statement deleted: return x + 1"),
        (8, "+ → -"),
        (8, "1 → 2"),
        (8, "1 → 0"),
        (9, "statement deleted: return x * 2 // 3 == True"),
        (9, "== → !="),
        (9, "// → *"),
        (9, "* → //"),
        (9, "2 → 3"),
        (9, "2 → 1"),
        (9, "3 → 4"),
        (9, "3 → 2"),
        (9, "True → False"),
    ]


@pytest.mark.parametrize(
    ("op", "swapped"),
    [("<", "<="), ("<=", "<"), (">", ">="), (">=", ">"), ("==", "!="), ("!=", "=="),
     ("in", "not in"), ("not in", "in"), ("is", "is not"), ("is not", "is")],
)  # fmt: skip
def test_comparisons_flip(op, swapped):
    [mutant] = mutants(f"a {op} b\n")
    assert mutant.description == f"{op} → {swapped}"
    assert mutant.source == f"a {swapped} b"


def test_every_mutant_compiles_and_differs():
    source = Path("changes/domain.py").read_text(encoding="utf-8")
    found = mutants(source)
    assert len(found) > 50
    original = ast.unparse(ast.parse(source))
    for mutant in found:
        compile(mutant.source, "m.py", "exec")
        assert mutant.source != original
    assert len({m.source for m in found}) == len(found)


def test_dropping_the_only_element_leaves_an_empty_set():
    [mutant] = mutants("S = frozenset({1})\n".replace("1", "'x'"))
    namespace: dict[str, object] = {}
    exec(mutant.source, namespace)
    assert namespace["S"] == frozenset()


def test_left_alone_docstrings_annotations_decorators_module_statements_and_pragmas():
    source = '''
        """Module 1 docstring."""
        from dataclasses import dataclass

        X: int = 3  # mutation: equivalent


        @dataclass(frozen=True, slots=True)
        class A:
            """Doc 2."""

            n: "list[int]" = None


        def f(a: int = 1) -> int:
            """Doc 3."""
            pass
    '''
    assert _mutants(source) == [(15, "1 → 2"), (15, "1 → 0")]


def test_statements_are_deleted_only_inside_functions():
    assert _mutants("x = 1\nif x:\n    y = 2\n") == [
        (1, "1 → 2"),
        (1, "1 → 0"),
        (3, "2 → 3"),
        (3, "2 → 1"),
    ]


def test_dependents_follow_imports_transitively():
    edges = [("b", "a"), ("c", "b"), ("d", "x"), ("pkg", "a"), ("a", "y")]
    assert dependents("a", edges) == {"a", "b", "c", "pkg"}
    loaded = ["y", "x", "a", "b", "c", "d", "pkg", "pkg.sub", "pkgother"]
    # a module is unsafe when it or a package above it imports the target
    assert independent("a", loaded, edges) == ["y", "x", "d", "pkgother"]


def test_config(tmp_path):
    lines = [
        "[tool.netkeep.mutation]",
        "threshold = 80",
        'preload = ["json"]',
        "modules = [",
        '  { path = "a/domain.py", tests = ["tests/a"], ci = true },',
        '  { path = "b/x.py", tests = ["t1", "t2"], threshold = 95, conftest = true,'
        ' args = ["-k", "s"] },',
        "]",
    ]
    (tmp_path / "pyproject.toml").write_text("\n".join(lines), encoding="utf-8")
    targets, preload = load_config(tmp_path / "pyproject.toml")
    assert preload == ["json"]
    assert targets == [
        Target("a/domain.py", ("tests/a",), 80.0, ci=True),
        Target("b/x.py", ("t1", "t2"), 95.0, conftest=True, args=("-k", "s")),
    ]
    assert targets[0].module == "a.domain"


PROJECT = {
    "agex/__init__.py": "",
    "agex/rules.py": '''
        """Pure."""

        ADULT = 18


        def is_adult(age: int) -> bool:
            return age >= ADULT


        def spin(n: int) -> int:
            while n != 0:
                n -= 1
            return n
    ''',
    "agex/tiny.py": "def more_than_one(x):\n    return x > 1\n",
    "checks/__init__.py": "",
    "checks/test_tiny.py": "from agex.tiny import more_than_one\n\n\ndef test_five():\n"
    "    assert more_than_one(5)\n",
    "checks/test_strong.py": """
        from agex.rules import is_adult, spin


        def test_edges():
            assert is_adult(18) and not is_adult(17)


        def test_spin():
            assert spin(3) == 0
    """,
    "checks/test_weak.py": """
        from agex.rules import is_adult


        def test_far_from_the_edge():
            assert is_adult(40) and not is_adult(3)
    """,
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    for name, text in PROJECT.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_a_run_counts_killed_survived_and_looping_mutants(project):
    strong = run_target(Target("agex/rules.py", ("checks/test_strong.py",)), jobs=2, limits=(1, 30))
    # 18±1, >= → >, each statement deleted, != → ==, 0±1 and 1±1 in spin: all noticed
    assert (strong.total, strong.killed, strong.survivors) == (12, 12, [])
    assert (
        strong.timeouts == 3
    )  # `n -= 1` deleted, `n -= 2`, `n -= 0` loop: the CPU limit ends them
    weak = run_target(
        Target("agex/rules.py", ("checks/test_weak.py",), 50.0), jobs=2, limits=(1, 30)
    )
    assert weak.survivors == [
        (4, "18 → 19"),
        (4, "18 → 17"),
        (8, ">= → >"),
        (12, "statement deleted: while n != 0:"),
        (12, "!= → =="),
        (12, "0 → 1"),
        (12, "0 → -1"),
        (13, "statement deleted: n -= 1"),
        (13, "1 → 2"),
        (13, "1 → 0"),
        (14, "statement deleted: return n"),
    ]
    assert (weak.killed, weak.passed) == (1, False)


def test_select_runs_a_mutant_against_only_the_tests_reaching_its_line(project):
    target = Target("agex/rules.py", ("checks/test_strong.py",))
    _, base = _in_child(lambda: _baseline(target))
    assert isinstance(base, dict)
    lines = base["lines"]
    spin, edges = "checks/test_strong.py::test_spin", "checks/test_strong.py::test_edges"
    assert reaching_tests(8, lines) == [edges]  # inside is_adult
    assert reaching_tests(13, lines) == [spin]  # `n -= 1`, inside spin
    assert reaching_tests(4, lines) is None  # ADULT = 18: run at import, every test depends on it
    assert reaching_tests(99, lines) is None  # never seen: every test, to be safe
    # the same verdicts as running every test against every mutant
    strong = run_target(target, jobs=2, limits=(1, 30), select=True)
    assert (strong.total, strong.killed, strong.timeouts, strong.survivors) == (12, 12, 3, [])
    weak = run_target(
        Target("agex/rules.py", ("checks/test_weak.py",), 50.0), jobs=2, limits=(1, 30), select=True
    )
    assert (weak.killed, len(weak.survivors)) == (1, 11)


def test_the_command_fails_below_the_threshold(project, capsys):
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.netkeep.mutation]
            modules = [
              { path = "agex/tiny.py", tests = ["checks/test_tiny.py"], threshold = 50 },
            ]
            """
        ),
        encoding="utf-8",
    )
    assert main(["--show-survivors"]) == 1
    out = capsys.readouterr().out
    assert "agex/tiny.py      " in out and "1/4    killed  25.0%" in out and "BELOW 50%" in out
    assert "survived  agex/tiny.py:2  > → >=" in out
    with pytest.raises(SystemExit):
        main(["not/configured.py"])


def test_a_mutant_names_the_function_body_it_changes_and_nothing_else():
    source = """
        LIMIT = 3


        def rule(x, y=4):
            def inner():
                return x > 1
            return inner()


        class Box:
            SIZE = 5

            def fits(self, n):
                return n <= self.SIZE

            @property
            def half(self):
                return self.SIZE // 2

            @half.setter
            def half(self, value):
                self.SIZE = value * 2
    """
    found = {(m.line, m.description): m.scope for m in mutants(textwrap.dedent(source))}
    rule, fits = Scope("rule", 6, 8), Scope("Box.fits", 15, 15)
    assert found[(2, "3 → 4")] is None  # module level: runs at import
    assert found[(5, "4 → 5")] is None  # a default argument: evaluated at definition
    assert found[(7, "> → >=")] == rule  # a nested function belongs to the enclosing one
    assert found[(8, "statement deleted: return inner()")] == rule
    assert found[(12, "5 → 6")] is None  # a class attribute
    assert found[(15, "<= → <")] == fits
    assert found[(19, "// → *")] is None  # `half` is two functions: the name is ambiguous
    assert found[(23, "* → //")] is None


MODULE = '''
"""Doc."""
import os

X = {1, 2}


@decorate(3)
def f(a, b=2):
    """Doc."""
    return a + b if a in X else -a


class C:
    Y = 2 * 3

    def g(self):
        return not self.Y
'''


def test_each_mutant_is_the_whole_module_changed_and_unparsed():
    tree = ast.parse(MODULE)  # the straightforward way: copy the module, change it, unparse it
    expected = [
        (p.line, p.description, ast.unparse(_apply(tree, p.index, p)))
        for p in _points(tree, frozenset())
    ]
    assert len(expected) > 10
    assert [(m.line, m.description, m.source) for m in mutants(MODULE)] == expected


def test_a_patched_mutant_and_a_freshly_imported_one_get_the_same_verdicts(project):
    target = Target("agex/rules.py", ("checks/test_weak.py",), 50.0)
    patched = run_target(target, jobs=2, limits=(1, 30), select=True)
    fresh = run_target(target, jobs=2, limits=(1, 30), select=True, patch=False)
    assert (patched.patched, fresh.patched) == (10, 0)  # every mutant but ADULT = 18's two
    assert patched.survivors == fresh.survivors and len(fresh.survivors) == 11
    assert (patched.killed, patched.timeouts) == (fresh.killed, fresh.timeouts) == (1, 0)


def test_a_looping_patched_mutant_is_ended_and_counted_killed(project):
    strong = run_target(Target("agex/rules.py", ("checks/test_strong.py",)), jobs=2, limits=(1, 30))
    assert (strong.patched, strong.killed, strong.timeouts, strong.survivors) == (10, 12, 3, [])


def test_a_function_that_runs_at_import_is_never_patched(project):
    (project / "agex/table.py").write_text(
        "def double(n):\n    return n * 2\n\n\nTABLE = {k: double(k) for k in (1, 2)}\n",
        encoding="utf-8",
    )
    (project / "checks/test_table.py").write_text(
        "from agex.table import TABLE\n\n\ndef test_table():\n    assert TABLE == {1: 2, 2: 4}\n",
        encoding="utf-8",
    )
    outcome = run_target(Target("agex/table.py", ("checks/test_table.py",)), jobs=2, limits=(1, 30))
    # swapping double's code after import would leave TABLE as it was: all four would survive
    assert (outcome.patched, outcome.total, outcome.killed, outcome.survivors) == (0, 8, 8, [])


def test_a_patched_mutant_may_take_twice_its_tests_cpu_and_two_seconds():
    test_cpu = {"t.py::a": 1.2, "t.py::b": 5.0}
    assert cpu_budget(["t.py::a"], test_cpu, 30) == 4  # 2 x 1.2 + 2, whole seconds
    assert cpu_budget(None, test_cpu, 30) == 14  # every test: 2 x 6.2 + 2
    assert cpu_budget(None, test_cpu, 10) == 10  # never above the module's limit
    assert cpu_budget(["t.py::gone"], test_cpu, 30) == 30  # a test the baseline never ran


def test_tests_that_caught_earlier_mutants_run_first_and_the_first_failure_is_noted(tmp_path):
    from types import SimpleNamespace

    from tools.forkrun import KillersFirst

    killers = KillersFirst(["t::c", "t::a"], str(tmp_path / "note"), 7)
    items = [SimpleNamespace(nodeid=n) for n in ("t::a", "t::b", "t::c", "t::d")]
    killers.pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == ["t::c", "t::a", "t::b", "t::d"]  # the rest keep order
    assert killers.first_failure() is None
    for nodeid, failed in (("t::c", False), ("t::a", True), ("t::b", True)):
        killers.pytest_runtest_logreport(SimpleNamespace(nodeid=nodeid, failed=failed))  # type: ignore[arg-type]
    assert killers.first_failure() == "t::a"

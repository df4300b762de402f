"""Mutants of a module: one small change each (tools/mutate.py runs the tests against them).

Operators: flipped comparisons, ±1 on integer constants, True/False swapped, and/or swapped,
`not` removed, + − and * // swapped, one element dropped from a set display (module-level tables
included), and one statement inside a function replaced by `pass`. Docstrings, annotations and
decorator arguments are left alone; so is a line ending with ``# mutation: equivalent``.
"""

from __future__ import annotations

import ast
import bisect
import copy
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TypeVar

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
_LEFT_ALONE = frozenset({"annotation", "returns", "type_comment", "decorator_list"})


@dataclass(frozen=True, slots=True)
class Scope:
    """The function whose body holds a change: its qualified name and its body's lines."""

    qualname: str
    first_line: int
    last_line: int


@dataclass(frozen=True, slots=True)
class Mutant:
    """One small change to a module: where, what, and the changed source.

    `scope`: the function whose body (not its signature or decorators) the change is in, when
    that function is defined at module level or in a class body (classes nested at module
    level) under a name nothing else in its namespace uses; None for anything else (module or
    class-level code, a default argument). tools/forkrun.py swaps such a function's code in.
    """

    line: int
    description: str
    source: str
    scope: Scope | None = None


@dataclass(frozen=True, slots=True)
class _Point:
    index: int  # position of the node in _nodes() order
    line: int
    description: str
    kind: str
    arg: int = 0
    scope: Scope | None = None


_Defs = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _nodes(tree: ast.AST) -> list[tuple[ast.AST, bool, Scope | None]]:
    """Every node in a fixed order, with whether it is left alone (annotation, docstring …)
    and the function body it is in (see Mutant.scope)."""
    out: list[tuple[ast.AST, bool, Scope | None]] = []

    def visit(node: ast.AST, skipped: bool, scope: Scope | None, level: list[str] | None) -> None:
        # level: the class names down from the module while at module or class-body level
        out.append((node, skipped, scope))
        for name, value in ast.iter_fields(node):
            skip = skipped or name in _LEFT_ALONE
            children = value if isinstance(value, list) else [value]
            inner, inner_level = scope, None
            if level is not None and name == "body" and isinstance(node, _Defs):
                names = [*level, node.name]
                if isinstance(node, ast.ClassDef):
                    inner_level = names
                else:
                    end = node.end_lineno or node.lineno
                    inner = Scope(".".join(names), node.body[0].lineno, end)
            if level is not None and name == "body" and isinstance(node, ast.Module):
                inner_level = level
            taken = [c.name for c in children if isinstance(c, _Defs)]
            for i, child in enumerate(children):
                if isinstance(child, ast.AST):
                    docstring = name == "body" and i == 0 and _is_docstring(child)
                    unique = not isinstance(child, _Defs) or taken.count(child.name) == 1
                    visit(child, skip or docstring, inner, inner_level if unique else None)

    visit(tree, False, None, [])
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
    for index, (node, skipped, scope) in enumerate(_nodes(tree)):
        line = getattr(node, "lineno", 0)
        if skipped or line in skipped_lines:
            continue
        for point in _node_points(node, index, line, in_function):
            yield replace(point, scope=scope)


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
        binop = _BINOP_SWAPS[type(node.op)]()
        yield _Point(index, line, f"{_op_text(node.op)} → {_op_text(binop)}", "binop")
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


_Root = TypeVar("_Root", bound=ast.AST)


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, replacement: ast.AST) -> None:
        self.target, self.replacement = target, replacement

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.replacement
        visited: ast.AST = super().visit(node)
        return visited


def _apply(root: _Root, index: int, point: _Point) -> _Root:
    """A changed copy of `root` (a top-level statement); `index`: the point's node in its
    _nodes()."""
    mutated = copy.deepcopy(root)
    node = _nodes(mutated)[index][0]
    replacement: ast.AST | None = None
    if point.kind == "compare" and isinstance(node, ast.Compare):
        node.ops[point.arg] = _COMPARE_SWAPS[type(node.ops[point.arg])]()
    elif point.kind == "int" and isinstance(node, ast.Constant) and type(node.value) is int:
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
        _Replace(node, replacement).visit(mutated)  # the root is never the target
    return ast.fix_missing_locations(mutated)


def _unparse_at(body: list[ast.stmt], k: int, statement: ast.stmt) -> str:
    """The text `statement` gets as the k-th top-level statement of a module's unparse.

    ast.unparse writes each top-level statement independently of the others, except that a
    statement after the first starts on a new line (a blank line more before a def or class)
    and the first one, if a string, is written as the docstring: so the text of statement k
    is what it adds after body[0] (k > 0) or on its own (k = 0).
    """
    if k == 0:
        return ast.unparse(ast.Module(body=[statement], type_ignores=[]))
    head = ast.unparse(ast.Module(body=[body[0]], type_ignores=[]))
    return ast.unparse(ast.Module(body=[body[0], statement], type_ignores=[]))[len(head) :]


def mutants(source: str) -> list[Mutant]:
    """Every single-change mutant of `source`, in source order; unchanged code is no mutant.

    Each mutant's source is ``ast.unparse`` of the changed module. Only the changed top-level
    statement is copied and written again (copying and unparsing the whole module per mutant
    took 40 s of CPU for provisioning/domain.py's 326 mutants); tests/unit/tools checks the
    text is the whole-module unparse.
    """
    tree = ast.parse(source)
    skipped = frozenset(
        n for n, text in enumerate(source.splitlines(), 1) if text.rstrip().endswith(SKIP_PRAGMA)
    )
    body = tree.body
    pieces = [_unparse_at(body, k, statement) for k, statement in enumerate(body)]
    starts, position = [], 1  # _nodes(tree): the module, then each statement's whole subtree
    for statement in body:
        starts.append(position)
        position += sum(1 for _ in ast.walk(statement))
    out = []
    for point in _points(tree, skipped):
        k = bisect.bisect_right(starts, point.index) - 1
        changed = _apply(body[k], point.index - starts[k], point)
        piece = _unparse_at(body, k, changed)
        if piece != pieces[k]:
            text = "".join([*pieces[:k], piece, *pieces[k + 1 :]])
            out.append(Mutant(point.line, point.description, text, point.scope))
    return out

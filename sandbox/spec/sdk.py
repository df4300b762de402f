"""Operations of the Dashboard API v1 read from the installed ``meraki`` SDK's generated code.

Every generated function names its operation (``metadata["operation"]``), its path (the
``resource`` f-string), its HTTP method (``self._session.get/get_pages/post/put/delete``), its
body and query parameters (``body_params``/``query_params``/``array_params``), each parameter's
documented type (the docstring's ``- name (type): ...`` lines), enums (``options = [...]``
asserts) and required ones (positional arguments). ``meraki/api/batch/`` holds the batchable
operations: the same names, each building ``{"resource": ..., "operation": "create" ...}``.
The SDK's source is parsed, never imported for this, so nothing runs.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

METHODS = {"get": "GET", "get_pages": "GET", "post": "POST", "put": "PUT", "delete": "DELETE"}
_DOC_PARAM = re.compile(r"^\s*- (\w+) \(([^)]+)\): ?(.*)$")
_PER_PAGE = re.compile(r"range is (\d+) ?- ?(\d+)")
JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object")


@dataclass(frozen=True)
class Param:
    """One documented body or query parameter."""

    name: str
    type: str
    """One of JSON_TYPES (``integer or string`` style docs keep their first type)."""
    required: bool = False
    enum: tuple[str, ...] | None = None
    nullable: bool = False
    """The description gives null a meaning (e.g. ``rfProfileId``: null assigns the default)."""


@dataclass(frozen=True)
class Operation:
    """One published operation: id, method, path template and parameters."""

    operation_id: str
    method: str
    template: str
    """Path with ``{name}`` parameters, e.g. ``/networks/{networkId}/appliance/vlans``."""
    path_params: tuple[str, ...]
    body: dict[str, Param] = field(default_factory=dict)
    query: dict[str, Param] = field(default_factory=dict)
    paged: bool = False
    per_page: tuple[int, int] | None = None
    """Documented perPage range (min, max) of a paged operation."""

    @property
    def shape(self) -> str:
        """The template with parameter names blanked, for matching other spellings."""
        return shape_of(self.template)


@dataclass(frozen=True)
class BatchOperation:
    """A batchable operation: the resource template and the batch verb the SDK helper uses."""

    operation_id: str
    resource: str
    operation: str
    body: dict[str, Param] = field(default_factory=dict)

    @property
    def shape(self) -> str:
        """The resource template with parameter names blanked."""
        return shape_of(self.resource)


def shape_of(template: str) -> str:
    """``/networks/{networkId}/x`` and ``/networks/{id}/x`` both become ``/networks/{}/x``."""
    return re.sub(r"\{[^}]*\}", "{}", template.split("?", 1)[0].rstrip("/"))


@dataclass(frozen=True)
class Catalog:
    """Every operation of the SDK (by id) and the batchable subset."""

    version: str
    operations: dict[str, Operation]
    batchable: dict[str, BatchOperation]

    def find(self, method: str, template: str) -> Operation | None:
        """The operation for a method and a path template (any parameter names)."""
        return self._by_route().get((method, shape_of(template)))

    def find_batch(self, resource_template: str, operation: str) -> BatchOperation | None:
        """The batchable operation with that resource shape and batch verb."""
        return self._by_batch().get((shape_of(resource_template), operation))

    @cache  # noqa: B019 - the catalog lives for the process
    def _by_route(self) -> dict[tuple[str, str], Operation]:
        return {(op.method, op.shape): op for op in self.operations.values()}

    @cache  # noqa: B019
    def _by_batch(self) -> dict[tuple[str, str], BatchOperation]:
        return {(b.shape, b.operation): b for b in self.batchable.values()}

    def __hash__(self) -> int:
        return hash(self.version)


def _sdk_dir() -> Path:
    import meraki

    return Path(meraki.__file__).parent


def _str_list(node: ast.AST) -> list[str]:
    if isinstance(node, ast.List):
        return [
            e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
    return []


def _template(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if not isinstance(node, ast.JoinedStr):
        return None
    parts: list[str] = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(str(value.value))
        elif isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name):
            parts.append("{" + value.value.id + "}")
    return "".join(parts)


def _doc_types(doc: str) -> tuple[dict[str, str], set[str], tuple[int, int] | None]:
    types: dict[str, str] = {}
    nullable: set[str] = set()
    per_page = None
    for line in doc.splitlines():
        found = _DOC_PARAM.match(line)
        if not found:
            continue
        name, kind, text = found.groups()
        first = kind.split(" or ")[0].strip()
        types[name] = first if first in JSON_TYPES else "string"
        if re.search(r"\bnull\b", text, re.IGNORECASE):
            nullable.add(name)
        if name == "perPage":
            bounds = _PER_PAGE.search(text)
            if bounds:
                per_page = (int(bounds.group(1)), int(bounds.group(2)))
    return types, nullable, per_page


class _Facts(ast.NodeVisitor):
    """What one generated function says: lists, enums, resource, method, batch verb."""

    def __init__(self) -> None:
        self.lists: dict[str, list[str]] = {}
        self.enums: dict[str, tuple[str, ...]] = {}
        self.resource: str | None = None
        self.method: str | None = None
        self.operation: str | None = None
        self.operation_id: str | None = None

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Constant)
            and isinstance(test.left.value, str)
        ):
            for stmt in node.body:
                if (
                    isinstance(stmt, ast.Assign)
                    and isinstance(stmt.targets[0], ast.Name)
                    and stmt.targets[0].id == "options"
                ):
                    self.enums[test.left.value] = tuple(_str_list(stmt.value))
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        target = node.targets[0]
        if isinstance(target, ast.Name):
            if target.id in ("body_params", "query_params", "array_params"):
                self.lists[target.id] = _str_list(node.value)
            elif target.id == "resource" and self.resource is None:
                self.resource = _template(node.value)
            elif target.id in ("metadata", "action") and isinstance(node.value, ast.Dict):
                for key, value in zip(node.value.keys, node.value.values, strict=True):
                    if isinstance(key, ast.Constant) and isinstance(value, ast.Constant):
                        if key.value == "operation" and target.id == "metadata":
                            self.operation_id = str(value.value)
                        elif key.value == "operation":
                            self.operation = str(value.value)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Attribute)
            and func.value.attr == "_session"
            and func.attr in METHODS
        ):
            self.method = func.attr
        self.generic_visit(node)


def _params(
    fn: ast.FunctionDef,
    names: list[str],
    doc: tuple[dict[str, str], set[str], tuple[int, int] | None],
    enums: dict[str, tuple[str, ...]],
) -> dict[str, Param]:
    positional = {a.arg for a in fn.args.args}
    types, nullable, _ = doc
    return {
        n: Param(n, types.get(n, "string"), n in positional, enums.get(n) or None, n in nullable)
        for n in names
    }


def _functions(path: Path) -> list[tuple[ast.FunctionDef, _Facts, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        for fn in cls.body:
            if isinstance(fn, ast.FunctionDef) and not fn.name.startswith("_"):
                facts = _Facts()
                facts.visit(fn)
                found.append((fn, facts, ast.get_docstring(fn) or ""))
    return found


@cache
def catalog() -> Catalog:
    """Parse the installed SDK once per process."""
    from meraki import __version__

    root = _sdk_dir() / "api"
    operations: dict[str, Operation] = {}
    for module in sorted(root.glob("*.py")):
        for fn, facts, doc in _functions(module):
            if facts.method is None or facts.resource is None:
                continue
            documented = _doc_types(doc)
            template = facts.resource
            path_params = tuple(re.findall(r"\{(\w+)\}", template))
            query = [*facts.lists.get("query_params", [])]
            operations[facts.operation_id or fn.name] = Operation(
                operation_id=facts.operation_id or fn.name,
                method=METHODS[facts.method],
                template=template,
                path_params=path_params,
                body=_params(fn, facts.lists.get("body_params", []), documented, facts.enums),
                query=_params(fn, query, documented, facts.enums),
                paged=facts.method == "get_pages",
                per_page=documented[2],
            )
    batchable: dict[str, BatchOperation] = {}
    for module in sorted((root / "batch").glob("*.py")):
        for fn, facts, doc in _functions(module):
            if facts.operation is None or facts.resource is None:
                continue
            documented = _doc_types(doc)
            batchable[fn.name] = BatchOperation(
                operation_id=fn.name,
                resource=facts.resource,
                operation=facts.operation,
                body=_params(fn, facts.lists.get("body_params", []), documented, facts.enums),
            )
    return Catalog(str(__version__), operations, batchable)

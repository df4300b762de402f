"""The README's role table, generated from the role policy and the routes' guards.

`python -m api.role_table` rewrites the table between the markers in README.md (`make roles`);
`--check` exits 1 when the README has drifted from the code. The customer portal's routes are
the last row (`portal`), open to the customer column only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute

from api.deps import RoleGuard, customer_caller
from core.auth import Role, TokenRole
from core.policy import POLICY, PORTAL, PORTAL_MEANING, Operation

BEGIN = "<!-- role-table:begin: generated from core/policy.py by `make roles`; do not edit -->"
END = "<!-- role-table:end -->"
README = Path(__file__).resolve().parent.parent / "README.md"


@dataclass(frozen=True, slots=True)
class GuardedRoute:
    method: str
    path: str
    operations: tuple[Operation, ...]


def guards_of(dependant: Any) -> list[RoleGuard]:
    """The distinct guards a route runs: one met twice (a path lookup that authorizes before it
    reads, as the change-request number does) is one check, run once by FastAPI."""
    found = [dependant.call] if isinstance(dependant.call, RoleGuard) else []
    for child in dependant.dependencies:
        found += guards_of(child)
    return list({id(g): g for g in found}.values())


def guarded_routes() -> list[GuardedRoute]:
    """Every API route with the operations its guards check (exactly one when all is well)."""
    from api.app import api_routers

    found: list[GuardedRoute] = []
    for router in api_routers():
        for route in router.routes:
            if not isinstance(route, APIRoute):
                continue
            operations = tuple(g.operation for g in guards_of(route.dependant))
            for method in sorted(route.methods or ()):
                found.append(GuardedRoute(method, route.path, operations))
    return found


def _calls(dependant: Any, call: Any) -> bool:
    return bool(dependant.call is call or any(_calls(d, call) for d in dependant.dependencies))


def portal_routes() -> list[GuardedRoute]:
    """Every portal route; one without the customer guard is a bug, refused here."""
    from api.portal import router

    found: list[GuardedRoute] = []
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        if not _calls(route.dependant, customer_caller) or guards_of(route.dependant):
            raise SystemExit(f"{route.path}: a portal route must be guarded by the customer only")
        for method in sorted(route.methods or ()):
            found.append(GuardedRoute(method, route.path, ()))
    return found


def _endpoints(operation: Operation, routes: Iterable[GuardedRoute]) -> str:
    if operation is Operation.READ:
        return "every other `GET`"
    listed = [f"`{r.method} {r.path}`" for r in routes if r.operations == (operation,)]
    return ", ".join(listed) or "(CLI only)"


def role_table(routes: Sequence[GuardedRoute], portal: Sequence[GuardedRoute] = ()) -> str:
    """The Markdown table: one row per operation, a ✓ per role allowed, and its endpoints; the
    customer's column is empty but for the portal's row (every portal route, GETs included)."""
    roles = list(Role)
    head = [
        "operation",
        "meaning",
        *(r.value for r in roles),
        TokenRole.CUSTOMER.value,
        "endpoints (under /api/v1)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for operation, rule in POLICY.items():
        marks = ["✓" if role in rule.roles else "" for role in roles]
        cells = [f"`{operation}`", rule.meaning, *marks, "", _endpoints(operation, routes)]
        lines.append("| " + " | ".join(cells) + " |")
    listed = ", ".join(f"`{r.method} {r.path}`" for r in portal)
    cells = [f"`{PORTAL}`", PORTAL_MEANING, *("" for _ in roles), "✓", listed or "(none)"]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def with_table(text: str, table: str) -> str:
    """The README text with the table between the markers replaced."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return f"{text[:start]}\n{table}\n{text[end:]}"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    text = README.read_text(encoding="utf-8")
    wanted = with_table(text, role_table(guarded_routes(), portal_routes()))
    if "--check" in args:
        if wanted != text:
            print("README.md's role table differs from core/policy.py; run `make roles`")
            return 1
        return 0
    if wanted != text:
        README.write_text(wanted, encoding="utf-8")
        print("README.md: role table regenerated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

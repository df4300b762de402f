"""Path-template router shared by direct HTTP calls and action batches, plus paging."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sandbox.state import SandboxState

JSON = Any


class ApiError(Exception):
    """A Dashboard-style error: HTTP status plus the `errors` list of the body."""

    def __init__(self, status: int, *messages: str) -> None:
        super().__init__(f"{status}: {'; '.join(messages)}")
        self.status = status
        self.messages = list(messages)


def bad_request(*messages: str) -> ApiError:
    """400 with the given messages."""
    return ApiError(400, *messages)


def not_found(what: str) -> ApiError:
    """404 naming the missing resource."""
    return ApiError(404, f"{what} not found")


@dataclass
class Call:
    """One API operation as seen by a handler: path parameters, query, body and clock."""

    params: dict[str, str]
    query: dict[str, list[str]]
    body: JSON
    now: datetime
    path: str = ""
    link_base: str = ""

    def q(self, name: str) -> str | None:
        """First value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    def q_list(self, name: str) -> list[str]:
        """Array query parameter, accepting both `name[]=` and `name=` spellings."""
        return [*self.query.get(f"{name}[]", []), *self.query.get(name, [])]

    def obj(self) -> dict[str, Any]:
        """The body as an object, or 400."""
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise bad_request("Request body must be a JSON object")
        return self.body


@dataclass
class Reply:
    """A handler's answer: status, JSON body (None means no content) and extra headers."""

    body: JSON = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[SandboxState, Call], Reply]


@dataclass(frozen=True)
class Route:
    """A method, a path template and the handler answering it."""

    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


def _shape(path: str) -> tuple[str, int]:
    """A path's first segment and its number of segments (a trailing slash not counted)."""
    trimmed = path[:-1] if path.endswith("/") else path
    parts = trimmed.split("/")
    return (parts[1] if len(parts) > 1 else "", len(parts))


def _compile(template: str) -> re.Pattern[str]:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{regex}/?$")


class Router:
    """Ordered route table matched by method and path template."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._by_shape: dict[tuple[str, int], list[Route]] = {}
        """Routes by first segment and segment count: only these can match a path (a template's
        parameters are one segment each), in the order added."""

    def add(self, method: str, template: str) -> Callable[[Handler], Handler]:
        """Decorator registering a handler for METHOD template."""

        def register(handler: Handler) -> Handler:
            route = Route(method, template, _compile(template), handler)
            self.routes.append(route)
            self._by_shape.setdefault(_shape(template), []).append(route)
            return handler

        return register

    def include(self, other: Router) -> None:
        """Append every route of another router."""
        for route in other.routes:
            self.add(route.method, route.template)(route.handler)

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """Find the route for a path; the flag says the path exists under another method."""
        candidates = self._by_shape.get(_shape(path), [])
        path_known = False
        for route in candidates:
            found = route.pattern.match(path)
            if found:
                if route.method == method:
                    return route, found.groupdict(), True
                path_known = True
        return None, {}, path_known


def paginate(
    call: Call,
    items: list[dict[str, Any]],
    key: Callable[[dict[str, Any]], str],
    default_per_page: int = 1000,
    max_per_page: int = 1000,
) -> Reply:
    """Cursor paging with startingAfter/endingBefore and an RFC 8288 Link header."""
    raw = call.q("perPage")
    per_page = default_per_page
    if raw is not None:
        try:
            per_page = int(raw)
        except ValueError as exc:
            raise bad_request("'perPage' must be an integer") from exc
        if not 3 <= per_page <= max_per_page:
            raise bad_request(f"'perPage' must be between 3 and {max_per_page}")
    ordered = sorted(items, key=key)
    keys = [key(item) for item in ordered]
    after, before = call.q("startingAfter"), call.q("endingBefore")
    if after is not None:
        start = next((i for i, k in enumerate(keys) if k > after), len(keys))
        page = ordered[start : start + per_page]
    elif before is not None:
        end = next((i for i, k in enumerate(keys) if k >= before), len(keys))
        start = max(0, end - per_page)
        page = ordered[start:end]
    else:
        start = 0
        page = ordered[:per_page]
    end_index = start + len(page)
    links: list[tuple[str, dict[str, str]]] = [("first", {})]
    if start > 0 and page:
        links.append(("prev", {"endingBefore": key(page[0])}))
    if end_index < len(ordered) and page:
        links.append(("next", {"startingAfter": key(page[-1])}))
    links.append(("last", {"endingBefore": "~"}))
    header = ", ".join(f"<{_page_url(call, per_page, cursor)}>; rel={rel}" for rel, cursor in links)
    return Reply(page, headers={"Link": header})


_PAGING_KEYS = {"perPage", "startingAfter", "endingBefore"}


def _page_url(call: Call, per_page: int, cursor: dict[str, str]) -> str:
    pairs = [(k, v) for k, vs in call.query.items() if k not in _PAGING_KEYS for v in vs]
    pairs.append(("perPage", str(per_page)))
    pairs.extend(cursor.items())
    return f"{call.link_base}{call.path}?{urlencode(pairs)}"

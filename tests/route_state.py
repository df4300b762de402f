"""One build of FastAPI's per-route request state for all the apps a test process creates.

FastAPI (0.16x) builds a route's request state lazily, on the first request that walks past the
route in an app: its dependency tree, a pydantic TypeAdapter per parameter, the request handler
(about 0.2 s of CPU for the first request of each app, more as other routers are reached). The
product builds one app per process, so it pays this once; the suite builds an app per test
(`app_client`, `client_with`, `web_app`, ...), thousands of times, for the same module-level
routes with the same include options.

`install()` memoizes that build per (route object, include options): an app built later with the
same routers reuses the state the first one built. The include options are compared whole (prefix,
tags, dependencies, response class, limits...), except the app itself, which FastAPI records only
to look up `app.dependency_overrides`; an app with overrides set always builds its own state.
Nothing else is shared: each app keeps its own middleware, `app.state`, lifespan and caches.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from fastapi import routing

_lock = threading.Lock()
_built: dict[int, list[tuple[Any, Any, Any]]] = {}  # id(route) -> [(route, options, state)]
_stats = {"built": 0, "reused": 0}


def _options(include_context: Any) -> Any:
    return dataclasses.replace(include_context, dependency_overrides_provider=None)


def _overridden(include_context: Any) -> bool:
    provider = include_context.dependency_overrides_provider
    return bool(getattr(provider, "dependency_overrides", None))


def install() -> None:
    """Wrap `_IncludedRouter._build_effective_context` once per process (idempotent)."""
    included = routing._IncludedRouter
    if getattr(included._build_effective_context, "_netkeep_memo", False):
        return
    build = included._build_effective_context
    shareable = (routing.APIRoute, routing._FrontendRouteGroup)

    def memoized(self: Any, route: Any) -> Any:
        if not isinstance(route, shareable) or _overridden(self.include_context):
            return build(self, route)
        options = _options(self.include_context)
        with _lock:
            for seen, seen_options, state in _built.get(id(route), ()):
                if seen is route and seen_options == options:
                    _stats["reused"] += 1
                    return state
        state = build(self, route)
        with _lock:
            _built.setdefault(id(route), []).append((route, options, state))
            _stats["built"] += 1
        return state

    memoized._netkeep_memo = True  # type: ignore[attr-defined]
    included._build_effective_context = memoized  # type: ignore[method-assign]


def stats() -> dict[str, int]:
    """How many route states were built and how many reused (for the suite's own test)."""
    return dict(_stats)

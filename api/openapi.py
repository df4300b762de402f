"""The OpenAPI document states every error status a route can answer, added in one place.

Each route's own decorator documents its success; the errors follow from what the route is:
secured → 401/403, has a path parameter → 404 and 409, may write → 409, takes a body → 400, 413
and 422, takes parameters → 422, reaches the database → 503 (`Retry-After`), calls the
dashboard → 502, reaches a device over SSH → 504. Every error body is the same `Error` object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "description": "Every error the API answers, whatever its status or cause (request "
    "validation, an unknown route or method, a body over the limit, a bug): all four keys, always.",
    "type": "object",
    "required": ["error", "message", "problems", "details"],
    "properties": {
        "error": {"type": "string", "description": "machine-readable code, e.g. not_found"},
        "message": {"type": "string", "description": "what went wrong, in English"},
        "problems": {
            "type": "array",
            "description": "each invalid value with its location (empty unless validation failed)",
            "items": {
                "type": "object",
                "required": ["message", "location"],
                "properties": {"message": {"type": "string"}, "location": {"type": "string"}},
            },
        },
        "details": {
            "type": "object",
            "additionalProperties": True,
            "description": "what else the error knows (allowed next states, retry_after ...)",
        },
    },
    "additionalProperties": False,
}

DESCRIPTIONS = {
    "400": "The body could not be read (not JSON, or a broken multipart form)",
    "401": "No token, or an unknown or revoked one",
    "403": "The token's role may not do this",
    "404": "Not found",
    "409": "Conflicts with the current state (a key already used, a transition not allowed)",
    "413": "The request body is too large",
    "422": "A value is invalid; every problem is named with its location",
    "502": "The Meraki dashboard refused or failed",
    "503": "The database (or, for pictures and PDFs, every render slot) stayed busy past its "
    "bound; retry after `Retry-After` seconds",
    "504": "A network device did not answer over SSH",
}
SAFE = frozenset({"get", "head", "options"})


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def error_statuses(route: APIRoute | None, method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses an operation can answer, from its shape and its dependencies."""
    calls = _calls(route.dependant) if route is not None else iter(())
    names = {getattr(call, "__name__", type(call).__name__).lower() for call in calls}
    statuses = ["503"]
    if operation.get("security"):
        statuses += ["401", "403"]
    by_id = any(p.get("in") == "path" for p in operation.get("parameters", []))
    if by_id:
        statuses.append("404")
    if method not in SAFE or by_id:
        statuses.append("409")
    if "requestBody" in operation:
        statuses += ["400", "413", "422"]
    elif operation.get("parameters"):
        statuses.append("422")
    if any("dashboard" in name for name in names):
        statuses.append("502")
    if any("cli_factory" in name for name in names):
        statuses.append("504")
    return statuses


def _api_routes(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every APIRoute with its full path, through included routers (nested since FastAPI 0.16x)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path_format, route
            continue
        included = getattr(route, "original_router", None)
        context = getattr(route, "include_context", None)
        if included is not None:
            yield from _api_routes(included.routes, prefix + getattr(context, "prefix", ""))


def document_error_statuses(app: FastAPI) -> None:
    """Wrap `app.openapi` so the generated document lists every route's error statuses."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        routes = {
            (path, method.lower()): route
            for path, route in _api_routes(app.routes)
            for method in route.methods or ()
        }
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                route = routes.get((path, method))
                _add_errors(operation, error_statuses(route, method, operation))
        for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's, replaced by Error
            schema["components"]["schemas"].pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_errors(operation: dict[str, Any], statuses: list[str]) -> None:
    responses = operation.setdefault("responses", {})
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for status in statuses:
        entry: dict[str, Any] = {"description": DESCRIPTIONS[status], "content": error}
        if status == "503":
            entry["headers"] = {
                "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
            }
        # FastAPI's own 422 is replaced: request validation answers the same Error object.
        if status == "422" or status not in responses:
            responses[status] = entry

"""Request checks against the published operations: unknown property, type, enum, required."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.spec.nested import NESTED, Schema
from sandbox.spec.sdk import Param

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def type_ok(kind: str, value: Any) -> bool:
    """Whether a JSON value has the documented type (booleans are not integers)."""
    if isinstance(value, bool) and kind != "boolean":
        return False
    return isinstance(value, _PYTHON_TYPES.get(kind, (object,)))


def body_problems(
    operation_id: str, params: Mapping[str, Param], body: Any
) -> list[tuple[str, str]]:
    """(field, message) for every way a request body breaks the operation's schema."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return [("", f"{operation_id}: the request body must be a JSON object")]
    found: list[tuple[str, str]] = []
    for name, value in body.items():
        param = params.get(name)
        if param is None:
            found.append((name, f"'{name}' is not a property of {operation_id}"))
        elif value is None and param.nullable:
            continue
        elif not type_ok(param.type, value):
            shown = "null" if value is None else type(value).__name__
            found.append((name, f"'{name}' must be of type {param.type}, got {shown}"))
        elif param.enum and value not in param.enum:
            allowed = ", ".join(repr(v) for v in param.enum)
            found.append((name, f"'{name}' must be one of: {allowed}; got {value!r}"))
        elif (operation_id, name) in NESTED:
            found.extend(nested_problems(NESTED[(operation_id, name)], value, name))
    for name, param in params.items():
        if param.required and name not in body:
            found.append((name, f"'{name}' is required by {operation_id}"))
    return found


def nested_problems(schema: Schema, value: Any, where: str) -> list[tuple[str, str]]:
    """Problems inside a documented nested object or array (closed objects)."""
    kind = schema["type"]
    if not type_ok(kind, value):
        shown = "null" if value is None else type(value).__name__
        return [(where, f"'{where}' must be of type {kind}, got {shown}")]
    if "enum" in schema and str(value).lower() not in {str(v).lower() for v in schema["enum"]}:
        # case-insensitive: the dashboard answers its default L3 rule as protocol "Any" and
        # takes the rules back as read
        allowed = ", ".join(repr(v) for v in schema["enum"])
        return [(where, f"'{where}' must be one of: {allowed}; got {value!r}")]
    found: list[tuple[str, str]] = []
    if kind == "array":
        for item in value:
            found.extend(nested_problems(schema["items"], item, f"{where}[]"))
    elif kind == "object" and "properties" in schema:
        for key, inner in value.items():
            path = f"{where}.{key}"
            if key not in schema["properties"]:
                if not schema.get("open"):
                    found.append((path, f"'{path}' is not a documented property"))
            else:
                found.extend(nested_problems(schema["properties"][key], inner, path))
    return found

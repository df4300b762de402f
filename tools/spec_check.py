"""Check a sandbox request log against a local copy of Cisco's OpenAPI specification.

    .venv/bin/python -m tools.spec_check SPEC3_JSON REQUESTS_JSONL [--all-clients] [--strict-nulls]

The specification (github.com/meraki/openapi, ``openapi/spec3.json``) carries no licence, so
netkeep does not ship it: download it yourself. The log comes from ``SANDBOX_REQUEST_LOG``
(``sandbox/server.py``). Checks, with the specification's full nested schemas: every request
body netkeep sent (objects closed: no unknown property, right types, enums) and every answer the
sandbox gave with a 2xx status (answers to everyone, ``--all-clients`` also bodies of others;
null accepted in answers unless ``--strict-nulls``: the real dashboard answers unset fields with
null where the specification types them plainly).
Needs ``jsonschema_rs`` (a dev dependency, via schemathesis). Exit 1 on any mismatch.
"""

from __future__ import annotations

import copy
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sandbox.spec.referee import NETKEEP_CALLER
from sandbox.spec.sdk import shape_of


def _closed(schema: Any) -> Any:
    """The schema with every object that lists properties closed to others."""
    if isinstance(schema, dict):
        out = {k: _closed(v) for k, v in schema.items()}
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


def _nullable(schema: Any, everywhere: bool = False) -> Any:
    """OpenAPI 3.0 ``nullable: true`` as JSON Schema (type list with null); ``everywhere`` for
    answers, where the dashboard sends null for unset fields the specification types plainly."""
    if isinstance(schema, dict):
        out = {k: _nullable(v, everywhere) for k, v in schema.items() if k != "nullable"}
        if (schema.get("nullable") or everywhere) and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(schema, list):
        return [_nullable(v, everywhere) for v in schema]
    return schema


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                found[(method.upper(), shape_of(path))] = op
    return found


def _schema(container: dict[str, Any] | None) -> Any:
    content = (container or {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def main(argv: list[str]) -> int:
    """Validate and print counts plus each distinct mismatch."""
    import jsonschema_rs

    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 2:
        print(__doc__)
        return 2
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    operations = _operations(spec)
    everyone = "--all-clients" in argv
    lax = "--strict-nulls" not in argv
    counts: Counter[str] = Counter()
    problems: dict[tuple[str, str, str], int] = defaultdict(int)
    validators: dict[tuple[str, str], Any] = {}

    def check(kind: str, op: dict[str, Any], schema: Any, instance: Any) -> None:
        key = (op["operationId"], kind)
        if key not in validators:
            prepared = _nullable(copy.deepcopy(schema), everywhere=kind == "response" and lax)
            validators[key] = jsonschema_rs.Draft4Validator(
                _closed(prepared) if kind == "request" else prepared
            )
        counts[kind] += 1
        for error in validators[key].iter_errors(instance):
            where = "/".join(str(p) for p in error.instance_path)
            problems[(op["operationId"], kind, f"{where}: {error.message[:160]}")] += 1

    for line in Path(args[1]).read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        template = entry.get("template")
        op = operations.get((entry["method"], shape_of(template))) if template else None
        if op is None:
            counts["not in the specification"] += 1
            continue
        ours = NETKEEP_CALLER in str(entry.get("agent", ""))
        body_schema = _schema(op.get("requestBody"))
        if entry["method"] in ("POST", "PUT") and body_schema and (ours or everyone):
            check("request", op, body_schema, entry.get("body") or {})
        status = entry.get("status")
        if status and 200 <= int(status) < 300 and not entry.get("batch"):
            answer = _schema(op.get("responses", {}).get(str(status)))
            if answer is not None:
                check("response", op, answer, entry.get("reply"))
            elif op.get("responses") and str(status) not in op["responses"]:
                problems[(op["operationId"], "response", f"status {status} not documented")] += 1
    print(
        f"requests checked: {counts['request']}, answers checked: {counts['response']},"
        f" not in the specification: {counts['not in the specification']}"
    )
    for (op_id, kind, message), n in sorted(problems.items()):
        print(f"{kind:8} {op_id}: {message} (x{n})")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

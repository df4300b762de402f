"""Secrets in a plan: named by resource and path, and compared with what netkeep last set.

Pure rules (stdlib only). A plan's current state carries, for each secret of the sheet, the
fingerprint netkeep recorded when it last set it — or a marker that never equals one — instead
of the value the dashboard returns, so planning cannot be used to test guesses of a live PSK.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from provisioning.domain import SECRET_FIELDS

SecretPath = tuple[str | int, ...]
NOT_SET_BY_NETKEEP = "(not set by netkeep)"
"""A secret's current value in a plan when netkeep has no record of setting it: never equal."""


def secret_paths(body: Any, prefix: SecretPath = ()) -> Iterable[tuple[SecretPath, str]]:
    """Where a body holds secrets (``("psk",)``, ``("radiusServers", 1, "secret")``)."""
    if isinstance(body, Mapping):
        for k, v in body.items():
            if k in SECRET_FIELDS and isinstance(v, str) and v:
                yield (*prefix, k), v
            else:
                yield from secret_paths(v, (*prefix, k))
    elif isinstance(body, list):
        for i, v in enumerate(body):
            yield from secret_paths(v, (*prefix, i))


def secret_ref(key: str, path: SecretPath) -> str:
    """A secret's name in netkeep's record: ``ssid/0:psk``, ``ssid/0:radiusServers.1.secret``."""
    return f"{key}:{'.'.join(str(p) for p in path)}"


def secret_values(resources: Mapping[str, Any]) -> dict[str, str]:
    """Every secret (a fingerprint, in desired state) of the resources, by its ref."""
    return {
        secret_ref(key, path): value
        for key, body in resources.items()
        if body
        for path, value in secret_paths(body)
    }


def _without_secrets(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_secrets(v) for k, v in value.items() if k not in SECRET_FIELDS}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def _put(body: Any, path: SecretPath, value: str) -> None:
    *parents, last = path
    for part in parents:
        found = isinstance(body, list) and isinstance(part, int) and part < len(body)
        if not found and not (isinstance(body, Mapping) and part in body):
            return
        body = body[part]
    if isinstance(body, dict):
        body[last] = value


def with_recorded_secrets(
    desired: Mapping[str, Any], current: Mapping[str, dict[str, Any]], recorded: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """Current state whose secrets are what netkeep last set (its record), not what the
    dashboard returned: a sheet's secret then diffs as "set" or "unchanged since netkeep set it".
    """
    out: dict[str, dict[str, Any]] = {k: _without_secrets(v) for k, v in current.items()}
    for key, body in desired.items():
        if body and key in out:
            for path, _ in secret_paths(body):
                _put(out[key], path, recorded.get(secret_ref(key, path), NOT_SET_BY_NETKEEP))
    return out

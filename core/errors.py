"""The one exception tree of netkeep, mapped once to HTTP statuses and CLI exit codes.

The exit codes are `core.exit_codes.ExitCode` (the README's table is generated from it).

    DomainError                      400  exit 1
    ├── NotFound                     404  exit 3
    ├── Conflict                     409  exit 4
    │   └── InvalidTransition        409  exit 4   (carries the allowed next states)
    ├── ValidationFailed             422  exit 2   (carries every problem with its location)
    ├── AuthenticationFailed         401  exit 5
    ├── PermissionDenied             403  exit 5
    ├── DashboardError               502  exit 6   (the Meraki dashboard refused or failed)
    ├── DeviceUnreachable            504  exit 7   (SSH device timed out, refused or rejected login)
    ├── SchemaOutdated               503  exit 8   (the database needs `netkeep db upgrade`)
    ├── PayloadTooLarge              413  exit 2   (a body, upload or file over its stated limit)
    └── Busy                         503  exit 9   (a lock wait or every render slot: retry later)

Never subclass a third-party exception; adapters translate theirs into these.

Over HTTP every error, whatever raised it (these, request validation, the router's 404/405, the
body limit's 413, a bug's 500), is one JSON object with four keys, always all present:
`{"error": code, "message": text, "problems": [{"message", "location"}], "details": {}}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from core.exit_codes import ExitCode


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation problem and where it is (sheet/tab, cell, row, field, serial, key path)."""

    message: str
    location: str = ""

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def error_body(
    code: str,
    message: str,
    *,
    problems: Iterable[Problem] = (),
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The API's one error object: every key present, empty when there is nothing to say."""
    return {
        "error": code,
        "message": message,
        "problems": [p.to_dict() for p in problems],
        "details": dict(details or {}),
    }


class DomainError(Exception):
    """Root of every error netkeep raises on purpose."""

    http_status: ClassVar[int] = 400
    exit_code: ClassVar[int] = ExitCode.FOUND
    code: ClassVar[str] = "domain_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The one error shape of the API (see the module docstring)."""
        return error_body(self.code, self.message, details=self.details)


class NotFound(DomainError):
    http_status = 404
    exit_code = ExitCode.NOT_FOUND
    code = "not_found"


class Conflict(DomainError):
    http_status = 409
    exit_code = ExitCode.CONFLICT
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"

    def __init__(self, entity: str, current: str, target: str, allowed: Iterable[str]) -> None:
        current, target = str(current), str(target)
        allowed_sorted = sorted(str(a) for a in allowed)
        super().__init__(
            f"{entity}: cannot move from '{current}' to '{target}'; "
            f"allowed next: {', '.join(allowed_sorted) or 'none'}",
            current=current,
            target=target,
            allowed=allowed_sorted,
        )
        self.current = current
        self.target = target
        self.allowed = allowed_sorted


class ValidationFailed(DomainError):
    http_status = 422
    exit_code = ExitCode.INVALID
    code = "validation_failed"

    def __init__(self, problems: Sequence[Problem], message: str | None = None) -> None:
        self.problems = list(problems)
        summary = message or f"{len(self.problems)} problem(s) found; nothing was changed"
        super().__init__(summary)

    def to_dict(self) -> dict[str, Any]:
        return error_body(self.code, self.message, problems=self.problems, details=self.details)

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  - {p}" for p in self.problems)])


class AuthenticationFailed(DomainError):
    http_status = 401
    exit_code = ExitCode.NOT_ALLOWED
    code = "unauthenticated"


class PermissionDenied(DomainError):
    http_status = 403
    exit_code = ExitCode.NOT_ALLOWED
    code = "forbidden"


class DashboardError(DomainError):
    http_status = 502
    exit_code = ExitCode.DASHBOARD
    code = "dashboard_error"


class DeviceUnreachable(DomainError):
    http_status = 504
    exit_code = ExitCode.DEVICE
    code = "device_unreachable"


class SchemaOutdated(DomainError):
    http_status = 503
    exit_code = ExitCode.SCHEMA_BEHIND
    code = "schema_outdated"


class PayloadTooLarge(DomainError):
    http_status = 413
    exit_code = ExitCode.INVALID
    code = "payload_too_large"


class Busy(DomainError):
    """A bounded wait ran out — the database stayed locked (or a transaction lost a race), or
    every render slot stayed taken; the caller should retry after `retry_after` seconds."""

    http_status = 503
    exit_code = ExitCode.BUSY
    code = "busy"

    def __init__(self, message: str, *, retry_after: int = 1, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after

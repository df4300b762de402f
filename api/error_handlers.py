"""The API's error handlers: every error, whatever raised it, as the one JSON error object."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.db_errors import translate
from core.errors import (
    AuthenticationFailed,
    Busy,
    DomainError,
    Problem,
    ValidationFailed,
    error_body,
)

log = logging.getLogger("netkeep.api")


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers: dict[str, str] = {}
    if isinstance(exc, AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, Busy):
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers or None)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Lock waits past their bound → 503, broken keys → 409/422; anything else stays a 500."""
    assert isinstance(exc, DBAPIError | PoolTimeout)
    domain = translate(exc)
    if domain is None:
        raise exc
    log.warning("%s %s: %s (%s)", request.method, request.url.path, domain.message, exc)
    return await _domain_error(request, domain)


def _printable(text: str, limit: int = 200) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")[:limit]


async def _request_invalid(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's request validation, answered with the same JSON error as ValidationFailed."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        Problem(
            message=_printable(str(error.get("msg", "invalid"))),
            location=_printable(".".join(str(part) for part in error.get("loc", ()))),
        )
        for error in exc.errors()[:50]
    ]
    failed = ValidationFailed(problems, "the request is invalid; nothing was changed")
    return await _domain_error(request, failed)


async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
    """A number or date too large for the database or the calendar (a bound a schema missed)."""
    log.warning("%s %s: out of range: %s", request.method, request.url.path, exc)
    failed = ValidationFailed(
        [Problem("a number or date in the request is out of range", location="request")]
    )
    return await _domain_error(request, failed)


HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (no such route, wrong method, an unreadable body) in our JSON."""
    assert isinstance(exc, StarletteHTTPException)
    body = error_body(HTTP_CODES.get(exc.status_code, "http_error"), str(exc.detail))
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: the JSON error with the request id to quote, never a trace (logged by uvicorn)."""
    request_id = getattr(request.state, "request_id", None)
    body = error_body(
        "internal_error",
        "an unexpected error; nothing is known to have changed. Quote the request id",
        details={"request_id": request_id},
    )
    return JSONResponse(body, status_code=500)


ERROR_HANDLERS = {
    DomainError: _domain_error,
    DBAPIError: _database_error,
    PoolTimeout: _database_error,
    RequestValidationError: _request_invalid,
    OverflowError: _out_of_range,
    StarletteHTTPException: _http_error,
    Exception: unexpected_error,
}


def handler_for(exc: Exception) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    for cls in type(exc).__mro__:
        handler = ERROR_HANDLERS.get(cls)
        if handler is not None:
            return handler
    return unexpected_error

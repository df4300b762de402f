"""SDK and transport errors turned into DashboardError, so callers never see SDK exceptions."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import httpx
import meraki

from core.errors import DashboardError
from dashboard.session import base_url_of

P = ParamSpec("P")
T = TypeVar("T")


def translated_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Turn meraki and transport errors into DashboardError so callers never see SDK exceptions."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except meraki.APIError as exc:
            transport = _transport_failure(exc)
            if transport is not None:  # the SDK reports a refused connection as "503 None"
                raise DashboardError(
                    f"dashboard unreachable at {_base_url_of(args)}: {transport} ({exc.operation})",
                    operation=exc.operation,
                ) from None
            raise DashboardError(
                f"dashboard refused {exc.operation}: {exc.status} {exc.reason}",
                operation=exc.operation,
                status=exc.status,
                errors=exc.message,
            ) from None
        except (httpx.HTTPError, OSError) as exc:
            raise DashboardError(
                f"dashboard unreachable at {_base_url_of(args)}: {type(exc).__name__}",
                operation=func.__name__,
            ) from None

    return wrapper


def _transport_failure(exc: meraki.APIError) -> str | None:
    """The connection error the SDK wrapped as an API error, if that is what it is."""
    body = exc.message
    if exc.reason is None and isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return None


def _base_url_of(args: tuple[object, ...]) -> str:
    """The dashboard URL an adapter method talks to (its own, or its SDK session's)."""
    adapter = args[0] if args else None
    url = getattr(adapter, "base_url", None)
    for name in ("_api", "_sdk"):
        url = url or base_url_of(getattr(adapter, name, None))
    return str(url or "the configured NETKEEP_MERAKI_BASE_URL")

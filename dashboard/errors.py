"""SDK and transport errors turned into DashboardError, so callers never see SDK exceptions."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import httpx
import meraki

from core.errors import DashboardError

P = ParamSpec("P")
T = TypeVar("T")


def translated_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Turn meraki and transport errors into DashboardError so callers never see SDK exceptions."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except meraki.APIError as exc:
            raise DashboardError(
                f"dashboard refused {exc.operation}: {exc.status} {exc.reason}",
                operation=exc.operation,
                status=exc.status,
                errors=exc.message,
            ) from None
        except (httpx.HTTPError, OSError) as exc:
            raise DashboardError(
                f"dashboard unreachable: {type(exc).__name__}", operation=func.__name__
            ) from None

    return wrapper

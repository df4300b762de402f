"""The SDK session: the only place netkeep makes a `meraki.DashboardAPI`."""

from __future__ import annotations

import weakref
from typing import Any

import meraki

CALLER = "netkeep/0.1 netkeep"
_BASE_URLS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def build_sdk(*, api_key: str, base_url: str, maximum_retries: int = 10, **options: Any) -> Any:
    """A quiet `meraki.DashboardAPI` without smart flow, retrying 429s (Retry-After) and 5xx.

    The SDK's smart-flow limiter is off unless asked for: it paces per organization too, but
    before it knows a network's organization it makes hidden GETs (the network, then the
    organization's networks and inventory), which cost calls and rate budget; netkeep's own
    pacing (`transport.RequestMeter`) already knows the organization.
    """
    kwargs: dict[str, Any] = {
        "base_url": base_url,
        "suppress_logging": True,
        "output_log": False,
        "print_console": False,
        "maximum_retries": maximum_retries,
        "wait_on_rate_limit": True,
        "nginx_429_retry_wait_time": 1,
        "action_batch_retry_wait_time": 1,
        "smart_flow_enabled": False,
        "caller": CALLER,
    }
    kwargs.update(options)
    sdk = meraki.DashboardAPI(api_key, **kwargs)
    _BASE_URLS[sdk] = base_url
    return sdk


def base_url_of(sdk: Any) -> str | None:
    """The dashboard URL an SDK client made by `build_sdk` talks to (for error messages)."""
    try:
        return _BASE_URLS.get(sdk)
    except TypeError:  # not weak-referenceable: not one of ours
        return None

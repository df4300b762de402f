"""The SDK session: the only place netkeep makes a `meraki.DashboardAPI`."""

from __future__ import annotations

import ssl
import threading
import weakref
from typing import Any

import httpx
import meraki

from dashboard.patience import Patience, configured_patience

CALLER = "netkeep/0.1 netkeep"
_BASE_URLS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_PATIENCE: weakref.WeakKeyDictionary[Any, Patience] = weakref.WeakKeyDictionary()
_TLS: list[ssl.SSLContext] = []
_TLS_LOCK = threading.Lock()


def shared_tls() -> ssl.SSLContext:
    """The TLS context every SDK client of this process verifies the dashboard with: the one
    httpx makes by default (certifi's roots, or SSL_CERT_FILE / SSL_CERT_DIR as found at the
    first call), made once. Loading the roots is most of what building an httpx client costs
    (about 30 ms; a rollout builds one client per organization before its first write), and a
    context is safe to share between clients and threads."""
    with _TLS_LOCK:
        if not _TLS:
            _TLS.append(httpx.create_ssl_context())
        return _TLS[0]


def build_sdk(
    *,
    api_key: str,
    base_url: str,
    maximum_retries: int = 10,
    patience_seconds: float | None = None,
    **options: Any,
) -> Any:
    """A quiet `meraki.DashboardAPI` without smart flow whose requests wait out 429s and 5xx.

    Every request the SDK sends goes through `dashboard.patience.Patience`: 429s (Retry-After,
    jitter) and 5xx are waited out up to `patience_seconds` per call and never reach the SDK,
    so its `maximum_retries` only counts its 4xx "busy" retries; a refused connection fails
    at once with the URL instead of the SDK's retries with 1 s sleeps.

    The SDK's smart-flow limiter is off unless asked for: it paces per organization too, but
    before it knows a network's organization it makes hidden GETs (the network, then the
    organization's networks and inventory), which cost calls and rate budget; netkeep's own
    pacing (`transport.RequestMeter`) already knows the organization.

    The client verifies TLS with the process's `shared_tls` context unless `certificate_path`
    is given (the SDK hands it to httpx as `verify`).
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
        "certificate_path": shared_tls(),  # httpx's `verify`: a context, not a path, is taken
    }
    kwargs.update(options)
    sdk = meraki.DashboardAPI(api_key, **kwargs)
    _BASE_URLS[sdk] = base_url
    session = sdk._session  # private, like transport.sdk_http_client; the contract test guards it
    deadline = configured_patience() if patience_seconds is None else patience_seconds
    patience = Patience(base_url, deadline=deadline)
    session._send_request = patience.wrap(session._send_request)
    _PATIENCE[sdk] = patience
    return sdk


def patience_of(sdk: Any) -> Patience | None:
    """The retry policy of an SDK client made by `build_sdk` (None for any other)."""
    try:
        return _PATIENCE.get(sdk)
    except TypeError:
        return None


def base_url_of(sdk: Any) -> str | None:
    """The dashboard URL an SDK client made by `build_sdk` talks to (for error messages)."""
    try:
        return _BASE_URLS.get(sdk)
    except TypeError:  # not weak-referenceable: not one of ours
        return None

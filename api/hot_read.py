"""Request ids for every request, and the hot device read dispatched past FastAPI."""

from __future__ import annotations

import logging
import os
import random
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.armour import API_JSON_HEADERS, SecurityHeaders, armour
from api.error_handlers import handler_for, unexpected_error
from core.settings import Settings

log = logging.getLogger("netkeep.api")


class RequestIdMiddleware:
    """Gives every request an id (or keeps the caller's X-Request-ID) and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


HOT_READ = re.compile(r"^/api/v1/devices/([^/]+)$")
HotEndpoint = Callable[[Request, str, str | None], Awaitable[bytes]]
"""The hot read: (request, path parameter, bearer token or None) → the 200 JSON body."""
HotPost = Callable[[Request], Awaitable[Response]]
HotRoute = Callable[[str, bytes], tuple[HotEndpoint, str, dict[str, str]] | None]
"""Another hot read: (path, query string) → its endpoint, the parameter passed to it and the
request's path parameters; None for a request it leaves to FastAPI (which also documents it)."""


class HotReadDispatcher:
    """Sends `GET /api/v1/devices/{serial}` straight to its endpoint, everything else to FastAPI.

    The device read is the API's hottest path; it skips FastAPI's and Starlette's middleware and
    routing and the armour's layers (one plain ASGI call instead of ten nested ones) but shares
    the app's state (database, token cache), auth, error mapping (`ERROR_HANDLERS`) and request
    ids, and answers with the armour's headers (`api.armour.API_JSON_HEADERS`). A request the
    armour could refuse or alter — a Host not yet seen allowed, a body (Content-Length or
    Transfer-Encoding) — takes the armoured path instead. FastAPI still documents the route.
    `hot_posts` skips FastAPI the same way for POSTs to exact paths (the Meraki webhook
    receiver, whose ingest rate is its point: `bench/webhook_ingest.py`), inside the armour.
    `hot_gets` adds other hot reads the same way (the RMA reads: `rma.read_path.hot_route`).
    """

    def __init__(
        self,
        api: FastAPI,
        hot: HotEndpoint,
        settings: Settings,
        hot_posts: dict[str, HotPost] | None = None,
        hot_gets: tuple[HotRoute, ...] = (),
    ) -> None:
        self.api = api
        self.hot = hot
        self.hot_gets = hot_gets
        self.hot_posts = dict(hot_posts or {})
        self.entry, self.hosts = armour(self.dispatch, settings)

    @property
    def state(self) -> Any:
        return self.api.state

    def _hot_for(self, scope: Scope) -> tuple[HotEndpoint, str, dict[str, str]] | None:
        path = scope["path"]
        match = HOT_READ.match(path)
        if match is not None:
            return self.hot, match.group(1), {"serial": match.group(1)}
        for route in self.hot_gets:
            found = route(path, scope["query_string"])
            if found is not None:
                return found
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            hot = self._hot_for(scope)
            if hot is not None:
                host = token = request_id = None
                plain = True
                for name, value in scope["headers"]:
                    if name == b"host":
                        host = value if host is None else host
                    elif name == b"authorization":
                        token = value if token is None else token
                    elif name == b"x-request-id":
                        request_id = value if request_id is None else request_id
                    elif name in BODY_HEADERS:
                        plain = False
                if plain and host in self.hosts.seen_allowed:
                    await self.serve_hot(scope, receive, send, hot, token, request_id)
                    return
        await self.entry(scope, receive, send)

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Inside the armour: the hot read (its Host now checked), else FastAPI."""
        if scope["type"] == "http" and scope["method"] == "GET":
            hot = self._hot_for(scope)
            if hot is not None:
                headers = scope["headers"]
                token = next((v for k, v in headers if k == b"authorization"), None)
                request_id = next((v for k, v in headers if k == b"x-request-id"), None)
                await self.serve_hot(scope, receive, send, hot, token, request_id)
                return
        elif scope["type"] == "http" and scope["method"] == "POST":
            post = self.hot_posts.get(scope["path"])
            if post is not None:
                await self.serve_post(scope, receive, send, post)
                return
        await self.api(scope, receive, send)

    async def serve_post(self, scope: Scope, receive: Receive, send: Send, post: HotPost) -> None:
        """A hot POST (inside the armour, which adds its headers) with the app's error mapping."""
        request_id = _request_id(scope)
        scope["app"] = self.api
        scope.setdefault("state", {})["request_id"] = request_id
        scope["path_params"] = {}
        request = Request(scope, receive)
        unexpected: Exception | None = None
        try:
            response = await post(request)
        except Exception as exc:
            try:
                response = await handler_for(exc)(request, exc)
            except Exception:  # a handler that declines (an untranslated database error)
                response = await unexpected_error(request, exc)
            unexpected = exc if response.status_code == 500 else None
        response.raw_headers.append((b"x-request-id", request_id.encode()))
        await response(scope, receive, send)
        if unexpected is not None:
            raise unexpected  # logged by the server, as Starlette's ServerErrorMiddleware does

    async def serve_hot(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        hot: tuple[HotEndpoint, str, dict[str, str]],
        authorization: bytes | None,
        given_id: bytes | None,
    ) -> None:
        endpoint, param, path_params = hot
        request_id = _given_or_new_id(given_id)
        scope["app"] = self.api
        scope.setdefault("state", {})["request_id"] = request_id
        scope["path_params"] = path_params
        request = Request(scope, receive)
        try:
            body = await endpoint(request, param, _bearer(authorization))
        except Exception as exc:
            await self.serve_error(scope, receive, send, request, exc, request_id)
            return
        headers = [
            (b"content-length", str(len(body)).encode()),
            *API_JSON_HEADERS,
            (b"x-request-id", request_id.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def serve_error(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
        exc: Exception,
        request_id: str,
    ) -> None:
        """The hot read's failure as the app's JSON error, in the armour's headers."""
        try:
            response = await handler_for(exc)(request, exc)
        except Exception:  # a handler that declines (an untranslated database error)
            response = await unexpected_error(request, exc)
        response.raw_headers.append((b"x-request-id", request_id.encode()))
        await SecurityHeaders(response)(scope, receive, send)
        if response.status_code == 500:
            raise exc  # logged by the server, as Starlette's ServerErrorMiddleware does


BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


def _given_or_new_id(given: bytes | None) -> str:
    found = given.decode("latin-1")[:64] if given is not None else ""
    return found or f"{_ids.getrandbits(128):032x}"


_ids = random.Random(secrets.randbits(128))
"""Request ids: unique, not secret (they are echoed and logged), so no system call per request."""
os.register_at_fork(after_in_child=lambda: _ids.seed(secrets.randbits(128)))


def _bearer(authorization: bytes | None) -> str | None:
    """The token of an `Authorization: Bearer` header value (as `api.deps.bearer_token`)."""
    if authorization is None:
        return None
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _request_id(scope: Scope) -> str:
    return _given_or_new_id(next((v for k, v in scope["headers"] if k == b"x-request-id"), None))

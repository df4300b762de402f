"""The outbound webhook adapter (httpx): one POST per notice, a short timeout."""

from __future__ import annotations

import httpx

from core.errors import DomainError


class WebhookUnreachable(DomainError):
    http_status = 502
    code = "webhook_unreachable"


class HttpNoticePoster:
    def __init__(self, *, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            answer = httpx.post(url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise WebhookUnreachable(f"{url}: {type(exc).__name__}") from None
        return answer.status_code

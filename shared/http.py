"""Typed HTTP client for calls between services.

Timeouts always; retries with backoff for calls that are safe to repeat (GET/PUT/DELETE, or any
call carrying an `Idempotency-Key`); the caller's request id and a service token on every call.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import httpx

from shared.errors import ServiceUnavailable
from shared.logging import get_logger, request_id_var

log = get_logger("fangpin.http")

_IDEMPOTENT_METHODS = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
_RETRY_STATUSES = {502, 503, 504}


class PeerError(Exception):
    """A peer answered with an error; `problem` is its problem+json body when it sent one."""

    def __init__(self, service: str, status_code: int, problem: dict[str, Any] | None) -> None:
        super().__init__(f"{service} answered {status_code}: {(problem or {}).get('code')}")
        self.service = service
        self.status_code = status_code
        self.problem = problem or {}

    @property
    def code(self) -> str | None:
        return self.problem.get("code")


class ServiceClient:
    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        token_provider: Callable[[], str],
        timeout: float = 10.0,
        retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.service = service
        self._token = token_provider
        self._retries = retries
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
        retries: int | None = None,
    ) -> httpx.Response:
        """Send one request; transport failures raise `ServiceUnavailable`, HTTP errors are returned."""
        method = method.upper()
        sent_headers = {"Authorization": f"Bearer {self._token()}", **(headers or {})}
        if (rid := request_id_var.get()) is not None:
            sent_headers.setdefault("X-Request-ID", rid)
        if idempotency_key:
            sent_headers["Idempotency-Key"] = idempotency_key
        may_retry = method in _IDEMPOTENT_METHODS or idempotency_key is not None
        attempts = 1 + ((self._retries if retries is None else retries) if may_retry else 0)
        last_exc: Exception | None = None
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(min(0.2 * 2**attempt, 2.0) * (0.5 + random.random()))
            try:
                response = await self._client.request(method, path, json=json, params=params, headers=sent_headers)
            except httpx.TransportError as exc:
                last_exc = exc
                log.warning("http.peer.unreachable", peer=self.service, path=path, attempt=attempt + 1)
                continue
            if response.status_code in _RETRY_STATUSES and attempt + 1 < attempts:
                continue
            return response
        raise ServiceUnavailable(f"{self.service} is unreachable", code=f"{self.service}_unavailable") from last_exc

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Like `request`, but returns the JSON body and raises `PeerError` for 4xx/5xx."""
        response = await self.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = None
            raise PeerError(self.service, response.status_code, problem)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

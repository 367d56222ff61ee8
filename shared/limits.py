"""Input limits enforced before anything reads a request: token first, then body size.

`RequestGuardMiddleware` runs in front of routing for every service. For the route a request
will reach it

1. verifies the bearer token when the route depends on `authenticate` (401 before one byte of
   the body is read; the principal is handed to `authenticate` through `request.state`),
2. answers 413 `payload_too_large` when `Content-Length` is above the route's limit, and
3. counts the body as it streams in (chunked bodies too) and answers 413 as soon as it passes
   the limit, without buffering anything itself.

A route's limit is `body_max_bytes` (small: JSON) unless the route declares a larger one where it
is defined, by naming the setting that holds it:

    @router.post("", openapi_extra={**body_limit("import_max_bytes"), "requestBody": ...})

Headers are bounded by the HTTP protocol class `fangpin serve` gives uvicorn
(`LimitedHttpToolsProtocol`): 431 once the request line and headers pass `header_max_bytes`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import IO, Any

from fastapi.dependencies.models import Dependant
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import Problem, ServiceError, instance_of
from shared.i18n import localize, preferred_language
from shared.logging import get_logger, request_id_var

log = get_logger("fangpin.limits")

PROBLEM_JSON = "application/problem+json"
BODY_LIMIT_KEY = "x-fangpin-body-limit"
# Room for multipart framing (boundaries, part headers) above a file limit.
MULTIPART_SLACK = 64 * 1024


def body_limit(setting: str) -> dict[str, Any]:
    """`openapi_extra` entry: this route's body may be as large as the setting `setting` (bytes)."""
    return {BODY_LIMIT_KEY: setting}


def problem_body(problem: Problem) -> bytes:
    return json.dumps(problem.model_dump(mode="json", exclude_none=True), ensure_ascii=False).encode()


async def send_problem(send: Send, problem: Problem, headers: dict[str, str] | None = None) -> None:
    body = problem_body(localize(problem))  # Chinese when the request's Accept-Language prefers zh
    raw = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def too_large(limit: int, path: str | None) -> Problem:
    return Problem(
        title="Payload too large",
        status=413,
        code="payload_too_large",
        detail=f"the request body may have at most {limit} bytes",
        instance=path,
        request_id=request_id_var.get(),
    )


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from _dependants(child)


class _Plan:
    __slots__ = ("authenticated", "limit", "methods", "regex", "route")

    def __init__(
        self, limit: int, authenticated: bool, regex: Any = None, methods: Any = None, route: Any = None
    ) -> None:
        self.limit = limit
        self.authenticated = authenticated
        self.regex = regex
        self.methods = methods
        self.route = route  # what scope["route"] would be: metrics and logs name the route of a 401/413


def route_contexts(application: Any) -> Iterator[Any]:
    """Every route of the app, included routers expanded (FastAPI resolves includes lazily)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: include_router copies routes into app.router.routes
        yield from application.router.routes
        return
    yield from iter_route_contexts(application.router.routes)


def is_authenticated(route: Any) -> bool:
    """Whether the route's dependency tree verifies a bearer token."""
    from shared.auth import authenticate

    dependant = getattr(route, "dependant", None)
    return isinstance(dependant, Dependant) and any(d.call is authenticate for d in _dependants(dependant))


class RequestGuardMiddleware:
    """Authentication and the body limit of the matched route, before the route reads the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._plans: list[_Plan] | None = None

    def _compile(self, application: Any) -> list[_Plan]:

        settings = application.state.settings
        default = int(settings.body_max_bytes)
        plans = []
        for route in route_contexts(application):
            regex = getattr(route, "path_regex", None)
            if regex is None:
                continue
            extra = getattr(route, "openapi_extra", None) or {}
            setting = extra.get(BODY_LIMIT_KEY)
            limit = int(getattr(settings, setting)) + MULTIPART_SLACK if setting else default
            plans.append(_Plan(limit, is_authenticated(route), regex, getattr(route, "methods", None), route))
        return plans

    def _plan(self, application: Any, scope: Scope) -> _Plan:
        if self._plans is None:
            self._plans = self._compile(application)
        try:
            from fastapi.routing import get_route_path

            path = get_route_path(scope)
        except ImportError:
            path = scope.get("path", "")
        method = scope.get("method", "GET")
        for plan in self._plans:
            if plan.regex.match(path) and (
                plan.methods is None or method in plan.methods or (method == "HEAD" and "GET" in plan.methods)
            ):
                return plan
        return _Plan(int(application.state.settings.body_max_bytes), False)  # 404/405 ahead: no body read

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "app" not in scope:
            await self.app(scope, receive, send)
            return
        application = scope["app"]
        plan = self._plan(application, scope)
        path = instance_of(scope)
        if plan.route is not None:
            scope.setdefault("route", plan.route)
        if plan.authenticated:
            from shared.auth import verify_header

            headers = dict(scope.get("headers") or [])
            try:
                principal = await verify_header(
                    application.state.verifier, headers.get(b"authorization", b"").decode("latin-1")
                )
            except ServiceError as exc:
                await send_problem(
                    send,
                    exc.problem(instance=path, request_id=request_id_var.get()),
                    {**exc.headers, "Connection": "close"} if _has_body(scope) else exc.headers,
                )
                return
            scope.setdefault("state", {})["principal"] = principal
        limit = plan.limit
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await send_problem(send, too_large(limit, path), {"Connection": "close"})
            return

        state = {"received": 0, "started": False, "rejected": False}

        async def limited_receive() -> Message:
            if state["rejected"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["rejected"] = True
                    if not state["started"]:
                        state["started"] = True
                        await send_problem(send, too_large(limit, path), {"Connection": "close"})
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["rejected"]:
                return  # we answered 413; whatever the route makes of the cut body is dropped
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["rejected"]:
                raise
            log.info("http.body_limit_exceeded", path=path, limit=limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or []:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers") or []:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


# ---------------------------------------------------------------- headers (uvicorn protocol)


#: How much of a refused head is searched for Accept-Language (browsers send it among the first headers).
_LANGUAGE_SCAN = 16 * 1024
_ACCEPT_LANGUAGE = re.compile(rb"\r\naccept-language[ \t]*:[ \t]*([^\r\n]{0,200})", re.IGNORECASE)


def header_limited_protocol(max_bytes: int, default_language: str = "en") -> type[Any]:
    """uvicorn's httptools protocol with a bound on the request line and headers (431 above it).

    httptools buffers a header until it is complete, so the bound is checked on the raw bytes that
    arrive while a request's headers are incomplete: memory stays within the bound plus one read.
    The 431 is in Chinese when the request's `Accept-Language` (if it came within the first
    `_LANGUAGE_SCAN` bytes) prefers it, else in `default_language` (FANGPIN_DEFAULT_LANGUAGE).
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    problem = Problem(
        title="Request header fields too large",
        status=431,
        code="header_too_large",
        detail=f"the request line and headers may have at most {max_bytes} bytes",
    )

    def response_in(lang: str) -> bytes:
        body = problem_body(localize(problem, lang))
        return (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/problem+json\r\n"
            b"content-language: " + lang.encode() + b"\r\n"
            b"connection: close\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )

    responses = {lang: response_in(lang) for lang in ("en", "zh")}

    def language_of(head: bytes) -> str:
        found = _ACCEPT_LANGUAGE.search(head)
        if found is None:
            return default_language
        return preferred_language(found.group(1).decode("latin-1")[:200], default_language)

    class LimitedHttpToolsProtocol(HttpToolsProtocol):
        header_max_bytes = max_bytes

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._in_head = True
            self._head_bytes = 0
            self._head_start = b""  # the first bytes of the head, where Accept-Language is looked for
            self._refused = False
            super().connection_made(transport)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return  # discard what the client is still sending until we close
            counting = self._in_head
            if counting:
                self._head_bytes += len(data)
                if len(self._head_start) < _LANGUAGE_SCAN:
                    self._head_start += data[: _LANGUAGE_SCAN - len(self._head_start)]
            super().data_received(data)
            if counting and self._in_head and self._head_bytes > self.header_max_bytes:
                self._refuse()

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._head_bytes = 0
            self._head_start = b""
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._in_head = True
            self._head_bytes = 0
            self._head_start = b""

        def _refuse(self) -> None:
            self._refused = True
            log.warning("http.header_too_large", limit=self.header_max_bytes, client=str(self.client))
            if not self.transport.is_closing():
                self.transport.write(responses.get(language_of(self._head_start), responses["en"]))
                # Give the client a moment to read the answer, reading (and dropping) what it
                # still sends, then close.
                self.loop.call_later(1.0, self.transport.close)

    return LimitedHttpToolsProtocol


# ---------------------------------------------------------------- uploads

UPLOAD_CHUNK = 256 * 1024


class Upload:
    """An uploaded file, spooled to an anonymous temporary file (never held whole in memory).

    `file` is a binary file positioned at the start; `size` and `sha256` were computed while the
    body streamed in. The file has no name on disk (`tempfile.TemporaryFile`: unlinked at once), so
    it is gone when it is closed or when the process dies, whatever the job was doing. Whoever
    holds the upload closes it (`close()`, or `with upload:`); a background job may take it over.
    """

    __slots__ = ("content_type", "fields", "file", "filename", "sha256", "size")

    def __init__(
        self,
        file: IO[bytes],
        *,
        size: int,
        sha256: str,
        filename: str | None,
        content_type: str | None,
        fields: dict[str, str],
    ) -> None:
        self.file = file
        self.size = size
        self.sha256 = sha256
        self.filename = filename
        self.content_type = content_type
        self.fields = fields

    def head(self, n: int) -> bytes:
        """The first `n` bytes (the file is left at the start)."""
        self.file.seek(0)
        data = self.file.read(n)
        self.file.seek(0)
        return data

    def chunks(self, size: int = UPLOAD_CHUNK) -> Iterator[bytes]:
        """The file from the start, `size` bytes at a time."""
        self.file.seek(0)
        while chunk := self.file.read(size):
            yield chunk
        self.file.seek(0)

    def read_all(self) -> bytes:
        """The whole file as bytes: only for callers whose limit is small."""
        self.file.seek(0)
        data = self.file.read()
        self.file.seek(0)
        return data

    @property
    def closed(self) -> bool:
        return bool(self.file.closed)

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Upload:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def spool_upload(request: Any, max_bytes: int, *, max_fields: int = 10) -> Upload:
    """An uploaded file: the `file` part of a multipart form, or the raw body, as an `Upload`.

    The body streams (the guard bounds it at the route's limit first): a raw body is written to
    an anonymous temporary file chunk by chunk, hashed on the way; a multipart file part is
    spooled to disk by the form parser and taken over (hashed in chunks). Memory stays at one
    chunk whatever the size; above `max_bytes` it is 413 `payload_too_large`.
    """
    import hashlib
    import io
    import tempfile

    from starlette.datastructures import UploadFile

    from shared.errors import FieldError, PayloadTooLarge, Unprocessable

    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=max_fields)
        except Exception as exc:  # malformed multipart, or a body the guard cut off
            raise Unprocessable(
                "the multipart body cannot be read",
                code="invalid_upload",
                errors=[FieldError(field="file", message="malformed multipart body")],
            ) from exc
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise Unprocessable(
                    "send the file in the form field `file`",
                    code="invalid_upload",
                    errors=[FieldError(field="file", message="required")],
                )
            if upload.size is not None and upload.size > max_bytes:
                raise PayloadTooLarge(f"the file is larger than {max_bytes} bytes")
            # Take the part's spool file over (the form's close() then closes a stand-in).
            spooled = upload.file
            upload.file = io.BytesIO()
            digest, size = hashlib.sha256(), 0
            try:
                spooled.seek(0)
                while chunk := spooled.read(UPLOAD_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLarge(f"the file is larger than {max_bytes} bytes")
                    digest.update(chunk)
                spooled.seek(0)
            except BaseException:
                spooled.close()
                raise
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            return Upload(
                spooled,
                size=size,
                sha256=digest.hexdigest(),
                filename=upload.filename,
                content_type=upload.content_type,
                fields=fields,
            )
        finally:
            await form.close()
    size = 0
    digest = hashlib.sha256()
    spool = tempfile.TemporaryFile(prefix="fangpin-upload-")  # noqa: SIM115 (the Upload owns it)
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"the file is larger than {max_bytes} bytes")
            spool.write(chunk)
            digest.update(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return Upload(
        spool, size=size, sha256=digest.hexdigest(), filename=None, content_type=content_type or None, fields={}
    )


async def read_upload(
    request: Any, max_bytes: int, *, max_fields: int = 10
) -> tuple[bytes, str | None, str | None, dict[str, str]]:
    """`spool_upload`, read back as bytes: only for routes whose limit is small enough to hold.

    Returns (bytes, filename, content type, the form's text fields).
    """
    with await spool_upload(request, max_bytes, max_fields=max_fields) as upload:
        return upload.read_all(), upload.filename, upload.content_type, upload.fields

"""structlog JSON logging; the request id is bound per request through contextvars."""

from __future__ import annotations

import logging
import sys
import traceback
from contextvars import ContextVar
from typing import Any

import structlog

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Keys that must never reach a log line even if someone binds them by mistake (PIPL).
_REDACT = {"national_id", "bank_account", "id_number", "phone", "authorization", "token", "password"}


def _redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if key.lower() in _REDACT:
            event[key] = "[redacted]"
    return event


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    def add_service(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("service", service)
        return event

    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_service,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer: Any = structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*processors, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )
    # uvicorn and friends log through stdlib logging: route them through the same JSON renderer.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[*processors, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # access lines are replaced by our own request log with ids and timings
    logging.getLogger("uvicorn.access").handlers = []
    logging.getLogger("uvicorn.access").propagate = False


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


def failure_fields(exc: BaseException, *, frames: int = 8) -> dict[str, str]:
    """What a log may say about an exception: its class and its last stack frames, never its message.

    An exception's text can quote the input that caused it (a national ID in a constraint error, a
    name in a validation message), so `log.exception` and `exc_info` are not used (PIPL).
    """
    return {
        "error_type": type(exc).__name__,
        "stack": "".join(traceback.format_tb(exc.__traceback__)[-frames:]),
    }


def log_failure(log: Any, event: str, exc: BaseException, *, level: str = "error", **fields: Any) -> None:
    """Log `event` for a caught exception: the ids in `fields`, the exception's class and frames only."""
    getattr(log, level)(event, **fields, **failure_fields(exc))

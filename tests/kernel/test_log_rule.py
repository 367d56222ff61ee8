"""The kernel's log rule: exception messages stay out of logs, because they may carry personal data.

An exception's text can quote the input that caused it (a national ID in a constraint error, a
name in a validation message, a row in a driver error). So no code under `services/` or `shared/`
may log one: no `log.exception(...)` (it renders the traceback with the message), no
`exc_info=...`, and no log call that passes a caught exception itself, `str(exc)`/`repr(exc)`,
an f-string or `%` argument built from it, or its message attributes (`exc.args`, `.detail`…).
What may be logged: the exception's class (`type(exc).__name__`) and stable fields (`exc.code`,
`exc.status_code`), plus the identifiers the call site already has.

The checker is an AST walk; its own cases below pin what it finds and what it lets through.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("services", "shared")

LEVELS = frozenset({"debug", "info", "warning", "warn", "error", "critical", "fatal", "exception", "log", "msg"})
# Attributes of an exception that are (or hold) its message.
MESSAGE_ATTRIBUTES = frozenset(
    {"args", "message", "msg", "detail", "reason", "strerror", "errors", "orig", "text", "__cause__", "__context__"}
)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _receiver_name(node: ast.expr) -> str:
    """The last identifier of a call's receiver: `log`, `self._logger`, `structlog.get_logger()`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _receiver_name(node.func)
    return ""


def _is_logger(node: ast.expr) -> bool:
    name = _receiver_name(node).lower()
    return name in {"get_logger", "getlogger", "logging", "structlog"} or (
        "log" in name and not name.endswith(("catalog", "dialog", "blog"))
    )


def _exposes(expr: ast.AST, names: frozenset[str]) -> bool:
    """Does `expr` carry the message of one of the caught exceptions `names`?"""
    if isinstance(expr, ast.Name):
        return expr.id in names
    if isinstance(expr, ast.Call):
        func = expr.func
        # type(exc) / type(exc).__name__: the class, never the message.
        if isinstance(func, ast.Name) and func.id == "type":
            return False
        return (
            any(_exposes(a, names) for a in expr.args)
            or any(_exposes(k.value, names) for k in expr.keywords)
            or (_exposes(func, names))
        )
    if isinstance(expr, ast.Attribute):
        if isinstance(expr.value, ast.Name) and expr.value.id in names:
            return expr.attr in MESSAGE_ATTRIBUTES
        return _exposes(expr.value, names)
    return any(_exposes(child, names) for child in ast.iter_child_nodes(expr))


class _Checker(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.caught: list[str] = []  # names bound by the enclosing `except ... as name` clauses
        self.findings: list[Finding] = []

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.caught.append(node.name)
        if node.type is not None:
            self.visit(node.type)
        for statement in node.body:
            self.visit(statement)
        if node.name:
            self.caught.pop()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in LEVELS and _is_logger(func.value):
            self._check_log_call(node, func.attr)
        self.generic_visit(node)

    def _check_log_call(self, node: ast.Call, level: str) -> None:
        def found(what: str) -> None:
            self.findings.append(Finding(self.path, node.lineno, what))

        if level == "exception":
            found("log.exception() logs the traceback and the exception's message")
        for keyword in node.keywords:
            if keyword.arg == "exc_info" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value in (False, None)
            ):
                found("exc_info= logs the traceback and the exception's message")
        names = frozenset(self.caught)
        if not names:
            return
        for arg in node.args:
            if _exposes(arg, names):
                found(f"logs the caught exception's message ({ast.unparse(arg)})")
        for keyword in node.keywords:
            if keyword.arg != "exc_info" and _exposes(keyword.value, names):
                found(f"logs the caught exception's message ({keyword.arg}={ast.unparse(keyword.value)})")


def check_source(source: str, path: str = "<snippet>") -> list[Finding]:
    checker = _Checker(path)
    checker.visit(ast.parse(source, filename=path))
    return checker.findings


def check_tree() -> list[Finding]:
    findings: list[Finding] = []
    for top in SCANNED:
        for file in sorted((ROOT / top).rglob("*.py")):
            findings += check_source(file.read_text(encoding="utf-8"), str(file.relative_to(ROOT)))
    return findings


def test_no_exception_message_reaches_a_log() -> None:
    findings = check_tree()
    assert not findings, "exception messages may carry personal data; log the class and ids:\n" + "\n".join(
        map(str, findings)
    )


BAD = {
    "log.exception": 'try:\n    f()\nexcept Exception:\n    log.exception("x.failed")',
    "logger.exception outside a handler": 'logger.exception("x.failed")',
    "self._log.exception": 'class A:\n    def m(self):\n        self._log.exception("x")',
    "structlog.get_logger().exception": 'structlog.get_logger().exception("x")',
    "exc_info=True": 'try:\n    f()\nexcept Exception:\n    log.error("x.failed", exc_info=True)',
    "exc_info=exc": 'try:\n    f()\nexcept Exception as exc:\n    log.warning("x.failed", exc_info=exc)',
    "str(exc)": 'try:\n    f()\nexcept ValueError as exc:\n    log.warning("x.failed", error=str(exc))',
    "repr(err)": 'try:\n    f()\nexcept ValueError as err:\n    logger.info("x", reason=repr(err))',
    "the exception itself": 'try:\n    f()\nexcept Exception as exc:\n    log.error("x.failed", error=exc)',
    "f-string": 'try:\n    f()\nexcept Exception as e:\n    log.error(f"failed: {e}")',
    "%-argument": 'try:\n    f()\nexcept Exception as e:\n    logging.getLogger(__name__).error("failed: %s", e)',
    "exc.args": 'try:\n    f()\nexcept Exception as exc:\n    log.error("x", args=exc.args)',
    "exc.detail in a nested handler": (
        "try:\n    f()\nexcept A as outer:\n    try:\n        g()\n    except B:\n"
        '        log.info("x", detail=outer.detail)'
    ),
    "the cause": 'try:\n    f()\nexcept Exception as exc:\n    log.error("x", cause=str(exc.__cause__))',
    "str(exc) in a list": 'try:\n    f()\nexcept Exception as exc:\n    log.error("x", errors=[str(exc)])',
    "logger.log(level, ...)": 'try:\n    f()\nexcept Exception as exc:\n    logger.log(40, "x %s", str(exc))',
}

GOOD = {
    "the class name": 'try:\n    f()\nexcept Exception as exc:\n    log.error("x.failed", error=type(exc).__name__)',
    "a stable code": 'try:\n    f()\nexcept ServiceError as exc:\n    log.info("x.refused", code=exc.code)',
    "ids only": 'try:\n    f()\nexcept Exception:\n    log.error("x.failed", job_id=str(job_id))',
    "exc_info=False": 'log.error("x", exc_info=False)',
    "other names in a handler": (
        'try:\n    f()\nexcept Exception as exc:\n    log.error("x", household_id=str(household_id), excluded=excluded)'
    ),
    "a task's exception() is not a log": "task.exception()",
    "an audit append is not a log": "try:\n    f()\nexcept Exception as exc:\n    audit.append(str(exc))",
    "raising with the message is fine": (
        "try:\n    f()\nexcept ValueError as exc:\n    raise ServiceError(str(exc)) from exc"
    ),
}


@pytest.mark.parametrize("source", BAD.values(), ids=BAD.keys())
def test_the_checker_finds(source: str) -> None:
    assert check_source(textwrap.dedent(source)), source


@pytest.mark.parametrize("source", GOOD.values(), ids=GOOD.keys())
def test_the_checker_lets_through(source: str) -> None:
    assert check_source(textwrap.dedent(source)) == [], source


def test_the_checker_reads_the_whole_tree() -> None:
    """The walk sees every module of both trees (a wrong root would find nothing and pass)."""
    files = [f for top in SCANNED for f in (ROOT / top).rglob("*.py")]
    assert len(files) > 100
    assert any(f.name == "logging.py" and f.parent.name == "shared" for f in files)

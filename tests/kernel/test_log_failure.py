"""log_failure: a caught exception is logged as its class and frames, never its message."""

from __future__ import annotations

from typing import Any

from shared.logging import failure_fields, log_failure


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Any:
        def record(event: str, **fields: Any) -> None:
            self.calls.append((level, event, fields))

        return record


SECRET = "110101199003074518"


def _boom(value: str = SECRET) -> None:
    raise ValueError(f"national id {value} rejected")


def test_the_message_stays_out_and_the_frames_go_in() -> None:
    log = _Recorder()
    try:
        _boom()
    except ValueError as exc:
        log_failure(log, "x.failed", exc, job_id="j1")
    [(level, event, fields)] = log.calls
    assert (level, event) == ("error", "x.failed")
    assert fields["job_id"] == "j1"
    assert fields["error_type"] == "ValueError"
    assert "_boom" in fields["stack"]
    assert SECRET not in repr(fields)


def test_the_level_is_chosen_by_the_caller() -> None:
    log = _Recorder()
    try:
        _boom()
    except ValueError as exc:
        log_failure(log, "x.degraded", exc, level="warning")
    assert log.calls[0][0] == "warning"


def test_frames_are_bounded() -> None:
    def deep(n: int) -> None:
        if n == 0:
            raise RuntimeError(SECRET)
        deep(n - 1)

    try:
        deep(30)
    except RuntimeError as exc:
        fields = failure_fields(exc, frames=3)
    # the last 3 frames only (traceback folds the repeated recursion frames into one line)
    assert 1 <= fields["stack"].count("File ") <= 3
    assert "test_frames_are_bounded" not in fields["stack"]
    assert SECRET not in fields["stack"]

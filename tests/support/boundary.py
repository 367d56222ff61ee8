"""Assertions for the boundary rule (issue 9): a refused value is a 422 problem naming its field."""

from __future__ import annotations

import httpx

NUL = "a\u0000b"


def assert_refused(response: httpx.Response, field: str, *, status: int = 422) -> None:
    """422 problem+json `validation_failed` with a field error on `field` (exactly or below it)."""
    assert response.status_code == status, (field, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert body["code"] == "validation_failed", body
    fields = [e["field"] for e in body.get("errors") or []]
    assert any(f == field or f.startswith(f"{field}.") or f.startswith(f"{field}[") for f in fields), (field, body)
    assert "\u0000" not in response.text, "the refused value is echoed back"
    assert "\\u0000" not in response.text, "the refused value is echoed back"

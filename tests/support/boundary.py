"""Assertions for the boundary rule (issue 9): a refused value is a 422 problem naming its field."""

from __future__ import annotations

import json

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
    # the value is not quoted back (`instance` is the request path as sent, which may hold it)
    echoed = json.dumps({k: v for k, v in body.items() if k != "instance"})
    assert "\\u0000" not in echoed, "the refused value is echoed back"

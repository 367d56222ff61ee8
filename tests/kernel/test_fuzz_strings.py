"""Hostile strings in every string field and query parameter of every write and list endpoint.

Generated from each service's own OpenAPI document: for each operation, a body is built from the
request schema (examples, enums and formats where the schema gives them), then every string leaf of
it, and every string query parameter, is replaced in turn by each hostile value. The answer must be a
4xx or a success — never a 5xx — and an error must be problem+json.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.support.tokens import auth

HOSTILE = {
    "nul": "a\x00b",
    "control": "a\x07\x1bb",
    "lone_surrogate": "a\ud800b",
    "megabyte": "x" * (1 << 20),
    "bidi": "\u202eabc\u202c\u2066",
    "formula": '=HYPERLINK("http://x","y")',
    "formula_plus": "+1+1",
    "formula_at": "@SUM(A1)",
}
QUERY_MAX = 32 * 1024
PEER_DOWN = {"registry_unavailable"}
ADMIN = auth("admin", "410602", department="medical_insurance")
SAMPLE_ID = "00000000-0000-4000-8000-000000000000"


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 20:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
        seen += 1
    return schema


def _instance(doc: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """A plausible instance of `schema`: examples, enums, formats and defaults first."""
    schema = _resolve(doc, schema)
    if depth > 6:
        return None
    for key in ("example", "default", "const"):
        if key in schema and schema[key] is not None:
            return copy.deepcopy(schema[key])
    if schema.get("examples"):
        return copy.deepcopy(schema["examples"][0])
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(doc, o).get("type") != "null"] or schema[key]
            return _instance(doc, options[0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {name: _instance(doc, sub, depth + 1) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        item = _instance(doc, schema.get("items", {}), depth + 1)
        return [item] if item is not None else []
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid":
            return SAMPLE_ID
        if fmt == "date":
            return "2026-10-20"
        if fmt == "date-time":
            return "2026-10-20T08:00:00+08:00"
        pattern = schema.get("pattern", "")
        if "\\d" in pattern or "[0-9]" in pattern:
            return "410602"
        return "a" * max(1, int(schema.get("minLength", 1)))
    return None


def _string_leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _string_leaves(sub, (*path, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _string_leaves(sub, (*path, index))
    elif isinstance(value, str):
        yield path


def _replaced(body: Any, path: tuple[Any, ...], new: str) -> Any:
    out = copy.deepcopy(body)
    target = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return out


def _concrete_path(template: str, parameters: list[dict[str, Any]], doc: dict[str, Any]) -> str:
    path = template
    for param in parameters:
        if param.get("in") == "path":
            value = _instance(doc, param.get("schema", {}))
            path = path.replace("{" + param["name"] + "}", str(value if value is not None else SAMPLE_ID))
    return path


def _cases(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any] | None, dict[str, str], str]]:
    """(method, path, json body, query, label) per hostile value per string leaf."""
    for template, item in doc["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch"):
                continue
            params = [*item.get("parameters", []), *op.get("parameters", [])]
            path = _concrete_path(template, params, doc)
            content = (op.get("requestBody") or {}).get("content", {})
            body = None
            if "application/json" in content:
                body = _instance(doc, content["application/json"].get("schema", {}))
            elif content:
                continue  # uploads and feeds: their cells are fuzzed by the import and feed tests
            for name, value in HOSTILE.items():
                for param in params:
                    if param.get("in") == "query" and _resolve(doc, param.get("schema", {})).get("type") != "integer":
                        # a URL of a megabyte never reaches a route: the header limit answers 431 first
                        # (tests/e2e/test_memory_limits.py); here the longest a URL can be
                        query_value = value if len(value) < QUERY_MAX else "x" * QUERY_MAX
                        yield (
                            method,
                            path,
                            body,
                            {param["name"]: query_value},
                            f"{method} {template} ?{param['name']} {name}",
                        )
                if body is not None and method != "get":
                    for leaf in _string_leaves(body):
                        yield (
                            method,
                            path,
                            _replaced(body, leaf, value),
                            {},
                            f"{method} {template} body.{'.'.join(map(str, leaf))} {name}",
                        )


async def test_no_hostile_string_gets_a_5xx(service_client: tuple[str, httpx.AsyncClient], demo_regions: None) -> None:
    _, client = service_client
    doc = (await client.get("/openapi.json")).json()
    failures: list[str] = []
    count = 0
    for method, path, body, query, label in _cases(doc):
        headers = {**ADMIN, "Idempotency-Key": uuid.uuid4().hex, "If-Match": '"1"'}
        # JSON with \uXXXX escapes carries a lone surrogate; in a URL it is invalid UTF-8 (%ED%A0%80)
        content = None if body is None else json.dumps(body, ensure_ascii=True).encode()
        if body is not None:
            headers["Content-Type"] = "application/json"
        target = path + ("?" + urlencode(query, encoding="utf-8", errors="surrogatepass") if query else "")
        response = await client.request(method, target, content=content, headers=headers)
        count += 1
        if response.status_code == 503 and response.json().get("code") in PEER_DOWN:
            continue  # in process, the apps have no peers to call: the documented 503, not a crash
        if response.status_code >= 500:
            failures.append(f"{label}: {response.status_code} {response.text[:200]}")
        elif response.status_code >= 400 and not response.headers.get("content-type", "").startswith(
            "application/problem+json"
        ):
            failures.append(f"{label}: {response.status_code} not problem+json")
    assert count > 100, "the generator found too few cases: the document or the walk is wrong"
    assert not failures, f"{len(failures)} of {count}:\n" + "\n".join(failures[:40])

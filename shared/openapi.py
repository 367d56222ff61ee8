"""What the kernel adds to every service's OpenAPI document besides the problem responses (issue 14).

- Who may call an operation, read from the role dependency the route really uses
  (`shared.auth.require_roles`), so the document cannot drift from the code.
- An example problem+json body for every error status an operation documents (the 403 example names
  the route's real roles).
- An example for every JSON request body and 2xx response that has none of its own, composed from
  the examples written on the models and fields its schema refers to (`example_of`): a model's
  `json_schema_extra={"examples": [...]}` first, then each property's `examples`, its default, and
  last a value of the property's type and format. tests/kernel/test_openapi_complete.py validates
  every example against its schema (and a request example against the route's body model), and holds
  request bodies to examples written by hand, never made up from a type.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant

from shared.errors import Problem, ServiceError
from shared.limits import is_authenticated, route_contexts

WHO_MAY_CALL = "**Who may call it:**"

_REQUEST_ID = "5f0c2a9e8b7d4e1f9a3c6b2d1e0f4a7c"

# One example per status, valid against shared.errors.Problem (tests/kernel/test_openapi_complete.py).
PROBLEM_EXAMPLES: dict[str, dict[str, Any]] = {
    "400": {"title": "Bad request", "status": 400, "code": "bad_request", "detail": "the request cannot be read"},
    "401": {
        "title": "Authentication required",
        "status": 401,
        "code": "unauthorized",
        "detail": "a bearer token is required (Authorization: Bearer …)",
    },
    "403": {
        "title": "Not allowed",
        "status": 403,
        "code": "role_not_allowed",
        "detail": "this action needs one of the roles: county_officer",
    },
    "404": {
        "title": "Not found",
        "status": 404,
        "code": "not_found",
        "detail": "no such resource in your region",
    },
    "409": {
        "title": "Conflict",
        "status": 409,
        "code": "conflict",
        "detail": "the request conflicts with the resource's current state",
        "extra": {"state": "approved"},
    },
    "412": {
        "title": "The resource changed since you read it",
        "status": 412,
        "code": "version_conflict",
        "detail": 'If-Match "3" does not match the current version "4"; read it again',
    },
    "413": {
        "title": "Payload too large",
        "status": 413,
        "code": "payload_too_large",
        "detail": "the request body is larger than the limit of this route",
    },
    "415": {
        "title": "Unsupported media type",
        "status": 415,
        "code": "unsupported_media_type",
        "detail": "send text/csv, multipart/form-data or an XLSX file",
    },
    "422": {
        "title": "The request is not valid",
        "status": 422,
        "code": "validation_failed",
        "errors": [
            {
                "field": "members[0].national_id",
                "message": "check digit does not match (校验码错误)",
                "code": "invalid_check_digit",
            }
        ],
    },
    "428": {
        "title": "If-Match header required",
        "status": 428,
        "code": "if_match_required",
        "detail": "send the ETag you read as If-Match",
    },
    "429": {
        "title": "Too many requests",
        "status": 429,
        "code": "too_many_requests",
        "detail": "retry after the time in Retry-After",
    },
    "500": {
        "title": "Internal error",
        "status": 500,
        "code": "internal_error",
        "detail": "An unexpected error occurred. Quote the request id when reporting it.",
    },
    "503": {
        "title": "A service this request needs is unavailable",
        "status": 503,
        "code": "dependency_unavailable",
        "detail": "the registry cannot be reached right now; try again",
    },
}
for _status, _example in PROBLEM_EXAMPLES.items():
    _example.setdefault("type", "about:blank")
    _example["request_id"] = _REQUEST_ID


def problem_example(status: int, code: str, detail: str, **extra: Any) -> dict[int | str, dict[str, Any]]:
    """A `responses=` entry for a route's main error, with its real code as the example (the kernel gives
    every other problem a generic one per status): `responses={**problem_example(409, "same_event", ...)}`."""
    title = next((c.title for c in _service_errors() if c.status_code == status), "Error")
    example: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "code": code, "detail": detail}
    if extra:
        example["extra"] = extra
    example["request_id"] = _REQUEST_ID
    return {status: {"model": Problem, "content": {"application/problem+json": {"example": example}}}}


def _service_errors() -> list[type[ServiceError]]:
    found: list[type[ServiceError]] = []
    pending: list[type[ServiceError]] = [ServiceError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.__module__ != "shared.errors")  # the kernel's titles first


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependants(dependency)


def roles_of(route: Any) -> tuple[str, ...] | None:
    """The roles `require_roles` admits on this route (admin always passes), or None without a role check."""
    dependant = getattr(route, "dependant", None)
    if not isinstance(dependant, Dependant):
        return None
    for dependency in _dependants(dependant):
        call = dependency.call
        if call is None or not getattr(call, "__name__", "").startswith("require_"):
            continue
        try:
            roles = inspect.getclosurevars(call).nonlocals.get("roles")
        except TypeError:
            continue
        if roles is not None:
            return tuple(sorted({str(getattr(r, "value", r)) for r in roles}))
    return None


def _who(route: Any) -> str:
    roles = roles_of(route)
    if roles is not None:
        listed = ", ".join(f"`{r}`" for r in roles if r != "admin")
        return f"{WHO_MAY_CALL} {listed} (and `admin`)." if listed else f"{WHO_MAY_CALL} `admin`."
    if is_authenticated(route):
        return f"{WHO_MAY_CALL} any caller with a valid token."
    return f"{WHO_MAY_CALL} anyone; no token needed."


# ---------------------------------------------------------------- examples composed from the schema

_EXAMPLE_IDS = uuid.UUID("6f1e0c52-3b7a-4d0e-9c1f-8a2b4c6d8e00")

#: Values for a property that has no example of its own, by JSON-schema format (then by type).
_BY_FORMAT: dict[str, Any] = {
    "uuid": "3f6c1b2a-8d4e-4c7a-9b1f-2e5d6a7c8b90",
    "date": "2026-03-05",
    "date-time": "2026-03-05T09:30:00+08:00",
    "time": "09:30:00",
    "decimal": "12000.00",
    "email": "office@example.cn",
    "uri": "https://example.cn/",
    "duration": "P5D",
}


#: The project's vocabulary: a property of one of these names has one meaning in all three services
#: (region codes, the household number, actors), so its example is written once, here.
_BY_NAME: dict[str, str] = {
    "county_code": "410602",
    "township_code": "410602100",
    "village_code": "410602100201",
    "region": "410602100",
    "prefix": "410602",
    "household_number": "4106021002010001",
    "national_id_masked": "410602********1312",
    "head_national_id_masked": "410602********1312",
    "head_name": "张建国",
    "name": "张建国",
    "household_head": "张建国",
    "account_holder": "张建国",
    "bank_name": "中国农业银行安阳分行",
    "address": "河南省安阳市文峰区宝莲寺镇东街村3组12号",
    "created_by": "county-officer-01",
    "actor_sub": "county-officer-01",
    "raised_by_sub": "village-cadre-01",
    "resolved_by_sub": "county-officer-01",
    "filed_by": "village-cadre-01",
    "sub": "county-officer-01",
    "actor_role": "county_officer",
    "raised_by_role": "village_cadre",
    "role": "county_officer",
    "actor_region": "410602",
    "request_id": "5f0c2a9e8b7d4e1f9a3c6b2d1e0f4a7c",
    "period": "2026-03",
    "scheme_code": "reference-2026",
    "comment": "入户核实，情况属实",
    "note": "按县乡村振兴局2026年文件调整",
    "reason": "家庭成员住院，医疗支出大",
    "file_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
}


class Composed:
    """An example composed from a schema, and whether a value had to be made up from a bare type."""

    def __init__(self) -> None:
        self.made_up: list[str] = []


_MISSING = object()


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        resolved: dict[str, Any] = document.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
        return resolved
    return schema


def _own_example(schema: dict[str, Any]) -> Any:
    if "example" in schema:
        return schema["example"]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    if isinstance(examples, dict) and examples:  # OpenAPI `examples` map of a media type
        first = next(iter(examples.values()))
        if isinstance(first, dict) and "value" in first:
            return first["value"]
    return _MISSING


def example_of(
    document: dict[str, Any], schema: dict[str, Any], composed: Composed, where: str = "", depth: int = 0
) -> Any:
    """An example value for `schema`: its own, else built from its parts (see the module docstring)."""
    own = _own_example(schema)
    if own is not _MISSING:
        return own
    if depth > 12:
        composed.made_up.append(where or "(root)")
        return None
    if "$ref" in schema:
        return example_of(document, _resolve(document, schema), composed, where, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = [b for b in schema[key] if b.get("type") != "null"]
            exampled = [b for b in branches if _own_example(_resolve(document, b)) is not _MISSING]
            if exampled:
                return example_of(document, exampled[0], composed, where, depth + 1)
            if not branches or len(branches) < len(schema[key]):
                return None  # nullable and nothing written: shown as null (no cursor, no failure, no reason)
            return example_of(document, branches[0], composed, where, depth + 1)
    if schema.get("allOf"):
        return example_of(document, schema["allOf"][0], composed, where, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return _object_example(document, schema, composed, where, depth)
    if kind == "array":
        item = example_of(document, schema.get("items", {}), composed, f"{where}[]", depth + 1)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if "default" in schema:
        return schema["default"]
    return _scalar(schema, composed, where)


def _object_example(
    document: dict[str, Any], schema: dict[str, Any], composed: Composed, where: str, depth: int
) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    value: dict[str, Any] = {}
    for name, prop in properties.items():
        resolved = _resolve(document, prop)
        if name not in required and "default" in prop and _own_example(resolved) is _MISSING:
            if prop["default"] is not None:
                value[name] = prop["default"]
            continue  # an optional property shown only when it has an example or a non-null default
        value[name] = example_of(document, prop, composed, f"{where}.{name}" if where else name, depth + 1)
    return value


def _scalar(schema: dict[str, Any], composed: Composed, where: str) -> Any:
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "string":
        if fmt == "binary":
            return ""
        name = where.rsplit(".", 1)[-1].removesuffix("[]")
        if fmt == "uuid" and name:  # one id per property name: a claim's id is not its household's
            return str(uuid.uuid5(_EXAMPLE_IDS, name))
        if fmt in _BY_FORMAT:
            return _BY_FORMAT[fmt]
        if name in _BY_NAME:
            return _BY_NAME[name]
        composed.made_up.append(where or "(root)")
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = int(low) + (1 if "exclusiveMinimum" in schema else 0)
        value = max(value, 1) if schema.get("maximum", 1) >= 1 else value
        return value if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    composed.made_up.append(where or "(root)")
    return None


_JSON_MEDIA = ("application/json", "application/problem+json")


def _is_json(media: str) -> bool:
    return media in _JSON_MEDIA or media.endswith("+json")


def _has_example(content: dict[str, Any]) -> bool:
    return "example" in content or "examples" in content


def _add_example(document: dict[str, Any], content: dict[str, Any], where: str) -> Composed | None:
    if _has_example(content) or "schema" not in content:
        return None
    composed = Composed()
    content["example"] = example_of(document, content["schema"], composed, "")
    return composed


def compose_examples(document: dict[str, Any]) -> dict[str, list[str]]:
    """Give every JSON request body and 2xx response without an example one composed from its schema.

    Returns, per `METHOD path media status`, the properties whose value had to be made up from a bare
    type (the test holds request bodies to none).
    """
    made_up: dict[str, list[str]] = {}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            bodies = [("request", operation.get("requestBody") or {})]
            bodies += [(status, r) for status, r in operation["responses"].items() if status.startswith("2")]
            for status, body in bodies:
                for media, content in body.get("content", {}).items():
                    if not _is_json(media):
                        # a CSV or text body: its schema's own example (`Body(examples=[...])`), never a made-up one
                        own = _own_example(content.get("schema", {}))
                        if own is not _MISSING and not _has_example(content):
                            content["example"] = own
                        continue
                    where = f"{method.upper()} {path} {status} {media}"
                    composed = _add_example(document, content, where)
                    if composed is not None and composed.made_up:
                        made_up[where] = composed.made_up
    return made_up


def _problem_example(status: str, path: str, roles: tuple[str, ...] | None) -> dict[str, Any]:
    example = {**PROBLEM_EXAMPLES[status], "instance": path}
    if status == "403" and roles:
        listed = ", ".join(r for r in roles if r != "admin") or "admin"
        example["detail"] = f"this action needs one of the roles: {listed}"
    return example


#: The kernel's own operations (shared/app.py health_router, me_router): what they do and what they answer.
_KERNEL_OPERATIONS: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("/healthz", "get"): (
        "Liveness (存活检查): the process answers. It does not touch the database, so a load balancer or "
        "Kubernetes' livenessProbe restarts only a hung process, never one waiting for PostgreSQL.",
        {"status": "ok", "service": "{service}"},
    ),
    ("/readyz", "get"): (
        "Readiness (就绪检查): the database is reachable and its schema is at the migration head this code "
        "expects (a newer revision is accepted during a rolling upgrade). 503 `database_unavailable` or "
        "`migrations_pending` otherwise: take the instance out of the load balancer, do not restart it.",
        {"status": "ready", "service": "{service}", "migration": "0008_register_fields"},
    ),
    ("/v1/me", "get"): (
        "Who am I (当前用户): the roles, region scope (行政区划代码前缀) and department the bearer token carries, "
        "as this service read them. Use it to check a token before calling anything else.",
        {"sub": "county-officer-01", "roles": ["county_officer"], "region": "410602", "department": None},
    ),
}


_READYZ_503 = {
    "type": "about:blank",
    "title": "Migrations are not at head",
    "status": 503,
    "code": "migrations_pending",
    "detail": "database at 0007_citus_ready, code expects 0008_register_fields",
}


def _document_kernel_operations(app: FastAPI, document: dict[str, Any]) -> None:
    service = str(getattr(getattr(app.state, "settings", None), "service_name", None) or app.title)
    for (path, method), (description, example) in _KERNEL_OPERATIONS.items():
        operation = document.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        operation.setdefault("description", description)
        if path == "/readyz":  # its own 503s, not a peer's
            problem = operation.get("responses", {}).get("503", {}).setdefault("content", {})
            problem.setdefault("application/problem+json", {}).setdefault("example", _READYZ_503)
        content = operation.get("responses", {}).get("200", {}).get("content", {}).get("application/json")
        if content is not None and "example" not in content:
            content["example"] = {k: v.format(service=service) if isinstance(v, str) else v for k, v in example.items()}


def document_callers_and_examples(app: FastAPI, document: dict[str, Any]) -> None:
    """Append who may call each operation to its description; give every problem response, request body
    and 2xx response an example; error responses are problem+json only (what the kernel renders)."""
    _document_kernel_operations(app, document)
    routes = {
        (route.path, method.lower()): route
        for route in route_contexts(app)
        for method in (getattr(route, "methods", None) or ())
    }
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            route = routes.get((path, method))
            roles = roles_of(route) if route is not None else None
            description = operation.get("description", "")
            if route is not None and WHO_MAY_CALL not in description:
                line = _who(route)
                operation["description"] = f"{description}\n\n{line}" if description else line
            for status, response in operation["responses"].items():
                if status not in PROBLEM_EXAMPLES:
                    continue
                content = response.get("content", {})
                # a route with a non-JSON response class (a CSV, a page) still answers errors as problem+json
                for media in [m for m in content if m != "application/problem+json"]:
                    content.pop(media)
                problem = content.get("application/problem+json")
                if problem is not None and "example" not in problem and "examples" not in problem:
                    problem["example"] = _problem_example(status, path, roles)
    # what had to be made up from a bare type, for tests/kernel/test_openapi_complete.py
    app.state.openapi_made_up = compose_examples(document)

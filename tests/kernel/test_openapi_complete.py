"""The three OpenAPI documents are complete (issue 14, acceptance 6).

Every operation has a summary and a description that says what it does, who may call it (the
kernel appends the roles of the route's `require_roles` dependency) and names the Chinese term; every
request body and every 2xx response has an example (its own, or one on the model its schema refers
to); every error response is problem+json with an example; the examples are valid against the
models; and every status a route can raise is documented.

The last check is a static over-approximation, with known limits:
- for each operation it walks the endpoint function, the functions its dependencies call and, by
  *name*, every function or method of the service package (and of the kernel modules that raise for
  a route: concurrency, idempotency) that the walked code calls, up to a bounded depth;
- it collects every `ServiceError` subclass *constructed* there (`raise Conflict(...)`, also
  `return Conflict(...)` in an error factory) and maps it to its `status_code`;
- a `ServiceError` raised with a non-default status, an exception class passed around as a value,
  or a call through a name the walk does not resolve is missed; a name shared by two methods
  makes the walk take both (more statuses demanded, never fewer).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import textwrap
import typing
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import jsonschema
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel, TypeAdapter, ValidationError

from shared.concurrency import require_version
from shared.errors import PreconditionFailed, Problem, ServiceError
from shared.limits import is_authenticated, route_contexts
from shared.openapi import WHO_MAY_CALL, roles_of
from tests.conftest import make_settings

SERVICES = ("registry", "screening", "claims")
ROOT = Path(__file__).resolve().parents[2]
# Kernel modules a route's call graph reaches that raise for it: the role check (403), If-Match (412/428),
# idempotency (409/422), pagination (422 invalid_cursor), the body limit (413), contracts' parsers (422).
KERNEL_RAISERS = (
    "shared.auth",
    "shared.concurrency",
    "shared.idempotency",
    "shared.pagination",
    "shared.limits",
    "shared.contracts",
)
CJK = re.compile(r"[\u4e00-\u9fff]")
BINARY = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/pdf")
DEPTH = 6


@cache
def _app(name: str) -> FastAPI:
    module = importlib.import_module(f"services.{name}.app")
    config = importlib.import_module(f"services.{name}.config")
    settings_cls = next(
        value for key, value in vars(config).items() if key.endswith("Settings") and key != "ServiceSettings"
    )
    app: FastAPI = module.create_app(make_settings(settings_cls, "postgresql://unused@127.0.0.1:1/unused"))
    return app


@cache
def _document(name: str) -> dict[str, Any]:
    return _app(name).openapi()


def _operations(name: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in _document(name)["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield path, method, operation


def _is_upload(content: dict[str, Any]) -> bool:
    properties = content.get("schema", {}).get("properties", {})
    return bool(properties) and all(p.get("format") == "binary" for p in properties.values())


def _has_example(content: dict[str, Any]) -> bool:
    return "example" in content or "examples" in content


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_is_described(service: str) -> None:
    missing = []
    for path, method, operation in _operations(service):
        description = operation.get("description", "")
        own = description.split(WHO_MAY_CALL)[0].strip()
        if not operation.get("summary") or not own or WHO_MAY_CALL not in description:
            missing.append(f"{method.upper()} {path}: summary/description/who")
        elif not CJK.search(operation["summary"] + own):
            missing.append(f"{method.upper()} {path}: no Chinese term")
    assert not missing, "\n".join(missing)


def test_who_may_call_follows_the_role_dependency() -> None:
    operation = _document("claims")["paths"]["/v1/notices"]["post"]
    assert f"{WHO_MAY_CALL} `county_officer`, `service` (and `admin`)." in operation["description"]
    assert "anyone; no token needed" in _document("claims")["paths"]["/healthz"]["get"]["description"]


@pytest.mark.parametrize("service", SERVICES)
def test_role_checks_document_403_and_token_checks_401(service: str) -> None:
    """403 on every operation whose route has a role dependency (the issue named POST /v1/notices and
    POST /v1/payments/batches), 401 exactly where a token is checked (not on /healthz)."""
    paths = _document(service)["paths"]
    wrong = []
    checked = 0
    for route in route_contexts(_app(service)):
        if route.path not in paths:
            continue
        for method in route.methods:
            responses = paths[route.path][method.lower()]["responses"]
            if roles_of(route) is not None and "403" not in responses:
                wrong.append(f"{method} {route.path}: role-checked, no 403")
            if is_authenticated(route) != ("401" in responses):
                wrong.append(f"{method} {route.path}: token checked {is_authenticated(route)}, 401 documented")
            checked += 1
    assert checked > 30
    assert not wrong, "\n".join(wrong)
    if service == "claims":
        assert "403" in paths["/v1/notices"]["post"]["responses"]
        assert "403" in paths["/v1/payments/batches"]["post"]["responses"]
        assert "401" not in paths["/healthz"]["get"]["responses"]


@pytest.mark.parametrize("service", SERVICES)
def test_requests_and_successes_have_examples(service: str) -> None:
    """Every request body and 2xx response has an example (a file download excepted: its schema is binary),
    and no value of a composed example was made up from a bare type (each comes from a model, field or the
    kernel's vocabulary: shared.openapi.example_of)."""
    missing = []
    for path, method, operation in _operations(service):
        request = (operation.get("requestBody") or {}).get("content", {})
        for media, content in request.items():
            raw = [c for m, c in request.items() if m != media and _has_example(c)]
            if media == "multipart/form-data" and _is_upload(content) and raw:
                continue  # a file in a form: the same route documents the raw body with its example
            if media not in BINARY and not _has_example(content):
                missing.append(f"{method.upper()} {path} request {media}")
        successes = [s for s in operation["responses"] if s.startswith("2")]
        assert successes, f"{method.upper()} {path}: no 2xx response"
        for status in successes:
            for media, content in operation["responses"][status].get("content", {}).items():
                if media not in BINARY and not _has_example(content):
                    missing.append(f"{method.upper()} {path} {status} {media}")
    assert not missing, "\n".join(missing)
    made_up = _app(service).state.openapi_made_up
    assert not made_up, "\n".join(f"{where}: {fields}" for where, fields in made_up.items())


def test_the_composer_notices_a_made_up_value() -> None:
    """The check above can fail: a plain string with no example anywhere is reported, a nullable one is null."""
    from shared.openapi import Composed, example_of

    schema = {
        "type": "object",
        "properties": {
            "plain": {"type": "string"},
            "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "code": {"type": "string", "examples": ["x1"]},
            "county_code": {"type": "string"},
        },
        "required": ["plain", "maybe", "code", "county_code"],
    }
    composed = Composed()
    example = example_of({}, schema, composed)
    assert composed.made_up == ["plain"]
    assert example == {"plain": "x", "maybe": None, "code": "x1", "county_code": "410602"}


@pytest.mark.parametrize("service", SERVICES)
def test_errors_are_problems_with_valid_examples(service: str) -> None:
    wrong = []
    for path, method, operation in _operations(service):
        for status, response in operation["responses"].items():
            if status[:1] not in ("4", "5"):
                continue
            content = response.get("content", {})
            problem = content.get("application/problem+json")
            if set(content) != {"application/problem+json"} or problem is None or "example" not in problem:
                wrong.append(f"{method.upper()} {path} {status}: {sorted(content)}")
                continue
            if problem.get("schema") != {"$ref": "#/components/schemas/Problem"}:
                wrong.append(f"{method.upper()} {path} {status}: schema {problem.get('schema')}")
                continue
            example = Problem.model_validate(problem["example"])
            assert str(example.status) == status, (path, method, status)
    assert not wrong, "\n".join(wrong)


# ---------------------------------------------------------------- the examples are valid


def _wire_modules() -> list[ModuleType]:
    names = [f"services.{s}.api.schemas" for s in SERVICES]
    import shared.contracts as contracts

    names += [f"shared.contracts.{m.name}" for m in pkgutil.iter_modules(contracts.__path__)]
    return [importlib.import_module(n) for n in [*names, "shared.errors", "shared.pagination"]]


def _models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for module in _wire_modules():
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, BaseModel) and value.__module__ == module.__name__:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def test_model_and_field_examples_validate() -> None:
    checked = 0
    for model in _models():
        extra = model.model_config.get("json_schema_extra")
        if isinstance(extra, dict):
            listed = extra.get("examples")
            for example in listed if isinstance(listed, list) else []:
                model.model_validate(example)  # raises with the model's name on a wrong example
                checked += 1
        for name, field in model.model_fields.items():
            if model.__pydantic_generic_metadata__.get("parameters"):
                continue  # a generic model's fields are checked on its parametrisations
            annotation: Any = field.annotation
            typed: Any = Annotated[annotation, *field.metadata] if field.metadata else annotation
            adapter: TypeAdapter[Any] = TypeAdapter(typed)
            for example in field.examples or []:
                try:
                    adapter.validate_python(example)
                except Exception as exc:  # pragma: no cover - the message names the field
                    raise AssertionError(f"{model.__qualname__}.{name}: example {example!r} is invalid: {exc}") from exc
                checked += 1
    assert checked > 100


@pytest.mark.parametrize("service", SERVICES)
def test_document_examples_validate_against_their_schemas(service: str) -> None:
    """Every example in the document (requests, 2xx, problems) is valid against the JSON schema beside it
    (OpenAPI 3.1 schemas are JSON Schema 2020-12); a request example also against the route's body model."""
    document = _document(service)
    components = document["components"]["schemas"]
    bodies_of = {
        (route.path, method.lower()): route.body_field
        for route in route_contexts(_app(service))
        for method in (getattr(route, "methods", None) or ())
        if getattr(route, "body_field", None) is not None
    }
    checked = 0
    wrong = []
    for path, method, operation in _operations(service):
        bodies = [("request", operation.get("requestBody") or {}), *operation["responses"].items()]
        for status, body in bodies:
            for media, content in body.get("content", {}).items():
                if "example" not in content or "json" not in media:
                    continue
                schema = {**content.get("schema", {}), "components": {"schemas": components}}
                validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
                for error in validator.iter_errors(content["example"]):
                    wrong.append(f"{method.upper()} {path} {status} {media} at {list(error.path)}: {error.message}")
                field = bodies_of.get((path, method)) if status == "request" else None
                if field is not None:
                    try:
                        TypeAdapter(field.field_info.annotation).validate_python(content["example"])
                    except ValidationError as exc:
                        wrong.append(f"{method.upper()} {path} request: the body model refuses the example: {exc}")
                checked += 1
    assert checked > 30
    assert not wrong, "\n".join(wrong)


# ---------------------------------------------------------------- every raised status documented


# Attribute calls the walk never follows by name: container, string, session and result methods.
_NOT_FOLLOWED = frozenset(
    " ".join(
        (
            "get update replace pop append items keys values add join split format copy setdefault extend insert",
            "remove discard strip lower upper encode decode execute scalar scalars scalar_one scalar_one_or_none",
            "first one all mappings fetchall commit rollback flush begin begin_nested close send write read",
            "isoformat model_dump model_validate model_copy",
            "post put patch delete request stream",  # HTTP clients' verbs (a use case named `post` is not them)
        )
    ).split()
)


class _Walk:
    """Statuses constructed in a function and in what it calls, resolved through the objects the code names.

    A plain name resolves through the module's globals; `self.m(...)` through the enclosing class;
    `p.m(...)` through the annotation of parameter `p`; `module.f(...)` through the module; any other
    `x.m(...)` by name among the methods of the service package's classes (not container methods).
    """

    def __init__(self, service: str) -> None:
        self.prefixes = (f"services.{service}.", *KERNEL_RAISERS)
        self.methods: dict[str, list[Any]] = {}
        for info in pkgutil.walk_packages([str(ROOT / "services" / service)], prefix=f"services.{service}."):
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if inspect.isclass(value) and value.__module__ == module.__name__:
                    for name, member in vars(value).items():
                        if inspect.isfunction(member):
                            self.methods.setdefault(name, []).append((value, member))

    def _ours(self, function: Any) -> bool:
        return inspect.isfunction(function) and function.__module__.startswith(self.prefixes)

    def statuses(self, function: Any, owner: type | None, seen: set[Any], depth: int = 0) -> set[int]:
        function = inspect.unwrap(function)
        if function in seen or depth > DEPTH or not self._ours(function):
            return set()
        seen.add(function)
        module = inspect.getmodule(function)
        try:
            node = ast.parse(textwrap.dedent(inspect.getsource(function)))
        except (OSError, TypeError, SyntaxError):
            return set()
        try:
            hints = typing.get_type_hints(function)
        except Exception:
            hints = {}
        found: set[int] = set()
        for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
            targets: list[tuple[Any, type | None]] = []
            if isinstance(call.func, ast.Name):
                value = getattr(module, call.func.id, None)
                if inspect.isclass(value) and issubclass(value, ServiceError):
                    found.add(value.status_code)
                elif self._ours(value):
                    targets.append((value, None))
            elif isinstance(call.func, ast.Attribute):
                name, receiver = call.func.attr, call.func.value
                value = getattr(module, receiver.id, None) if isinstance(receiver, ast.Name) else None
                if isinstance(receiver, ast.Name) and receiver.id == "self" and owner is not None:
                    targets.append((getattr(owner, name, None), owner))
                elif isinstance(receiver, ast.Name) and inspect.isclass(hints.get(receiver.id)):
                    cls = hints[receiver.id]
                    targets.append((getattr(cls, name, None), cls))
                elif isinstance(value, ModuleType) or inspect.isclass(value):
                    target = getattr(value, name, None)
                    if inspect.isclass(target) and issubclass(target, ServiceError):
                        found.add(target.status_code)
                    targets.append((target, value if inspect.isclass(value) else None))
                elif name not in _NOT_FOLLOWED:
                    targets.extend((member, cls) for cls, member in self.methods.get(name, []))
            for target, cls in targets:
                if target is require_version and _optional(call):
                    found.add(PreconditionFailed.status_code)  # required=False: never 428
                    continue
                found |= self.statuses(target, cls, seen, depth + 1)
        return found


def _optional(call: ast.Call) -> bool:
    return any(
        k.arg == "required" and isinstance(k.value, ast.Constant) and k.value.value is False for k in call.keywords
    )


# What the walk finds but the route cannot answer, each with the reason (reviewed by hand; keep it short).
NOT_RAISED: dict[tuple[str, str, str], dict[int, str]] = {
    ("claims", "POST", "/v1/claims/leads"): {
        409: "StepTaker.take raises its 409 only for a step from a state; a lead's intake step has none",
    },
    ("claims", "POST", "/v1/payments/batches/{batch_id}/confirmations"): {
        409: "PaymentService.reconcile catches each line's ServiceError and reports it in `errors`",
    },
}


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependants(dependency)


@pytest.mark.parametrize("service", SERVICES)
def test_every_raised_status_is_documented(service: str) -> None:
    app = _app(service)
    walk = _Walk(service)
    paths = _document(service)["paths"]
    undocumented = []
    walked = 0
    for route in route_contexts(app):
        dependant = getattr(route, "dependant", None)
        if not isinstance(dependant, Dependant) or route.path not in paths:
            continue
        functions = [route.endpoint] + [d.call for d in _dependants(dependant) if d.call is not None]
        raised: set[int] = set()
        seen: set[Any] = set()
        for function in functions:
            raised |= walk.statuses(function, None, seen)
        for method in route.methods:
            documented = {int(s) for s in paths[route.path][method.lower()]["responses"] if s.isdigit()}
            documented |= set(NOT_RAISED.get((service, method, route.path), {}))
            if raised - documented:
                undocumented.append(f"{method} {route.path}: raises {sorted(raised - documented)}")
            walked += 1
    assert walked > 10
    assert not undocumented, "\n".join(undocumented)


def _success_statuses(function: Any, seen: set[Any]) -> set[int]:
    """2xx codes a route sets: `status_code=` keywords and `x.status_code = ...` assignments (every constant in
    the expression, e.g. `201 if created else 200`) in the endpoint itself. A shared helper (registry's `_json`,
    whose status follows the use case's `Created.created`) is not followed: it would demand both codes of every
    route that uses it, and the use case, not the helper, decides which one it answers."""
    function = inspect.unwrap(function)
    if function in seen or not inspect.isfunction(function) or ".api." not in function.__module__:
        return set()
    seen.add(function)
    node = ast.parse(textwrap.dedent(inspect.getsource(function)))
    values: list[ast.AST] = []
    found: set[int] = set()
    for n in ast.walk(node):
        if (isinstance(n, ast.keyword) and n.arg == "status_code") or (
            isinstance(n, ast.Assign)
            and any(isinstance(t, ast.Attribute) and t.attr == "status_code" for t in n.targets)
        ):
            values.append(n.value)
    for value in values:
        found |= {
            c.value
            for c in ast.walk(value)
            if isinstance(c, ast.Constant) and isinstance(c.value, int) and 200 <= c.value < 300
        }
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_success_status_is_documented(service: str) -> None:
    """A route that answers 200 on a replay and 201 on a creation (or 202 and 200) documents both."""
    paths = _document(service)["paths"]
    undocumented = []
    for route in route_contexts(_app(service)):
        if route.path not in paths or not getattr(route, "endpoint", None):
            continue
        answered = _success_statuses(route.endpoint, set())
        for method in route.methods:
            operation = paths[route.path][method.lower()]
            documented = {int(s) for s in operation["responses"] if s.isdigit()}
            if answered - documented:
                undocumented.append(f"{method} {route.path}: answers {sorted(answered - documented)}")
    assert not undocumented, "\n".join(undocumented)

"""The rendered manifests (base and every overlay) against the Kubernetes JSON schemas, strictly
(unknown fields are errors), for the oldest Kubernetes they support and the newest one the
installed kubernetes-validate ships. Offline: the package carries the schemas."""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="pip package kubernetes-validate (ships the schemas, works offline)"
)
from kubernetes_validate import utils as kv_utils  # noqa: E402

# The oldest Kubernetes the manifests promise to work with (docs/operations.md).
MIN_KUBERNETES = "1.30.0"


# -- JSON schemas --------------------------------------------------------------------------------


@functools.cache
def schema_validator(version: str, kind: str, api_version: str) -> Any:
    """kubernetes_validate.validate() without re-reading the schemas for every object: the same
    schema files and registry, built once per (version, kind, apiVersion)."""
    import jsonschema
    from referencing import Registry, Resource

    schema_version = [v for v in kv_utils.all_versions() if kv_utils.major_minor(v) <= kv_utils.major_minor(version)][
        -1
    ]
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_dir = f"kubernetes-json-schema/v{schema_version}-local-strict"
    try:
        schema = kv_utils.schema_contents(f"{schema_dir}/{kind.lower()}-{group_version}.json", version)
    except FileNotFoundError:
        pytest.fail(f"no schema for {kind} {api_version} in Kubernetes {schema_version}")
    definitions = kv_utils.schema_contents(f"{schema_dir}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


@pytest.mark.parametrize("version", [MIN_KUBERNETES, kv_utils.latest_version()])
@pytest.mark.parametrize("name", ["base", "production"])
def test_objects_validate_against_kubernetes_schemas(
    rendered: dict[str, list[dict[str, Any]]], name: str, version: str
) -> None:
    errors = []
    for obj in rendered[name]:
        validator = schema_validator(version, obj["kind"], obj["apiVersion"])
        for err in validator.iter_errors(obj):
            path = ".".join(str(p) for p in err.path)
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {err.message}")
    assert not errors, "\n".join(errors)


def test_cached_validator_agrees_with_kubernetes_validate(rendered: dict[str, list[dict[str, Any]]]) -> None:
    version = kv_utils.latest_version()
    for obj in rendered["production"][:5]:
        kubernetes_validate.validate(obj, version, strict=True)
        assert not list(schema_validator(version, obj["kind"], obj["apiVersion"]).iter_errors(obj))


def test_a_broken_object_is_caught() -> None:
    """The validator really checks (so a pass above means something)."""
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": "two", "selector": {}, "template": {}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kv_utils.latest_version(), strict=True)
    unknown_field = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "dataa": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown_field, kv_utils.latest_version(), strict=True)
    for obj in (broken, unknown_field):
        assert list(schema_validator(MIN_KUBERNETES, obj["kind"], obj["apiVersion"]).iter_errors(obj))

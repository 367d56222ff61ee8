"""A small kustomize renderer for the deployment tests, so they run where no kustomize is.

It implements the subset of kustomize that deploy/k8s uses, with kustomize's semantics:

- `resources` (YAML files and directories holding a kustomization), `components`;
- `namespace`, `labels` (pairs, includeSelectors, includeTemplates), `commonLabels`,
  `commonAnnotations`;
- `images` (newName, newTag, digest);
- `patches` from `path` or inline `patch`, optionally with a `target` (group, version, kind,
  name as an anchored regex, namespace, labelSelector of `k=v` pairs): a YAML list is an RFC
  6902 JSON patch, a mapping is a strategic merge patch (maps merge; lists of containers,
  env, volumes, ports... merge by their Kubernetes merge key; other lists are replaced).

Anything else in a kustomization raises `Unsupported`, so an overlay that starts using a
feature this file does not know fails loudly instead of rendering wrong. Where `kubectl
kustomize` is installed, a test checks that both render the same objects.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

SUPPORTED_FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "components",
    "namespace",
    "labels",
    "commonLabels",
    "commonAnnotations",
    "images",
    "patches",
}

# Kinds that have no namespace (the ones a kustomization of ours could contain).
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "StorageClass",
    "IngressClass",
    "PersistentVolume",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
}

# Strategic merge keys of the lists that our patches touch (from the Kubernetes API's
# x-kubernetes-patch-merge-key). Lists not named here are replaced by the patch.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "tolerations": None,  # replaced (no merge key in the API)
}

# Where label selectors live, for labels/commonLabels with selectors included.
SELECTOR_PATHS = {
    "Deployment": [("spec", "selector", "matchLabels")],
    "StatefulSet": [("spec", "selector", "matchLabels")],
    "DaemonSet": [("spec", "selector", "matchLabels")],
    "ReplicaSet": [("spec", "selector", "matchLabels")],
    "Job": [],
    "Service": [("spec", "selector")],
    "PodDisruptionBudget": [("spec", "selector", "matchLabels")],
}
TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


class Unsupported(Exception):
    """The kustomization uses a feature this renderer does not implement."""


def render(directory: str | Path) -> list[dict[str, Any]]:
    """Render the kustomization in `directory` into a list of Kubernetes objects."""
    return _build(Path(directory).resolve(), expect_kind="Kustomization")


def _kustomization_file(directory: Path) -> Path:
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"no kustomization file in {directory}")


def _load_yaml_docs(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def _build(directory: Path, expect_kind: str) -> list[dict[str, Any]]:
    kfile = _kustomization_file(directory)
    (k,) = _load_yaml_docs(kfile)
    kind = k.get("kind", "Kustomization")
    if kind != expect_kind:
        raise Unsupported(f"{kfile}: expected kind {expect_kind}, found {kind}")
    unknown = set(k) - SUPPORTED_FIELDS
    if unknown:
        raise Unsupported(f"{kfile}: fields {sorted(unknown)} are not implemented by tests/deploy/kustomize.py")

    objects: list[dict[str, Any]] = []
    for entry in k.get("resources", []):
        target = (directory / entry).resolve()
        if target.is_dir():
            objects.extend(_build(target, expect_kind="Kustomization"))
        elif target.is_file():
            objects.extend(_load_yaml_docs(target))
        else:
            raise FileNotFoundError(f"{kfile}: resource {entry} does not exist")
    _check_unique(objects, kfile)

    for entry in k.get("components", []):
        objects = _apply_component(objects, (directory / entry).resolve())

    return _transform(objects, k, directory)


def _apply_component(objects: list[dict[str, Any]], directory: Path) -> list[dict[str, Any]]:
    kfile = _kustomization_file(directory)
    (k,) = _load_yaml_docs(kfile)
    if k.get("kind") != "Component":
        raise Unsupported(f"{kfile}: a component must have kind Component")
    unknown = set(k) - SUPPORTED_FIELDS
    if unknown:
        raise Unsupported(f"{kfile}: fields {sorted(unknown)} are not implemented")
    objects = list(objects)
    for entry in k.get("resources", []):
        target = (directory / entry).resolve()
        if target.is_dir():
            objects.extend(_build(target, expect_kind="Kustomization"))
        else:
            objects.extend(_load_yaml_docs(target))
    for entry in k.get("components", []):
        objects = _apply_component(objects, (directory / entry).resolve())
    _check_unique(objects, kfile)
    return _transform(objects, k, directory)


def _check_unique(objects: list[dict[str, Any]], where: Path) -> None:
    seen: set[tuple[str, str, str]] = set()
    for obj in objects:
        key = identity(obj)
        if key in seen:
            raise ValueError(f"{where}: duplicate object {key}")
        seen.add(key)


def identity(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata", {})
    return (obj["kind"], meta.get("namespace", ""), meta["name"])


def _transform(objects: list[dict[str, Any]], k: dict[str, Any], directory: Path) -> list[dict[str, Any]]:
    # kustomize's order of built-in transformers: patches, namespace, labels, annotations,
    # images.
    objects = [copy.deepcopy(o) for o in objects]
    for patch_entry in k.get("patches", []):
        objects = _apply_patch_entry(objects, patch_entry, directory)
    if "namespace" in k:
        for obj in objects:
            if obj["kind"] == "Namespace":
                obj["metadata"]["name"] = k["namespace"]
            elif obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = k["namespace"]
    for spec in k.get("labels", []):
        unknown = set(spec) - {"pairs", "includeSelectors", "includeTemplates"}
        if unknown:
            raise Unsupported(f"labels fields {sorted(unknown)}")
        selectors = bool(spec.get("includeSelectors", False))
        templates = bool(spec.get("includeTemplates", False)) or selectors
        for obj in objects:
            _add_labels(obj, spec["pairs"], selectors=selectors, templates=templates)
    if "commonLabels" in k:
        for obj in objects:
            _add_labels(obj, k["commonLabels"], selectors=True, templates=True)
    if "commonAnnotations" in k:
        for obj in objects:
            obj["metadata"].setdefault("annotations", {}).update(k["commonAnnotations"])
            if obj["kind"] in TEMPLATE_KINDS:
                meta = obj["spec"]["template"].setdefault("metadata", {})
                meta.setdefault("annotations", {}).update(k["commonAnnotations"])
    for image in k.get("images", []):
        for obj in objects:
            _set_image(obj, image)
    return objects


def _add_labels(obj: dict[str, Any], pairs: dict[str, str], *, selectors: bool, templates: bool) -> None:
    obj.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
    kind = obj["kind"]
    if templates and kind in TEMPLATE_KINDS:
        obj["spec"]["template"].setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
    if selectors:
        for path in SELECTOR_PATHS.get(kind, []):
            node = obj
            for part in path:
                node = node.setdefault(part, {})
            node.update(pairs)


def _containers(obj: dict[str, Any]) -> Iterable[dict[str, Any]]:
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    pod = spec.get("template", {}).get("spec") if "template" in spec else (spec if obj["kind"] == "Pod" else None)
    if not pod:
        return []
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def _split_image(ref: str) -> tuple[str, str | None, str | None]:
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref, tag = ref.rsplit(":", 1)
    return ref, tag, digest


def _set_image(obj: dict[str, Any], image: dict[str, Any]) -> None:
    unknown = set(image) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise Unsupported(f"images fields {sorted(unknown)}")
    for container in _containers(obj):
        name, tag, digest = _split_image(container.get("image", ""))
        if name != image["name"]:
            continue
        name = image.get("newName", name)
        if "digest" in image:
            container["image"] = f"{name}@{image['digest']}"
        elif "newTag" in image:
            container["image"] = f"{name}:{image['newTag']}"
        elif digest:
            container["image"] = f"{name}@{digest}"
        elif tag:
            container["image"] = f"{name}:{tag}"
        else:
            container["image"] = name


# -- patches -------------------------------------------------------------------------------


def _apply_patch_entry(objects: list[dict[str, Any]], entry: dict[str, Any], directory: Path) -> list[dict[str, Any]]:
    unknown = set(entry) - {"path", "patch", "target", "options"}
    if unknown or entry.get("options"):
        raise Unsupported(f"patch fields {sorted(unknown | set(entry.get('options') or {}))}")
    if "path" in entry:
        docs = _load_yaml_docs((directory / entry["path"]).resolve())
    else:
        docs = [doc for doc in yaml.safe_load_all(entry["patch"]) if doc is not None]
    if len(docs) != 1:
        raise Unsupported("one patch per file or inline patch")
    patch = docs[0]
    target = entry.get("target")
    if isinstance(patch, list):
        if not target:
            raise ValueError("a JSON 6902 patch needs a target")
        matched = [o for o in objects if _matches(o, target)]
        if not matched:
            raise ValueError(f"patch target {target} matches nothing")
        for obj in matched:
            _json6902(obj, patch)
        return objects
    matched = [o for o in objects if _matches(o, target)] if target else [o for o in objects if _same_object(o, patch)]
    if not matched:
        raise ValueError(f"strategic merge patch {target or identity_of_patch(patch)} matches nothing")
    result = []
    for obj in objects:
        if any(obj is m for m in matched):
            body = copy.deepcopy(patch)
            if target:
                # With a target, the patch's own name and kind neither select nor rename.
                meta = body.get("metadata", {})
                meta.pop("name", None)
                meta.pop("namespace", None)
                if not meta:
                    body.pop("metadata", None)
                body.pop("apiVersion", None)
                body.pop("kind", None)
            obj = strategic_merge(obj, body)
        result.append(obj)
    return result


def identity_of_patch(patch: dict[str, Any]) -> str:
    return f"{patch.get('kind')}/{patch.get('metadata', {}).get('name')}"


def _group_version(api_version: str) -> tuple[str, str]:
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


def _same_object(obj: dict[str, Any], patch: dict[str, Any]) -> bool:
    if obj["kind"] != patch.get("kind") or obj["metadata"]["name"] != patch.get("metadata", {}).get("name"):
        return False
    if "apiVersion" in patch and _group_version(obj["apiVersion"])[0] != _group_version(patch["apiVersion"])[0]:
        return False
    ns = patch.get("metadata", {}).get("namespace")
    return ns is None or obj["metadata"].get("namespace") == ns


def _matches(obj: dict[str, Any], target: dict[str, Any]) -> bool:
    unknown = set(target) - {"group", "version", "kind", "name", "namespace", "labelSelector"}
    if unknown:
        raise Unsupported(f"patch target fields {sorted(unknown)}")
    group, version = _group_version(obj["apiVersion"])
    if "group" in target and target["group"] != group:
        return False
    if "version" in target and target["version"] != version:
        return False
    if "kind" in target and target["kind"] != obj["kind"]:
        return False
    if "name" in target and not re.fullmatch(target["name"], obj["metadata"]["name"]):
        return False
    if "namespace" in target and not re.fullmatch(target["namespace"], obj["metadata"].get("namespace", "")):
        return False
    if "labelSelector" in target:
        labels = obj["metadata"].get("labels", {})
        for term in target["labelSelector"].split(","):
            if "=" not in term or "!=" in term:
                raise Unsupported(f"labelSelector term {term!r}: only k=v")
            key, value = (part.strip() for part in term.split("=", 1))
            if labels.get(key) != value.lstrip("="):
                return False
    return True


def strategic_merge(original: Any, patch: Any, field: str | None = None) -> Any:
    """Kubernetes strategic merge for the shapes our patches use."""
    if isinstance(patch, dict) and isinstance(original, dict):
        if any(key.startswith("$") for key in patch):
            raise Unsupported(f"strategic merge directives {[k for k in patch if k.startswith('$')]}")
        merged = dict(original)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value, key)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(patch, list) and isinstance(original, list):
        merge_key = MERGE_KEYS.get(field or "")
        if merge_key and all(isinstance(i, dict) and merge_key in i for i in original + patch):
            merged_list = [copy.deepcopy(i) for i in original]
            for item in patch:
                for index, existing in enumerate(merged_list):
                    if existing[merge_key] == item[merge_key]:
                        merged_list[index] = strategic_merge(existing, item)
                        break
                else:
                    merged_list.append(copy.deepcopy(item))
            return merged_list
        return copy.deepcopy(patch)
    return copy.deepcopy(patch)


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"JSON pointer must start with /: {path}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _json6902(obj: dict[str, Any], operations: list[dict[str, Any]]) -> None:
    for op in operations:
        parts = _pointer(op["path"])
        parent: Any = obj
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        kind = op["op"]
        if kind == "add":
            if isinstance(parent, list):
                if last == "-":
                    parent.append(copy.deepcopy(op["value"]))
                else:
                    parent.insert(int(last), copy.deepcopy(op["value"]))
            else:
                parent[last] = copy.deepcopy(op["value"])
        elif kind == "replace":
            if isinstance(parent, list):
                parent[int(last)] = copy.deepcopy(op["value"])
            else:
                if last not in parent:
                    raise ValueError(f"replace of missing {op['path']}")
                parent[last] = copy.deepcopy(op["value"])
        elif kind == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                del parent[last]
        elif kind == "test":
            value = parent[int(last)] if isinstance(parent, list) else parent[last]
            if value != op["value"]:
                raise ValueError(f"test failed at {op['path']}")
        else:
            raise Unsupported(f"JSON patch op {kind}")

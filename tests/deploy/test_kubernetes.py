"""deploy/k8s: render base and overlays, validate against the Kubernetes JSON schemas, and check
what the schemas cannot: probes, security, wiring between objects, and that the
NetworkPolicies allow exactly the calls of the architecture.
"""

from __future__ import annotations

import os
import re
import subprocess
from itertools import product
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import CONTRACT_ENV, K8S, SECRET_ENV, SERVICE_PORTS, find_tool
from tests.deploy.kustomize import identity, render

SERVICES = tuple(SERVICE_PORTS)
UVICORN_GRACEFUL_SHUTDOWN_SECONDS = 20  # services/cli/processes.py: uvicorn_options(timeout_graceful_shutdown=...)


def objects_of(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions In/NotIn/Exists/DoesNotExist)."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@pytest.fixture(scope="module", params=["base", "production"])
def variant(request: pytest.FixtureRequest, rendered: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return rendered[request.param]


# -- rendering ---------------------------------------------------------------------------------


def test_renders_the_expected_objects(rendered: dict[str, list[dict[str, Any]]]) -> None:
    assert set(rendered) == {"base", "production"}
    for objects in rendered.values():
        kinds = sorted(o["kind"] for o in objects)
        assert kinds.count("Deployment") == 3
        assert kinds.count("Service") == 3
        assert kinds.count("HorizontalPodAutoscaler") == 3
        assert kinds.count("PodDisruptionBudget") == 3
        assert kinds.count("Ingress") == 3
        assert kinds.count("Job") == 1
        assert kinds.count("Namespace") == 1
        assert kinds.count("ConfigMap") == 1
        assert "Secret" not in kinds, "the Secret is created outside the repository"
        for obj in objects:
            if obj["kind"] != "Namespace":
                assert obj["metadata"]["namespace"] == "fangpin"
            assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "fangpin"


def kubectl_kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = find_tool("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not installed; the Python renderer alone renders the manifests")
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.mark.parametrize("directory", ["base", "overlays/production"])
def test_python_renderer_agrees_with_kubectl_kustomize(directory: str) -> None:
    expected = {identity(o): o for o in kubectl_kustomize(K8S / directory)}
    actual = {identity(o): o for o in render(K8S / directory)}
    assert set(actual) == set(expected)
    for key, obj in expected.items():
        assert actual[key] == obj, f"{key} differs between tests/deploy/kustomize.py and kubectl kustomize"


def with_servicemonitor(tmp_path: Path) -> Path:
    """A throwaway overlay: the base plus the optional ServiceMonitor component."""
    overlay = tmp_path / "overlay"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(K8S / "base", overlay)],
                "components": [os.path.relpath(K8S / "components" / "servicemonitor", overlay)],
            }
        ),
        encoding="utf-8",
    )
    return overlay


def test_servicemonitor_component_selects_the_services(tmp_path: Path) -> None:
    objects = render(with_servicemonitor(tmp_path))
    (monitor,) = objects_of(objects, "ServiceMonitor").values()
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["namespace"] == "fangpin"
    services = objects_of(objects, "Service")
    selected = {
        n for n, s in services.items() if selector_matches(monitor["spec"]["selector"], s["metadata"]["labels"])
    }
    assert selected == set(SERVICES)
    port_names = {p["name"] for s in services.values() for p in s["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in port_names
        assert endpoint["path"] == "/metrics"
    if find_tool("kubectl"):
        assert {identity(o) for o in kubectl_kustomize(with_servicemonitor(tmp_path / "again"))} == {
            identity(o) for o in objects
        }


# -- Deployments ---------------------------------------------------------------------------------


def test_deployments(variant: list[dict[str, Any]]) -> None:
    deployments = objects_of(variant, "Deployment")
    assert set(deployments) == set(SERVICES)
    for name, deployment in deployments.items():
        port = SERVICE_PORTS[name]
        assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        template = deployment["spec"]["template"]
        assert selector_matches(deployment["spec"]["selector"], template["metadata"]["labels"])
        annotations = template["metadata"]["annotations"]
        assert annotations == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(port),
            "prometheus.io/path": "/metrics",
        }
        spec = template["spec"]
        (container,) = spec["containers"]
        assert container["args"] == ["serve", name]
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert re.fullmatch(r"\S+:[\w.-]+", container["image"])
        assert not container["image"].endswith(":latest")

        probes = {kind: container[f"{kind}Probe"]["httpGet"] for kind in ("startup", "liveness", "readiness")}
        assert probes["readiness"] == {"path": "/readyz", "port": "http"}
        assert probes["liveness"] == {"path": "/healthz", "port": "http"}
        assert probes["startup"] == {"path": "/healthz", "port": "http"}

        resources = container["resources"]
        for key in ("cpu", "memory"):
            assert key in resources["requests"]
            assert key in resources["limits"]

        # Graceful shutdown: endpoints drain during preStop, then uvicorn finishes requests.
        sleep = container["lifecycle"]["preStop"]["exec"]["command"]
        assert sleep[0] == "sleep"
        assert spec["terminationGracePeriodSeconds"] > int(sleep[1]) + UVICORN_GRACEFUL_SHUTDOWN_SECONDS


def test_pods_meet_the_restricted_pod_security_standard(variant: list[dict[str, Any]]) -> None:
    namespace = objects_of(variant, "Namespace")["fangpin"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    workloads = [*objects_of(variant, "Deployment").values(), *objects_of(variant, "Job").values()]
    for workload in workloads:
        spec = pod_spec(workload)
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["capabilities"]["drop"] == ["ALL"]
            # A read-only root needs a writable /tmp (uploads, tempfiles).
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            volumes = {v["name"]: v for v in spec["volumes"]}
            assert "emptyDir" in volumes[mounts["/tmp"]]  # noqa: S108 - the pod's emptyDir


def test_configuration_comes_from_the_configmap_and_the_secret(variant: list[dict[str, Any]]) -> None:
    configmaps = objects_of(variant, "ConfigMap")
    config = configmaps["fangpin-config"]["data"]
    assert set(config) <= CONTRACT_ENV
    assert not set(config) & SECRET_ENV, "secrets do not belong in the ConfigMap"
    assert config["FANGPIN_HOST"] == "0.0.0.0"  # noqa: S104 - inside the pod
    for name, port in SERVICE_PORTS.items():
        assert config[f"FANGPIN_{name.upper()}_URL"] == f"http://{name}:{port}"
    workloads = [*objects_of(variant, "Deployment").values(), *objects_of(variant, "Job").values()]
    for workload in workloads:
        (container,) = pod_spec(workload)["containers"]
        assert container["envFrom"] == [{"configMapRef": {"name": "fangpin-config"}}]
        env_names = set()
        for env in container["env"]:
            env_names.add(env["name"])
            assert env["name"] in CONTRACT_ENV
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if env["name"] in SECRET_ENV:
                assert ref
                assert ref["name"] == "fangpin-secrets"
                assert ref["key"] == env["name"]
                assert ref.get("optional", False) == (env["name"] == "FANGPIN_SERVICE_TOKEN")
        assert "FANGPIN_DATABASE_URL" in env_names
        if workload["kind"] == "Deployment":
            assert env_names >= SECRET_ENV


def test_migration_job(variant: list[dict[str, Any]]) -> None:
    (job,) = objects_of(variant, "Job").values()
    spec = pod_spec(job)
    (container,) = spec["containers"]
    assert container["args"] == ["migrate"]
    assert spec["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1
    images = {pod_spec(d)["containers"][0]["image"] for d in objects_of(variant, "Deployment").values()}
    assert images == {container["image"]}, "the Job migrates with the image the services run"
    assert spec["serviceAccountName"] == "fangpin"


def test_services_hpas_and_pdbs_point_at_the_deployments(variant: list[dict[str, Any]]) -> None:
    deployments = objects_of(variant, "Deployment")
    services = objects_of(variant, "Service")
    hpas = objects_of(variant, "HorizontalPodAutoscaler")
    pdbs = objects_of(variant, "PodDisruptionBudget")
    for name in SERVICES:
        pod_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        service = services[name]
        assert selector_matches({"matchLabels": service["spec"]["selector"]}, pod_labels)
        for other in set(SERVICES) - {name}:
            other_labels = deployments[other]["spec"]["template"]["metadata"]["labels"]
            assert not selector_matches({"matchLabels": service["spec"]["selector"]}, other_labels)
        assert service["spec"]["ports"] == [
            {"name": "http", "port": SERVICE_PORTS[name], "targetPort": "http", "protocol": "TCP"}
        ]
        hpa = hpas[name]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
        pdb = pdbs[name]["spec"]
        assert selector_matches(pdb["selector"], pod_labels)
        assert pdb.get("maxUnavailable", 0) >= 1 or pdb["minAvailable"] < hpa["minReplicas"], (
            "a PDB must leave room to drain a node"
        )


def test_ingress_routes_the_three_prefixes(variant: list[dict[str, Any]]) -> None:
    services = objects_of(variant, "Service")
    routes = {}
    for ingress in objects_of(variant, "Ingress").values():
        assert ingress["spec"]["ingressClassName"] == "nginx"
        annotations = ingress["metadata"]["annotations"]
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["port"]["name"] in {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
                routes[path["path"]] = (backend["name"], annotations)
    assert set(routes) == {f"/{name}(/|$)(.*)" for name in SERVICES}
    for name in SERVICES:
        backend, annotations = routes[f"/{name}(/|$)(.*)"]
        assert backend == name
        assert annotations["nginx.ingress.kubernetes.io/rewrite-target"] == "/$2"
        assert annotations["nginx.ingress.kubernetes.io/x-forwarded-prefix"] == f"/{name}"
        # The rewrite turns /registry/v1/x into /v1/x.
        m = re.fullmatch(f"/{name}(/|$)(.*)", f"/{name}/v1/households")
        assert m
        assert "/" + m.group(2) == "/v1/households"


def test_production_overlay_scales_up(rendered: dict[str, list[dict[str, Any]]]) -> None:
    base, prod = rendered["base"], rendered["production"]

    def memory_limit(objects: list[dict[str, Any]], name: str) -> int:
        value = pod_spec(objects_of(objects, "Deployment")[name])["containers"][0]["resources"]["limits"]["memory"]
        number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", value).groups()  # type: ignore[union-attr]
        return int(number) * (1024 if unit == "Gi" else 1)

    for name in SERVICES:
        assert (
            objects_of(prod, "HorizontalPodAutoscaler")[name]["spec"]["minReplicas"]
            > objects_of(base, "HorizontalPodAutoscaler")[name]["spec"]["minReplicas"]
        )
        assert memory_limit(prod, name) > memory_limit(base, name)
        image = pod_spec(objects_of(prod, "Deployment")[name])["containers"][0]["image"]
        assert "/" in image, "production pulls from a registry"
    for ingress in objects_of(prod, "Ingress").values():
        host = ingress["spec"]["rules"][0]["host"]
        assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": "fangpin-tls"}]


# -- NetworkPolicies: evaluate them -------------------------------------------------------------

NAMESPACE = "fangpin"
# Every endpoint that matters: (namespace, labels, listening ports).
ENDPOINTS: dict[str, tuple[str, dict[str, str], tuple[int, ...]]] = {
    **{
        name: (NAMESPACE, {"app.kubernetes.io/name": "fangpin", "app.kubernetes.io/component": name}, (port,))
        for name, port in SERVICE_PORTS.items()
    },
    "migrate": (NAMESPACE, {"app.kubernetes.io/name": "fangpin", "app.kubernetes.io/component": "migrate"}, ()),
    "stray-pod": (NAMESPACE, {"app": "debug"}, (8080,)),
    "ingress-controller": ("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}, (443,)),
    "prometheus": ("monitoring", {"app.kubernetes.io/name": "prometheus"}, (9090,)),
    "kube-dns": ("kube-system", {"k8s-app": "kube-dns"}, (53,)),
    "postgres": ("databases", {"app": "postgres"}, (5432,)),
    "other-app": ("default", {"app": "other"}, (8001, 8002, 8003)),
    "internet": ("", {}, (443, 80)),  # outside the cluster (ipBlock territory)
}

EXPECTED = {
    *{("ingress-controller", s, SERVICE_PORTS[s]) for s in SERVICES},
    *{("prometheus", s, SERVICE_PORTS[s]) for s in SERVICES},
    ("screening", "registry", 8001),
    ("screening", "claims", 8003),
    ("claims", "registry", 8001),
    *{(s, "postgres", 5432) for s in (*SERVICES, "migrate")},
    *{(s, "kube-dns", 53) for s in (*SERVICES, "migrate", "stray-pod")},
}


def _peer_matches(peer: dict[str, Any], policy_ns: str, endpoint: str) -> bool:
    ns, labels, _ = ENDPOINTS[endpoint]
    if "ipBlock" in peer:
        return ns == ""  # our ipBlocks (if any) are for addresses outside the cluster
    if not ns:
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], {"kubernetes.io/metadata.name": ns}):
            return False
    elif ns != policy_ns:
        return False
    return "podSelector" not in peer or selector_matches(peer["podSelector"], labels)


def _port_matches(ports: list[dict[str, Any]] | None, port: int) -> bool:
    if not ports:
        return True
    for p in ports:
        assert p.get("protocol", "TCP") in ("TCP", "UDP")
        if "port" not in p or p["port"] == port or (p.get("endPort") and p["port"] <= port <= p["endPort"]):
            return True
    return False


def _direction_allows(policies: list[dict[str, Any]], direction: str, pod: str, peer: str, port: int) -> bool:
    ns, labels, _ = ENDPOINTS[pod]
    if ns != NAMESPACE:
        return True  # not ours to restrict
    kind = "Ingress" if direction == "ingress" else "Egress"
    applicable = [
        p for p in policies if kind in p["spec"]["policyTypes"] and selector_matches(p["spec"]["podSelector"], labels)
    ]
    if not applicable:
        return True
    for policy in applicable:
        for rule in policy["spec"].get(direction, []):
            peers = rule.get("from" if direction == "ingress" else "to")
            if (peers is None or any(_peer_matches(p, NAMESPACE, peer) for p in peers)) and _port_matches(
                rule.get("ports"), port
            ):
                return True
    return False


def allowed_connections(objects: list[dict[str, Any]]) -> set[tuple[str, str, int]]:
    policies = list(objects_of(objects, "NetworkPolicy").values())
    allowed = set()
    for src, dst in product(ENDPOINTS, ENDPOINTS):
        if src == dst or (ENDPOINTS[src][0] != NAMESPACE and ENDPOINTS[dst][0] != NAMESPACE):
            continue
        for port in ENDPOINTS[dst][2]:
            if _direction_allows(policies, "egress", src, dst, port) and _direction_allows(
                policies, "ingress", dst, src, port
            ):
                allowed.add((src, dst, port))
    return allowed


def test_network_policies_allow_exactly_the_architecture_calls(variant: list[dict[str, Any]]) -> None:
    allowed = allowed_connections(variant)
    assert allowed - EXPECTED == set(), "allowed but not in the architecture"
    assert EXPECTED - allowed == set(), "in the architecture but blocked"


def test_network_policy_evaluator_denies_without_policies() -> None:
    """Sanity of the evaluator: with only the default deny, nothing in or out of the namespace."""
    deny = {
        "kind": "NetworkPolicy",
        "metadata": {"name": "d"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }
    assert allowed_connections([deny]) == set()
    assert ("registry", "claims", 8003) in allowed_connections([])

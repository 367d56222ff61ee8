"""Issue 9: the body and header limits of the services, the gateways and the memory budget agree.

service route limit  <=  gateway body limit (compose nginx, Kubernetes ingress)  <=  pod memory,
and three uploads of the largest size at once fit in the pod's memory limit. The gateway's header
buffers fit in the service's header limit (what nginx adds to a request included).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from services.claims.config import ClaimsSettings
from services.registry.config import RegistrySettings
from services.screening.config import ScreeningSettings
from shared.limits import RequestGuardMiddleware
from shared.settings import ServiceSettings
from tests.deploy.conftest import DEPLOY

SETTINGS: dict[str, type[ServiceSettings]] = {
    "registry": RegistrySettings,
    "screening": ScreeningSettings,
    "claims": ClaimsSettings,
}
UNITS = {
    "": 1,
    "k": 1024,
    "m": 1024**2,
    "g": 1024**3,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "K": 1000,
    "M": 1000**2,
    "G": 1000**3,
}


def size(text: str) -> int:
    match = re.fullmatch(r"(\d+)\s*([kmgKMG]i?|)", text.strip())
    assert match, f"not a size: {text!r}"
    return int(match.group(1)) * UNITS[match.group(2)]


def largest_route_limit(service: str) -> int:
    """The largest body any route of the service accepts, as the guard computes it."""
    module = __import__(f"services.{service}.app", fromlist=["create_app"])
    app = module.create_app(SETTINGS[service](jwt_secret="x" * 40))
    guard = RequestGuardMiddleware(app)
    return max(plan.limit for plan in guard._compile(app))


def nginx_conf() -> str:
    return (DEPLOY / "nginx" / "fangpin.conf").read_text(encoding="utf-8")


def nginx_body_limit() -> int:
    values = re.findall(r"^\s*client_max_body_size\s+(\S+);", nginx_conf(), re.M)
    assert len(values) == 1, "one client_max_body_size, at server level"
    return size(values[0])


def ingress_body_limits(objects: list[dict[str, Any]]) -> dict[str, int]:
    out = {}
    for obj in objects:
        if obj["kind"] == "Ingress":
            value = obj["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
            out[obj["metadata"]["name"]] = size(value)
    return out


def memory_limits(objects: list[dict[str, Any]]) -> dict[str, int]:
    out = {}
    for obj in objects:
        if obj["kind"] == "Deployment":
            container = obj["spec"]["template"]["spec"]["containers"][0]
            out[obj["metadata"]["name"]] = size(container["resources"]["limits"]["memory"])
    return out


def test_the_json_limit_is_small_and_uploads_have_their_own() -> None:
    assert ServiceSettings.model_fields["body_max_bytes"].default <= 1024 * 1024
    assert largest_route_limit("registry") > RegistrySettings().import_max_bytes
    assert largest_route_limit("screening") > ScreeningSettings().feed_max_bytes
    assert largest_route_limit("claims") == ClaimsSettings().body_max_bytes


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_service_limits_fit_under_the_compose_gateway(service: str) -> None:
    assert largest_route_limit(service) <= nginx_body_limit(), (
        f"{service} accepts bodies the gateway refuses: lower its limit or raise client_max_body_size"
    )


def test_service_limits_fit_under_the_ingress_and_the_pod_memory(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for overlay, objects in rendered.items():
        bodies = ingress_body_limits(objects)
        memory = memory_limits(objects)
        assert set(bodies) == set(SETTINGS) == set(memory), overlay
        for service in SETTINGS:
            route = largest_route_limit(service)
            assert route <= bodies[service], f"{overlay}/{service}: service limit above the ingress's"
            assert bodies[service] == nginx_body_limit(), f"{overlay}/{service}: ingress and compose gateway differ"
            assert bodies[service] <= memory[service], f"{overlay}/{service}: gateway limit above pod memory"
            assert 3 * route <= memory[service], f"{overlay}/{service}: three largest uploads exceed pod memory"


def test_gateway_header_buffers_fit_the_service_header_limit() -> None:
    match = re.search(r"^\s*large_client_header_buffers\s+(\d+)\s+(\S+);", nginx_conf(), re.M)
    assert match, "the gateway bounds request headers (large_client_header_buffers)"
    gateway = int(match.group(1)) * size(match.group(2))
    added = 4 * 1024  # X-Forwarded-*, X-Request-ID and friends that nginx adds
    assert gateway + added <= ServiceSettings.model_fields["header_max_bytes"].default


def test_every_service_process_gets_the_header_limit() -> None:
    """Compose, Kubernetes and the tests all run `fangpin serve`, which sets the protocol class."""
    from services.cli import uvicorn_options

    options = uvicorn_options(ServiceSettings(jwt_secret="x" * 40, port=1))
    assert options["http"].header_max_bytes == ServiceSettings.model_fields["header_max_bytes"].default
    compose = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    for service in SETTINGS:
        assert f'command: ["serve", "{service}"]' in compose
        manifest = (DEPLOY / "k8s" / "base" / f"{service}.yaml").read_text(encoding="utf-8")
        assert f'args: ["serve", "{service}"]' in manifest

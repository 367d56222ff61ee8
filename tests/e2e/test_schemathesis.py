"""Schemathesis over each service's OpenAPI document, the services as real processes.

For every operation of the three services, a bounded, derandomized run of generated requests with a
token that may call it: no 5xx, every status and content type documented (problem+json where errors
are returned), and responses that match their schemas. Demo regions, the reference scheme and a few
hundred demo households are seeded first, so generated ids sometimes meet real ones.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import make_settings
from tests.support.processes import ROOT, ServiceProcess, service_processes
from tests.support.tokens import service_env, token

pytestmark = pytest.mark.e2e

# An admin passes every role check (shared.auth.require_roles); the department claim lets feed
# routes through for one department, and others answer their documented 403.
ADMIN = {"Authorization": f"Bearer {token('admin', '410602', department='medical_insurance')}"}
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
)
EXAMPLES = int(os.environ.get("FANGPIN_SCHEMATHESIS_EXAMPLES", "12"))


@pytest.fixture(scope="module")
def services(e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    env = {
        **service_env(e2e_database_url),
        "FANGPIN_CLAIMS_SCHEDULER_ENABLED": "false",
        "FANGPIN_LOG_LEVEL": "WARNING",
    }
    seeded = subprocess.run(
        [sys.executable, "-m", "services.cli", "seed", "--households", "200"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    procs = service_processes(["registry", "screening", "claims"], env, tmp_path_factory.mktemp("schemathesis"))
    try:
        for proc in procs.values():
            proc.start()
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()


def _document(name: str) -> dict[str, Any]:
    """The OpenAPI document the service serves, built from its app (no database needed for that)."""
    module = importlib.import_module(f"services.{name}.app")
    config = importlib.import_module(f"services.{name}.config")
    settings_cls = next(
        value for key, value in vars(config).items() if key.endswith("Settings") and key != "ServiceSettings"
    )
    app = module.create_app(make_settings(settings_cls, "postgresql://unused@127.0.0.1:1/unused"))
    return app.openapi()  # type: ignore[no-any-return]


SCHEMAS = {name: schemathesis.openapi.from_dict(_document(name)) for name in ("registry", "screening", "claims")}
OPERATIONS = [
    pytest.param(name, result.ok(), id=f"{name} {result.ok().label}")
    for name, schema in SCHEMAS.items()
    for result in schema.get_all_operations()
]


@pytest.mark.parametrize(("service", "operation"), OPERATIONS)
def test_operation_conforms(services: dict[str, ServiceProcess], service: str, operation: Any) -> None:
    base_url = services[service].url

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=base_url, headers=ADMIN, checks=CHECKS, timeout=30)

    run()

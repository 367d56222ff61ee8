"""A cursor this API did not issue is 422 `invalid_cursor`, never a 500 (issue 11: the one page helper).

A well-formed cursor (base64 of a JSON list of the right length) whose values are not what the page
key holds (a timestamp, a uuid, a rank) reached the repositories and raised there."""

from __future__ import annotations

import uuid

import httpx
import pytest

from shared.pagination import encode_cursor
from tests.screening.conftest import RunScreening
from tests.screening.support import COUNTY
from tests.support.tokens import auth

pytestmark = pytest.mark.usefixtures("clock")
OFFICER = auth("county_officer", COUNTY)
FEEDER = auth("department_feeder", COUNTY, department="medical_insurance")


@pytest.mark.parametrize(
    ("path", "values", "headers"),
    [
        ("/v1/runs", ["yesterday", "not-a-uuid"], OFFICER),
        ("/v1/runs", ["2026-04-05T02:00:00+00:00", "not-a-uuid"], OFFICER),
        ("/v1/cases", ["yesterday", str(uuid.uuid4())], OFFICER),
        ("/v1/feeds/medical_insurance/batches", ["yesterday", "x"], FEEDER),
    ],
)
async def test_a_cursor_with_values_of_the_wrong_kind_is_invalid(
    screening_client: httpx.AsyncClient, path: str, values: list[str], headers: dict[str, str]
) -> None:
    response = await screening_client.get(path, params={"cursor": encode_cursor(values)}, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_cursor"


async def test_a_leads_cursor_with_a_rank_that_is_not_a_number_is_invalid(
    screening_client: httpx.AsyncClient, run_screening: RunScreening
) -> None:
    run = await run_screening()
    for values in (["410602100", "first", str(uuid.uuid4())], ["410602100", 1, "x"]):
        response = await screening_client.get(
            f"/v1/runs/{run['id']}/leads", params={"cursor": encode_cursor(values)}, headers=OFFICER
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_cursor"

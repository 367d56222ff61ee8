"""GET /v1/statistics (issue 12, rules.md §5; seed 004): the county report's figures from the register,
through the API and the XLSX, in the caller's region."""

from __future__ import annotations

import io
from decimal import Decimal

import httpx
import openpyxl
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.tokens import auth

COUNTY = "410622"
TOWN_A, TOWN_B = "410622100", "410622101"
VILLAGE_A, VILLAGE_B = "410622100201", "410622101201"
OFFICER = auth("county_officer", COUNTY)
# seed 004: 184 remaining-poor households by main cause
CAUSES = [("illness", 77), ("disability", 78), ("lack_of_labour", 15), ("education", 6), ("lack_of_motivation", 6)]
CAUSES += [("disaster", 2)]

_HOUSEHOLDS = """
INSERT INTO registry.household (id, county_code, township_code, village_code, household_number, status,
                                base_status, poverty_cause, registered_year, lifted_out_year)
SELECT gen_random_uuid(), CAST(:county AS text), left(v, 9), v, CAST(:prefix AS text) || lpad(i::text, 8, '0'),
       CAST(:status AS text), CAST(:status AS text), CAST(:cause AS text), CAST(:registered AS smallint),
       CAST(:lifted AS smallint)
  FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS i,
       LATERAL (SELECT CASE WHEN i % 2 = 0 THEN CAST(:va AS text) ELSE CAST(:vb AS text) END AS v) AS x
"""
_MEMBERS = """
INSERT INTO registry.member (id, household_id, county_code, name, national_id_enc, national_id_index,
                             national_id_masked, sex, birth_date, relation, health, labour_ability, join_reason)
SELECT gen_random_uuid(), h.id, h.county_code, '测试' || n, '\\x00'::bytea,
       sha256((h.id::text || n::text)::bytea), '410622********0000', 'male', date '1970-01-01',
       CASE WHEN n = 1 THEN 'head' ELSE 'other' END, 'healthy', 'normal', 'registration'
  FROM registry.household h, generate_series(1, CAST(:size AS int)) AS n
 WHERE h.county_code = CAST(:county AS text) AND h.household_number LIKE CAST(:prefix AS text) || '%'
"""


async def _households(
    session: AsyncSession,
    prefix: str,
    count: int,
    size: int,
    *,
    status: str = "ordinary",
    cause: str | None = None,
    registered: int | None = None,
    lifted: int | None = None,
) -> None:
    params = {"county": COUNTY, "prefix": prefix, "status": status, "cause": cause, "registered": registered}
    params |= {"lifted": lifted, "first": 1, "last": count, "va": VILLAGE_A, "vb": VILLAGE_B}
    await session.execute(text(_HOUSEHOLDS), params)
    await session.execute(text(_MEMBERS), {"county": COUNTY, "prefix": prefix, "size": size})


async def _fixture(session: AsyncSession) -> None:
    regions = [
        (f"{COUNTY}000000", "淇县", "county", None, COUNTY),
        (f"{TOWN_A}000", "朝歌街道", "township", f"{COUNTY}000000", TOWN_A),
        (f"{TOWN_B}000", "北阳镇", "township", f"{COUNTY}000000", TOWN_B),
        (VILLAGE_A, "东关村", "village", f"{TOWN_A}000", VILLAGE_A),
        (VILLAGE_B, "北阳村", "village", f"{TOWN_B}000", VILLAGE_B),
    ]
    for code, name, level, parent, prefix in regions:
        await session.execute(
            text(
                "INSERT INTO registry.region (code, name, level, parent_code, prefix, county_code) "
                "VALUES (:code, :name, :level, :parent, :prefix, :county) ON CONFLICT (code) DO NOTHING"
            ),
            {"code": code, "name": name, "level": level, "parent": parent, "prefix": prefix, "county": COUNTY},
        )
    # 184 remaining poor households, 480 people: 112 of 3 and 72 of 2 (spread over the causes)
    three_left = 112
    for n, (cause, count) in enumerate(CAUSES):
        threes = min(three_left, count)
        three_left -= threes
        if threes:
            await _households(session, f"P{n}T", threes, 3, cause=cause, registered=2014)
        if count - threes:
            await _households(session, f"P{n}W", count - threes, 2, cause=cause, registered=2014)
    # lifted out: 1,000 households of 4 in 2019 (registered 2014), 500 of 4 in 2021 (after the report's year)
    await _households(session, "L19", 1000, 4, status="lifted_out", cause="illness", registered=2014, lifted=2019)
    await _households(session, "L21", 500, 4, status="lifted_out", cause="education", registered=2014, lifted=2021)
    # the rest of the county's rural people: 120,000 − 480 − 6,000 = 113,520 = 28,380 households of 4
    await _households(session, "ORD", 28_380, 4)
    await session.commit()


async def test_seed_004_figures_json_and_xlsx(registry_client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _fixture(session)
    response = await registry_client.get("/v1/statistics", params={"county": COUNTY, "year": 2020}, headers=OFFICER)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["region"] == {"code": COUNTY, "name": "淇县", "level": "county"}
    assert data["rural"] == {"households": 184 + 1500 + 28_380, "people": 120_000}
    # the 500 households lifted out in 2021 were still poor at the end of 2020: 2,480 / 120,000 = 2.066…%
    assert data["remaining"] == {"households": 684, "people": 2480}
    assert data["registered"]["households"] == 184 + 1500
    assert data["poverty_incidence"] == "2.06"
    assert data["lifted_out_by_year"] == [{"year": 2019, "households": 1000, "people": 4000}]
    # the seed's report is the year after: 184 households, 480 people remain
    later = (
        await registry_client.get("/v1/statistics", params={"county": COUNTY, "year": 2021}, headers=OFFICER)
    ).json()
    assert later["remaining"] == {"households": 184, "people": 480}
    assert later["poverty_incidence"] == "0.40"
    shares = {c["code"]: (c["label"], c["households"], c["share"]) for c in later["remaining_by_cause"]}
    assert shares == {
        "illness": ("因病", 77, "41.84"),
        "disability": ("因残", 78, "42.39"),
        "lack_of_labour": ("缺劳力", 15, "8.15"),
        "education": ("因学", 6, "3.26"),
        "lack_of_motivation": ("自身发展动力不足", 6, "3.26"),
        "disaster": ("因灾", 2, "1.08"),
    }
    assert [y["year"] for y in later["lifted_out_by_year"]] == [2019, 2021]
    towns = {r["code"]: r for r in later["by_region"]}
    assert set(towns) == {TOWN_A, TOWN_B}
    assert towns[TOWN_A]["name"] == "朝歌街道"
    assert sum(r["remaining"]["people"] for r in towns.values()) == 480
    half_up = (
        await registry_client.get(
            "/v1/statistics", params={"county": COUNTY, "year": 2021, "rounding": "half_up"}, headers=OFFICER
        )
    ).json()
    assert {c["code"]: c["share"] for c in half_up["remaining_by_cause"]}["illness"] == "41.85"

    # the same figures as a workbook: numbers as numbers, the name beside the code
    response = await registry_client.get(
        "/v1/statistics", params={"county": COUNTY, "year": 2021, "format": "xlsx"}, headers=OFFICER
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    summary = {row[0]: row[1:] for row in book["汇总"].iter_rows(values_only=True)}
    assert summary["地区"][0] == f"淇县（{COUNTY}）"
    assert summary["未脱贫户数/人数"][:2] == (184, 480)
    assert summary["农村登记户数/人数"][1] == 120_000
    incidence = summary["贫困发生率(%)"][2]
    assert isinstance(incidence, float | int | Decimal)
    assert Decimal(str(incidence)) == Decimal("0.4")
    causes = list(book["致贫原因"].iter_rows(values_only=True))
    assert causes[0] == ("地区", "类别", "代码", "户数", "人数", "占比(%)")
    by_code = {row[2]: row for row in causes[1:]}
    assert by_code["illness"][1] == "因病"
    assert isinstance(by_code["illness"][3], int)
    assert Decimal(str(by_code["illness"][5])) == Decimal("41.84")
    assert Decimal(str(by_code["disaster"][5])) == Decimal("1.08")
    assert book["致贫原因"].freeze_panes == "A2"
    assert book["致贫原因"].column_dimensions["B"].width >= 6
    regions = list(book["分地区"].iter_rows(values_only=True))
    assert (TOWN_A, "朝歌街道") in {(r[0], r[1]) for r in regions[1:]}
    for row in regions[1:]:
        assert all(isinstance(v, int) for v in row[2:8])


async def test_scope_and_bad_queries(registry_client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _fixture(session)
    ok = await registry_client.get(
        "/v1/statistics", params={"village": VILLAGE_A, "year": 2021}, headers=auth("village_cadre", VILLAGE_A)
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["region"]["name"] == "东关村"
    assert ok.json()["by_region"] == []
    township = await registry_client.get(
        "/v1/statistics", params={"township": TOWN_A, "year": 2021}, headers=auth("township_officer", TOWN_A)
    )
    assert [r["code"] for r in township.json()["by_region"]] == [VILLAGE_A]
    # a region wider than the caller's, or another county's: 404
    for params, headers in (
        ({"county": COUNTY, "year": 2021}, auth("village_cadre", VILLAGE_A)),
        ({"township": TOWN_B, "year": 2021}, auth("township_officer", TOWN_A)),
        ({"county": COUNTY, "year": 2021}, auth("county_officer", "410602")),
    ):
        response = await registry_client.get("/v1/statistics", params=params, headers=headers)
        assert response.status_code == 404, (params, response.text)
    for params in ({"year": 2021}, {"county": COUNTY, "village": VILLAGE_A, "year": 2021}, {"county": COUNTY}):
        response = await registry_client.get("/v1/statistics", params=params, headers=OFFICER)
        assert response.status_code == 422, (params, response.text)
    assert (await registry_client.get("/v1/statistics", params={"county": COUNTY, "year": 2021})).status_code == 401

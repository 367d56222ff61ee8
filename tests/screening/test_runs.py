"""Screening runs as jobs: versions and superseding, leads by township and code, ranking, region
scope, households without data, income-drop claim leads, the monthly scheduler, job recovery,
and the `fangpin screen` command."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from typer.testing import CliRunner

from services.cli import app as cli
from services.screening.db.tables import outbox, run
from services.screening.jobs import period_due, recover_jobs, schedule_tick
from shared.contracts.claims import ClaimLead
from shared.settings import async_database_url
from tests.screening.conftest import PostFeed, RunScreening, all_leads
from tests.screening.support import (
    COUNTY,
    OTHER_TOWNSHIP_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    Clock,
    add_household,
    medical,
)
from tests.support.tokens import auth

OFFICER = auth("county_officer", COUNTY)


async def test_a_run_is_a_job_with_its_result(
    session: AsyncSession, screening_client: httpx.AsyncClient, clock: Clock
) -> None:
    await add_household(session, incomes={2025: "12000.00"})  # lead
    await add_household(session, incomes={2025: "90000.00"})  # fine
    await add_household(session, labour=[], incomes={2025: "1.00"})  # no members
    await add_household(session)  # no income recorded
    response = await screening_client.post(
        "/v1/runs", json={"county_code": COUNTY, "period": "2026-03"}, headers=OFFICER
    )
    assert response.status_code == 202
    body = response.json()
    assert response.headers["Location"] == f"/v1/runs/{body['id']}"
    assert body["status"] == "succeeded"
    assert body["version"] == 1
    assert body["progress"] == {"done": 6, "total": 6}
    assert (body["window_start"], body["window_end"]) == ("2025-04-01", "2026-03-31")
    assert body["thresholds"]["monitoring_line"] == "6000.00"
    assert body["thresholds"]["version"] == 1
    result = body["result"]
    assert result["households"] == 4
    assert result["evaluated"] == 3  # with no income on file, every code that does not need it is evaluated
    assert result["not_evaluated"] == {"no_members": 1}
    assert result["data_quality"] == {"no_income": 1, "no_income_by_village": {VILLAGE: 1}}
    assert result["leads"] == 1
    assert result["leads_by_township"] == {TOWNSHIP: 1}
    assert result["leads_by_code"] == {"income_low": 1}
    assert set(result["seconds"]) >= {"evaluate", "write_leads", "evidence", "total"}
    again = await screening_client.get(body["links"]["self"], headers=auth("auditor", COUNTY))
    assert again.json()["id"] == body["id"]


async def test_rerunning_a_period_supersedes_the_old_leads(
    session: AsyncSession, screening_client: httpx.AsyncClient, run_screening: RunScreening, clock: Clock
) -> None:
    await add_household(session, incomes={2025: "12000.00"})
    first = await run_screening()
    clock.advance(minutes=1)
    second = await run_screening()
    assert second["version"] == 2
    assert second["result"]["superseded_runs"] == [first["id"]]
    old = (await screening_client.get(f"/v1/runs/{first['id']}", headers=OFFICER)).json()
    assert old["superseded_by"] == second["id"]
    [old_lead] = await all_leads(screening_client, first["id"])
    assert old_lead["superseded"] is True
    [new_lead] = await all_leads(screening_client, second["id"])
    assert new_lead["superseded"] is False
    stale = await screening_client.post(
        "/v1/cases", json={"source": "screening", "lead_id": old_lead["id"]}, headers=auth("township_officer", TOWNSHIP)
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "lead_superseded"
    listed = (
        await screening_client.get("/v1/runs", params={"county_code": COUNTY, "period": "2026-03"}, headers=OFFICER)
    ).json()
    assert [r["id"] for r in listed["items"]] == [second["id"], first["id"]]


async def test_leads_are_ranked_grouped_by_township_and_filtered(
    session: AsyncSession, screening_client: httpx.AsyncClient, post_feed: PostFeed, run_screening: RunScreening
) -> None:
    poor = await add_household(session, incomes={2025: "3000.00"})  # one code, I_adj/n 1000
    poorer = await add_household(session, incomes={2025: "300.00"})  # one code, I_adj/n 100
    sick = await add_household(session, incomes={2025: "15000.00"})  # two codes
    elsewhere = await add_household(session, village=OTHER_TOWNSHIP_VILLAGE, incomes={2025: "6000.00"})
    await post_feed("medical_insurance", [medical("YB-1", sick.national_ids[0], "11000.00")])
    result = await run_screening()
    leads = await all_leads(screening_client, result["id"])
    assert [lead["household_id"] for lead in leads] == [str(h.id) for h in (sick, poorer, poor, elsewhere)]
    assert [lead["township_rank"] for lead in leads] == [1, 2, 3, 1]
    assert [lead["rank"] for lead in leads] == [1, 2, 3, 4]
    assert leads[0]["codes"] == ["income_low", "illness"]
    illness = await all_leads(screening_client, result["id"], code="illness")
    assert [lead["household_id"] for lead in illness] == [str(sick.id)]
    township = await all_leads(screening_client, result["id"], township_code=OTHER_TOWNSHIP_VILLAGE[:9])
    assert [lead["household_id"] for lead in township] == [str(elsewhere.id)]
    # a township officer sees its township; a village cadre its village
    own = await screening_client.get(
        f"/v1/runs/{result['id']}/leads", headers=auth("township_officer", OTHER_TOWNSHIP_VILLAGE[:9])
    )
    assert [lead["household_id"] for lead in own.json()["items"]] == [str(elsewhere.id)]
    village = await screening_client.get(f"/v1/runs/{result['id']}/leads", headers=auth("village_cadre", VILLAGE))
    assert len(village.json()["items"]) == 3
    page = await screening_client.get(f"/v1/runs/{result['id']}/leads", params={"limit": 2}, headers=OFFICER)
    assert len(page.json()["items"]) == 2
    rest = await screening_client.get(
        f"/v1/runs/{result['id']}/leads", params={"limit": 2, "cursor": page.json()["next_cursor"]}, headers=OFFICER
    )
    assert [x["household_id"] for x in page.json()["items"] + rest.json()["items"]] == [
        lead["household_id"] for lead in leads
    ]
    hidden = await screening_client.get(
        f"/v1/runs/{result['id']}/leads/{leads[0]['id']}", headers=auth("village_cadre", OTHER_TOWNSHIP_VILLAGE)
    )
    assert hidden.status_code == 404


async def test_runs_are_region_scoped_and_validated(screening_client: httpx.AsyncClient, clock: Clock) -> None:
    other = await screening_client.post(
        "/v1/runs", json={"county_code": "410603", "period": "2026-03"}, headers=OFFICER
    )
    assert other.status_code == 403
    assert other.json()["code"] == "out_of_scope"
    cadre = await screening_client.post(
        "/v1/runs", json={"county_code": COUNTY, "period": "2026-03"}, headers=auth("village_cadre", VILLAGE)
    )
    assert cadre.status_code == 403
    for period in ("2026-13", "26-03", "2026-3"):
        bad = await screening_client.post("/v1/runs", json={"county_code": COUNTY, "period": period}, headers=OFFICER)
        assert bad.status_code == 422, period
    unknown = await screening_client.get(f"/v1/runs/{uuid.uuid4()}", headers=OFFICER)
    assert unknown.status_code == 404
    key = {"Idempotency-Key": "march-run", **OFFICER}
    first = await screening_client.post("/v1/runs", json={"county_code": COUNTY, "period": "2026-03"}, headers=key)
    replay = await screening_client.post("/v1/runs", json={"county_code": COUNTY, "period": "2026-03"}, headers=key)
    assert replay.json()["id"] == first.json()["id"]
    assert replay.headers["Location"] == first.headers["Location"]
    hidden = await screening_client.get(first.headers["Location"], headers=auth("county_officer", "410603"))
    assert hidden.status_code == 404


async def test_a_threshold_change_applies_to_the_next_run_only(
    session: AsyncSession, screening_client: httpx.AsyncClient, run_screening: RunScreening
) -> None:
    await add_household(session, incomes={2025: "21000.00"})  # 7000 per person
    before = await run_screening()
    assert before["result"]["leads"] == 0
    changed = await screening_client.put(
        f"/v1/thresholds/{COUNTY}/2026",
        json={"values": {"monitoring_line": "8700.00"}, "sources": {"monitoring_line": "[S] 2025 年监测范围 8700 元"}},
        headers={**OFFICER, "If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    after = await run_screening()
    assert after["result"]["leads"] == 1
    assert after["thresholds"]["version"] == 2
    assert after["threshold_version_id"] == changed.json()["id"]
    assert before["thresholds"]["version"] == 1
    withdraw = await screening_client.delete(
        f"/v1/thresholds/{COUNTY}/2026/versions/2", headers={**OFFICER, "If-Match": '"2"'}
    )
    assert withdraw.status_code == 409
    assert withdraw.json()["code"] == "threshold_version_in_use"


async def test_income_drop_leads_of_insured_households_become_claim_leads_once_a_year(
    session: AsyncSession, screening_client: httpx.AsyncClient, run_screening: RunScreening, clock: Clock
) -> None:
    dropped = await add_household(session, incomes={2025: "15000.00", 2024: "30000.00"}, insured_years=[2026])
    await add_household(session, incomes={2025: "15000.00", 2024: "30000.00"}, insured_years=[2025])
    first = await run_screening()
    await run_screening()  # the re-run finds the same drop: no second claim lead
    clock.to_date(date(2026, 5, 5))
    await run_screening("2026-04")
    messages = (await session.execute(select(outbox).where(outbox.c.target == "claims"))).mappings().all()
    assert len(messages) == 1
    lead = ClaimLead.model_validate(messages[0]["body"])
    assert lead.source == "screening_run"
    assert lead.category == "income_drop"
    assert lead.household_id == dropped.id
    assert lead.source_record_id == f"run:{first['id']}:{dropped.id}"
    assert str(lead.incident_date) == "2026-03-31"
    assert lead.evidence.run_id == uuid.UUID(first["id"])
    assert first["result"]["claim_leads"] == 1


async def test_a_failed_run_is_reported_not_raised(
    session: AsyncSession, screening_client: httpx.AsyncClient, screening_app: FastAPI, clock: Clock
) -> None:
    original = screening_app.state.settings.run_work_mem
    screening_app.state.settings.run_work_mem = "1kB"  # below PostgreSQL's minimum: the run's SQL fails
    try:
        response = await screening_client.post(
            "/v1/runs", json={"county_code": COUNTY, "period": "2026-03"}, headers=OFFICER
        )
    finally:
        screening_app.state.settings.run_work_mem = original
    assert response.status_code == 202
    assert response.json()["status"] == "failed"
    assert response.json()["errors"][0]["code"] == "run_failed"


# --- scheduler and recovery -----------------------------------------------------------------


async def test_the_scheduler_runs_last_month_from_the_fifth(
    session: AsyncSession, screening_app: FastAPI, screening_client: httpx.AsyncClient, clock: Clock
) -> None:
    assert period_due(datetime(2026, 4, 4, 15, 59, tzinfo=UTC), 5) is None  # 4 April 23:59 in China
    assert period_due(datetime(2026, 4, 4, 16, 0, tzinfo=UTC), 5) == "2026-03"
    assert period_due(datetime(2026, 1, 20, 2, 0, tzinfo=UTC), 5) == "2025-12"
    await add_household(session, incomes={2025: "12000.00"})
    # counties in use: those with thresholds or feeds
    await screening_client.get(f"/v1/thresholds/{COUNTY}/2026", headers=OFFICER)
    assert await schedule_tick(screening_app, datetime(2026, 4, 3, 2, tzinfo=UTC)) == []
    [run_id] = await schedule_tick(screening_app, datetime(2026, 4, 5, 2, tzinfo=UTC))
    assert await schedule_tick(screening_app, datetime(2026, 4, 6, 2, tzinfo=UTC)) == []  # once a month
    row = (await session.execute(select(run).where(run.c.id == run_id))).mappings().one()
    assert (row["county_code"], row["period"], row["trigger"], row["status"]) == (
        COUNTY,
        "2026-03",
        "scheduler",
        "succeeded",
    )
    assert row["result"]["leads"] == 1


async def test_the_scheduler_gives_up_on_a_period_after_three_failures(
    session: AsyncSession, screening_app: FastAPI, screening_client: httpx.AsyncClient, clock: Clock
) -> None:
    await screening_client.get(f"/v1/thresholds/{COUNTY}/2026", headers=OFFICER)
    original = screening_app.state.settings.run_work_mem
    screening_app.state.settings.run_work_mem = "1kB"  # every run fails
    try:
        for day in (5, 6, 7):
            [run_id] = await schedule_tick(screening_app, datetime(2026, 4, day, 2, tzinfo=UTC))
            status = (await session.execute(select(run.c.status).where(run.c.id == run_id))).scalar_one()
            assert status == "failed"
        assert await schedule_tick(screening_app, datetime(2026, 4, 8, 2, tzinfo=UTC)) == []
    finally:
        screening_app.state.settings.run_work_mem = original
    # a person can still run the period
    response = await screening_client.post(
        "/v1/runs", json={"county_code": COUNTY, "period": "2026-03"}, headers=OFFICER
    )
    assert response.json()["status"] == "succeeded"


async def test_interrupted_jobs_are_recovered(
    session: AsyncSession, screening_app: FastAPI, screening_client: httpx.AsyncClient, clock: Clock
) -> None:
    await add_household(session, incomes={2025: "12000.00"})
    response = await screening_client.post(
        "/v1/runs", json={"county_code": COUNTY, "period": "2026-03"}, headers=OFFICER
    )
    run_id = uuid.UUID(response.json()["id"])
    # as if the process died while the run was going: its job row stays "running", nobody holds it
    await session.execute(
        update(run)
        .where(run.c.id == run_id)
        .values(status="running", result=None, created_at=datetime.now(UTC) - timedelta(minutes=5))
    )
    await session.commit()
    assert await recover_jobs(screening_app) == 1
    row = (await session.execute(select(run.c.status, run.c.result).where(run.c.id == run_id))).one()
    assert row.status == "succeeded"
    assert row.result["leads"] == 1


# --- the command line -----------------------------------------------------------------------


def test_fangpin_screen_runs_a_county_with_progress(committed_url: str) -> None:
    county = "410699"
    household_id = uuid.uuid4()

    async def setup(clean: bool) -> None:
        engine = create_async_engine(async_database_url(committed_url))
        try:
            async with engine.begin() as conn:
                if clean:
                    for table in ("lead_evidence", "lead", "run", "threshold_version"):
                        await conn.execute(
                            text(
                                f"DELETE FROM screening.{table} WHERE "
                                + (
                                    "lead_id IN (SELECT id FROM screening.lead WHERE county_code = :c)"
                                    if table == "lead_evidence"
                                    else "county_code = :c"
                                )
                            ),
                            {"c": county},
                        )
                    await conn.execute(text("DELETE FROM registry.income WHERE county_code = :c"), {"c": county})
                    await conn.execute(text("DELETE FROM registry.household WHERE county_code = :c"), {"c": county})
                    return
                await conn.execute(
                    text("""INSERT INTO registry.household (id, county_code, township_code, village_code,
                                household_number, status, base_status)
                            VALUES (:id, :c, :t, :v, 'CLI-1', 'ordinary', 'ordinary')"""),
                    {"id": household_id, "c": county, "t": county + "100", "v": county + "100201"},
                )
                await conn.execute(
                    text(
                        "INSERT INTO registry.income (household_id, year, county_code, wage_income) "
                        "VALUES (:id, 2025, :c, 100)"
                    ),
                    {"id": household_id, "c": county},
                )
        finally:
            await engine.dispose()

    asyncio.run(setup(clean=False))
    try:
        runner = CliRunner()
        result = runner.invoke(
            cli, ["screen", "--county", county, "--period", "2026-03"], env={"FANGPIN_DATABASE_URL": committed_url}
        )
        assert result.exit_code == 0, result.output
        assert f"screening {county} 2026-03" in result.output
        assert "1 households, 0 leads" in result.output  # no members: not evaluated
        bad = runner.invoke(
            cli, ["screen", "--county", county, "--period", "2026-13"], env={"FANGPIN_DATABASE_URL": committed_url}
        )
        assert bad.exit_code == 2
        assert "period must be YYYY-MM" in bad.output
    finally:
        asyncio.run(setup(clean=True))

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.screening.conftest import PostFeed, RunScreening, all_leads
from tests.screening.support import COUNTY, add_household, medical
from tests.support.tokens import auth


async def test_thresholds_then_feed_then_run(
    screening_client: httpx.AsyncClient, session: AsyncSession, post_feed: PostFeed, run_screening: RunScreening
) -> None:
    r = await screening_client.get(f"/v1/thresholds/{COUNTY}/2026", headers=auth("county_officer"))
    assert r.status_code == 200, r.text
    assert r.json()["values"]["monitoring_line"] == "6000.00"
    h = await add_household(session, incomes={2025: "30000.00", 2024: "31000.00"}, insured_years=[2026])
    batch = (await post_feed("medical_insurance", [medical("YB-1", h.national_ids[0], "25000.00")])).json()
    assert batch["status"] == "succeeded", batch
    assert batch["counts"]["matched"] == 1, str(batch)
    run = await run_screening()
    leads = await all_leads(screening_client, run["id"])
    assert [lead["household_id"] for lead in leads] == [str(h.id)], run

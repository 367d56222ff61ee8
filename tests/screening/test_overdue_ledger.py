"""Issue 14: `GET /v1/cases?overdue=true` and the ledger's `identification_overdue` are one query
(db/cases_repository.py `OverdueOn`), so they agree for every region and day.

The issue's case: a case whose deadline falls after today but before the month's end was counted
overdue by the ledger of the running month (the ledger compared with the month's last day) and not
listed by the case list (today). The rule now: overdue on day D when opened by D, the stored
deadline is before D, and neither confirmed nor closed by D; the ledger of a month counts as of
its last day, or as of today while the month runs."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import monitoring_case
from tests.screening.support import COUNTY, OTHER_COUNTY_VILLAGE, OTHER_TOWNSHIP_VILLAGE, TOWNSHIP, VILLAGE, Clock
from tests.support.tokens import auth

pytestmark = pytest.mark.usefixtures("clock")  # today: 2026-04-05 (tests/screening/conftest.py)
OFFICER = auth("county_officer", COUNTY)
TOWNSHIP_OFFICER = auth("township_officer", TOWNSHIP)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, tzinfo=UTC)  # 10:00 in China


async def _case(
    session: AsyncSession,
    number: str,
    *,
    deadline: date,
    state: str = "verifying",
    village: str = VILLAGE,
    opened: date = date(2026, 3, 2),
    confirmed: date | None = None,
    closed: date | None = None,
) -> uuid.UUID:
    case_id = uuid.uuid4()
    await session.execute(
        insert(monitoring_case).values(
            id=case_id,
            county_code=village[:6],
            township_code=village[:9],
            village_code=village,
            household_id=uuid.uuid4(),
            household_number=number,
            source="screening",
            state=state,
            risk_codes=["illness"],
            monitoring_type="marginal" if confirmed else None,
            opened_at=_at(opened),
            state_entered_at=_at(opened),
            identification_deadline=deadline,
            confirmed_at=_at(confirmed) if confirmed else None,
            closed_at=_at(closed) if closed else None,
        )
    )
    return case_id


@pytest.fixture
async def cases(session: AsyncSession) -> dict[str, uuid.UUID]:
    made = {
        # past the deadline, still being identified
        "late": await _case(session, "late", deadline=date(2026, 3, 30)),
        "late_notice": await _case(session, "late_notice", deadline=date(2026, 4, 2), state="notice"),
        # the deadline is today: still on time (overdue from the next day)
        "due_today": await _case(session, "due_today", deadline=date(2026, 4, 5), opened=date(2026, 3, 9)),
        # the case: due after today, before the month's end
        "due_later": await _case(session, "due_later", deadline=date(2026, 4, 10), opened=date(2026, 3, 12)),
        # confirmed / rejected before the deadline passed, past it now
        "confirmed": await _case(
            session, "confirmed", deadline=date(2026, 3, 20), state="monitoring", confirmed=date(2026, 3, 18)
        ),
        "rejected": await _case(
            session, "rejected", deadline=date(2026, 3, 20), state="rejected", closed=date(2026, 3, 19)
        ),
        # confirmed late: overdue at the end of March, no longer now
        "confirmed_late": await _case(
            session, "confirmed_late", deadline=date(2026, 3, 25), state="monitoring", confirmed=date(2026, 4, 3)
        ),
        # another township's village of the county, and another county
        "other_township": await _case(
            session, "other_township", deadline=date(2026, 3, 30), village=OTHER_TOWNSHIP_VILLAGE
        ),
        "other_county": await _case(session, "other_county", deadline=date(2026, 3, 30), village=OTHER_COUNTY_VILLAGE),
    }
    await session.commit()
    return made


async def _listed(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/cases", params={"overdue": "true", "limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    return list(page["items"])


async def _ledger_count(client: httpx.AsyncClient, period: str, headers: dict[str, str]) -> int:
    response = await client.get("/v1/ledger", params={"county_code": COUNTY, "period": period}, headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["identification_overdue"])


async def test_the_list_and_the_ledger_of_the_running_month_agree(
    screening_client: httpx.AsyncClient, cases: dict[str, uuid.UUID]
) -> None:
    listed = await _listed(screening_client, OFFICER)
    assert {c["household_number"] for c in listed} == {"late", "late_notice", "other_township"}
    assert all(c["overdue"] is True for c in listed)
    assert await _ledger_count(screening_client, "2026-04", OFFICER) == len(listed) == 3

    township = await _listed(screening_client, TOWNSHIP_OFFICER)
    assert {c["household_number"] for c in township} == {"late", "late_notice"}
    assert await _ledger_count(screening_client, "2026-04", TOWNSHIP_OFFICER) == len(township) == 2


async def test_a_case_due_after_today_is_not_overdue_in_either(
    screening_client: httpx.AsyncClient, cases: dict[str, uuid.UUID]
) -> None:
    for name in ("due_later", "due_today", "confirmed", "rejected", "confirmed_late"):
        read = await screening_client.get(f"/v1/cases/{cases[name]}", headers=OFFICER)
        assert read.status_code == 200, read.text
        assert read.json()["overdue"] is False, name
    late = (await screening_client.get(f"/v1/cases/{cases['late']}", headers=OFFICER)).json()
    assert late["overdue"] is True


async def test_a_past_month_counts_as_of_its_last_day_and_the_list_on_that_day_agrees(
    screening_client: httpx.AsyncClient, cases: dict[str, uuid.UUID], clock: Clock
) -> None:
    # 31 March: late (30 Mar), confirmed_late (25 Mar, confirmed 3 Apr) and the other township's case;
    # late_notice is due 2 April, the confirmed and rejected cases were settled before their deadline.
    march = {"late", "confirmed_late", "other_township"}
    assert await _ledger_count(screening_client, "2026-03", OFFICER) == len(march)
    clock.to_date(date(2026, 3, 31))
    listed = await _listed(screening_client, OFFICER)
    assert {c["household_number"] for c in listed} == march
    assert await _ledger_count(screening_client, "2026-03", OFFICER) == len(listed)


async def test_the_ledger_export_shows_the_same_count(
    screening_client: httpx.AsyncClient, cases: dict[str, uuid.UUID]
) -> None:
    response = await screening_client.get(
        "/v1/ledger/export", params={"county_code": COUNTY, "period": "2026-04", "format": "xlsx"}, headers=OFFICER
    )
    assert response.status_code == 200, response.text
    rows = list(load_workbook(io.BytesIO(response.content))["汇总"].iter_rows(values_only=True))
    assert ("超过认定时限(20个工作日)", None, 3) in [tuple(r) for r in rows]

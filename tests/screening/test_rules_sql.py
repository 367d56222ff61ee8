"""Each risk code of rules.md §1.3 just below, at and above its threshold, through the SQL run
(issue acceptance 1), with the demo thresholds (line 6000, medical 10000, education 8000,
disaster / accident 5000, industry 10000, drop ratio 0.30, illness share 0.5, employment 1.5)."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import feed_record
from tests.screening.conftest import PostFeed, RunScreening, all_leads
from tests.screening.support import VILLAGE, Clock, Household, add_household, record
from tests.support.tokens import auth

pytestmark = pytest.mark.usefixtures("clock")

D = Decimal
DEPARTMENT = {
    "medical_expense": "medical_insurance",
    "education_expense": "education",
    "disaster_loss": "emergency_management",
    "accident": "emergency_management",
    "industry_loss": "agriculture",
    "job_loss": "human_resources",
    "disability_new": "disability_federation",
    "housing_unsafe": "housing",
    "water_unsafe": "water",
}
_ids = itertools.count(1)


def feed(kind: str, amount: str | None = None, *, day: str = "2026-01-15", **extra: Any) -> dict[str, Any]:
    """A record for the household's first member; `amount` is what counts in the window sum."""
    amounts: dict[str, str] = {}
    if kind == "medical_expense" and amount is not None:
        amounts = {"total_cost": str(D(amount) * 2), "basic_insurance": amount, "self_paid": amount}
    elif kind == "education_expense" and amount is not None:
        amounts = {"cost": amount}
    elif amount is not None:
        amounts = {"loss": amount}
    return {"kind": kind, "event_date": day, "amounts": amounts, **extra}


@dataclass
class Case:
    """One household of a scenario: its registry facts and its feed records."""

    name: str
    income: str | None  # the 2025 income; None: no income on file
    members: int = 3
    labour: int = 2
    income_prev: str | None = None
    status: str = "marginal"  # a monitored household is recorded whenever any code fires
    feeds: list[dict[str, Any]] = field(default_factory=list)
    incomes: dict[int, str] | None = None  # instead of income / income_prev: the years on file


async def screen(
    session: AsyncSession,
    post_feed: PostFeed,
    run_screening: RunScreening,
    client: httpx.AsyncClient,
    cases: Sequence[Case],
    registered: dict[str, Household] | None = None,
) -> tuple[dict[str, dict[str, Any] | None], dict[str, Any]]:
    """Register the households, send their records, run March 2026; each case's lead row (or None).

    `registered`, when given, receives each case's registry household."""
    households: dict[str, Household] = registered if registered is not None else {}
    by_department: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in cases:
        incomes: dict[int, str] = {2025: case.income} if case.income is not None else {}
        if case.income_prev is not None:
            incomes[2024] = case.income_prev
        if case.incomes is not None:
            incomes = dict(case.incomes)
        labour = ["normal"] * case.labour + ["none"] * (case.members - case.labour)
        h = await add_household(session, status=case.status, labour=labour, incomes=incomes)
        households[case.name] = h
        for f in case.feeds:
            body = {k: v for k, v in f.items() if k not in ("kind", "event_date")}
            by_department[DEPARTMENT[f["kind"]]].append(
                record(f"R{next(_ids)}", f["kind"], f["event_date"], national_id=h.national_ids[0], **body)
            )
    for department, records in by_department.items():
        batch = (await post_feed(department, records)).json()
        assert batch["counts"]["accepted"] == len(records), batch
    run = await run_screening()
    rows = await all_leads(client, run["id"]) + await all_leads(client, run["id"], routing="case_evidence")
    found = {row["household_id"]: row for row in rows}
    return {name: found.get(str(h.id)) for name, h in households.items()}, run


def codes(row: dict[str, Any] | None) -> set[str]:
    return set(row["codes"]) if row else set()


# (code, [(label, case, fires)]): below, at, above the threshold.
SCENARIOS: list[tuple[str, list[tuple[Case, bool]]]] = [
    (
        "income_low",
        [
            (Case("below", "17999.99"), True),  # I / n < 6000 with n = 3
            (Case("at", "18000.00"), False),
            (Case("above", "18000.01"), False),
        ],
    ),
    (
        "income_drop",
        [
            (Case("below", "70000.01", income_prev="100000.00"), False),  # drop 0.2999999
            (Case("at", "70000.00", income_prev="100000.00"), True),  # drop exactly 0.30
            (Case("above", "69999.99", income_prev="100000.00"), True),
        ],
    ),
    (
        "illness",
        [  # by the warning line (0.5 × I = 30000 stays far)
            (Case("below", "60000.00", feeds=[feed("medical_expense", "9999.99")]), False),
            (Case("at", "60000.00", feeds=[feed("medical_expense", "10000.00")]), True),
            (Case("above", "60000.00", feeds=[feed("medical_expense", "10000.01")]), True),
        ],
    ),
    (
        "illness",
        [  # by the income share: M ≥ 0.5 × I with I = 8000, n = 1
            (Case("below", "8000.00", members=1, labour=1, feeds=[feed("medical_expense", "3999.99")]), False),
            (Case("at", "8000.00", members=1, labour=1, feeds=[feed("medical_expense", "4000.00")]), True),
            (Case("above", "8000.00", members=1, labour=1, feeds=[feed("medical_expense", "4000.01")]), True),
        ],
    ),
    (
        "education",
        [
            (Case("below", "60000.00", feeds=[feed("education_expense", "7999.99")]), False),
            (Case("at", "60000.00", feeds=[feed("education_expense", "8000.00")]), True),
            (Case("above", "60000.00", feeds=[feed("education_expense", "8000.01")]), True),
        ],
    ),
    (
        "disaster",
        [
            (Case("below", "60000.00", feeds=[feed("disaster_loss", "4999.99")]), False),
            (Case("at", "60000.00", feeds=[feed("disaster_loss", "5000.00")]), True),
            (Case("above", "60000.00", feeds=[feed("disaster_loss", "5000.01")]), True),
        ],
    ),
    (
        "accident",
        [
            (Case("below", "60000.00", feeds=[feed("accident", "2000.00"), feed("accident", "2999.99")]), False),
            (Case("at", "60000.00", feeds=[feed("accident", "2000.00"), feed("accident", "3000.00")]), True),
            (Case("above", "60000.00", feeds=[feed("accident", "5000.01")]), True),
        ],
    ),
    (
        "industry_failure",
        [
            (Case("below", "60000.00", feeds=[feed("industry_loss", "9999.99")]), False),
            (Case("at", "60000.00", feeds=[feed("industry_loss", "10000.00")]), True),
            (Case("above", "60000.00", feeds=[feed("industry_loss", "10000.01")]), True),
        ],
    ),
    (
        "unstable_employment",
        [  # a job loss and I / n < 1.5 × 6000 = 9000, n = 1
            (Case("below", "8999.99", members=1, labour=1, feeds=[feed("job_loss")]), True),
            (Case("at", "9000.00", members=1, labour=1, feeds=[feed("job_loss")]), False),
            (Case("above", "9000.01", members=1, labour=1, feeds=[feed("job_loss")]), False),
        ],
    ),
    (
        "unstable_employment",
        [  # the income alone does not fire it
            (Case("below", "8999.99", members=1, labour=1), False),
            (Case("at", "9000.00", members=1, labour=1), False),
            (Case("above", "9000.01", members=1, labour=1), False),
        ],
    ),
    (
        "disability",
        [  # a new disability of grade 1 or 2
            (Case("below", "60000.00", feeds=[feed("disability_new", grade=3)]), False),
            (Case("at", "60000.00", feeds=[feed("disability_new", grade=2)]), True),
            (Case("above", "60000.00", feeds=[feed("disability_new", grade=1)]), True),
        ],
    ),
    (
        "lack_of_labour",
        [  # no member able to work
            (Case("below", "60000.00", labour=0), True),
            (Case("at", "60000.00", labour=1), False),
            (Case("above", "60000.00", labour=3), False),
        ],
    ),
    (
        "housing",
        [
            (Case("below", "60000.00", feeds=[feed("housing_unsafe", day="2025-03-31")]), False),  # before the window
            (Case("at", "60000.00", feeds=[feed("housing_unsafe", day="2025-04-01")]), True),  # its first day
            (Case("above", "60000.00", feeds=[feed("housing_unsafe", day="2026-03-31")]), True),  # its last day
        ],
    ),
    (
        "water",
        [
            (Case("below", "60000.00"), False),
            (Case("at", "60000.00", feeds=[feed("water_unsafe", day="2025-04-01")]), True),
            (Case("above", "60000.00", feeds=[feed("water_unsafe", day="2026-03-31")]), True),
        ],
    ),
]


@pytest.mark.parametrize(("code", "cases"), SCENARIOS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(SCENARIOS)])
async def test_each_code_below_at_and_above_its_threshold(
    session: AsyncSession,
    post_feed: PostFeed,
    run_screening: RunScreening,
    screening_client: httpx.AsyncClient,
    code: str,
    cases: list[tuple[Case, bool]],
) -> None:
    found, _ = await screen(session, post_feed, run_screening, screening_client, [c for c, _ in cases])
    for case, fires in cases:
        assert (code in codes(found[case.name])) is fires, (case.name, found[case.name])
        if fires:
            row = found[case.name]
            assert row is not None
            assert code in row["figures"], row["figures"]


async def test_window_sums_add_records_and_skip_those_outside(
    session: AsyncSession, post_feed: PostFeed, run_screening: RunScreening, screening_client: httpx.AsyncClient
) -> None:
    cases = [
        Case(
            "inside",
            "60000.00",
            feeds=[
                feed("medical_expense", "6000.00", day="2025-04-01"),
                feed("medical_expense", "4000.00", day="2026-03-31"),
            ],
        ),
        Case(
            "one_outside",
            "60000.00",
            feeds=[
                feed("medical_expense", "6000.00", day="2025-03-31"),
                feed("medical_expense", "4000.00", day="2026-03-31"),
            ],
        ),
        Case(
            "after_window",
            "60000.00",
            feeds=[
                feed("medical_expense", "6000.00", day="2026-04-01"),
                feed("medical_expense", "4000.00", day="2026-03-31"),
            ],
        ),
    ]
    found, _ = await screen(session, post_feed, run_screening, screening_client, cases)
    assert "illness" in codes(found["inside"])
    assert found["inside"] is not None
    assert found["inside"]["figures"]["illness"]["medical_self_pay"] == "10000.00"
    assert found["one_outside"] is None
    assert found["after_window"] is None


@pytest.mark.parametrize(
    ("medical", "is_lead"),
    [("8000.01", True), ("8000.00", False), ("7999.99", False)],  # I_adj = 20000 − M against 6000 × 2
)
async def test_the_lead_decision_at_the_adjusted_income_line(
    session: AsyncSession,
    post_feed: PostFeed,
    run_screening: RunScreening,
    screening_client: httpx.AsyncClient,
    medical: str,
    is_lead: bool,
) -> None:
    case = Case("h", "20000.00", members=2, labour=2, status="ordinary", feeds=[feed("medical_expense", medical)])
    found, run = await screen(session, post_feed, run_screening, screening_client, [case])
    row = found["h"]
    assert (row is not None) is is_lead
    assert run["result"]["leads"] == (1 if is_lead else 0)
    if row is not None:
        assert row["routing"] == "new_lead"
        assert row["is_lead"] is True
        assert row["lead_basis"] == ["adjusted_income_below_line"]
        assert row["adjusted_income"] == str(D("20000.00") - D(medical))
        assert row["adjusted_per_capita"] == "5999.99"
        assert row["suggested_type"] == "sudden_hardship"  # I / n = 10000 ≥ 6000, not lifted out


async def test_housing_or_water_make_a_lead_whatever_the_income(
    session: AsyncSession, post_feed: PostFeed, run_screening: RunScreening, screening_client: httpx.AsyncClient
) -> None:
    cases = [
        Case("house", "90000.00", status="ordinary", feeds=[feed("housing_unsafe")]),
        Case("water", "90000.00", status="lifted_out", feeds=[feed("water_unsafe")]),
    ]
    found, _ = await screen(session, post_feed, run_screening, screening_client, cases)
    assert found["house"] is not None
    assert found["house"]["lead_basis"] == ["housing"]
    assert found["house"]["suggested_type"] == "sudden_hardship"
    assert found["water"] is not None
    assert found["water"]["lead_basis"] == ["water"]
    assert found["water"]["suggested_type"] == "unstable"  # lifted_out → unstable


async def test_suggested_type_marginal_when_income_is_below_the_line(
    session: AsyncSession, post_feed: PostFeed, run_screening: RunScreening, screening_client: httpx.AsyncClient
) -> None:
    found, _ = await screen(
        session, post_feed, run_screening, screening_client, [Case("poor", "15000.00", status="ordinary")]
    )
    row = found["poor"]
    assert row is not None
    assert row["codes"] == ["income_low"]
    assert row["suggested_type"] == "marginal"
    assert row["per_capita_income"] == "5000.00"


async def test_a_lead_names_the_feed_records_and_batches_behind_each_code(
    session: AsyncSession, post_feed: PostFeed, run_screening: RunScreening, screening_client: httpx.AsyncClient
) -> None:
    case = Case(
        "h",
        "12000.00",
        members=2,
        labour=0,
        status="ordinary",
        feeds=[
            feed("medical_expense", "6000.00"),
            feed("medical_expense", "5000.00"),
            feed("accident", "5000.00"),
            feed("disability_new", grade=4),
            feed("disability_new", grade=1),
            feed("water_unsafe"),
        ],
    )
    found, run = await screen(session, post_feed, run_screening, screening_client, [case])
    row = found["h"]
    assert row is not None
    assert row["codes"] == ["illness", "accident", "disability", "lack_of_labour", "water"]
    records = (
        await session.execute(select(feed_record.c.id, feed_record.c.kind, feed_record.c.batch_id, feed_record.c.grade))
    ).all()
    expected = set()
    for record_id, kind, batch_id, grade in records:
        code = {
            "medical_expense": "illness",
            "accident": "accident",
            "disability_new": "disability",
            "water_unsafe": "water",
        }[kind]
        if kind == "disability_new" and grade > 2:
            continue  # a grade-4 record is not why disability fired
        expected.add((code, str(record_id), str(batch_id)))
    assert {(e["code"], e["feed_record_id"], e["batch_id"]) for e in row["evidence"]} == expected
    detail = await screening_client.get(
        f"/v1/runs/{run['id']}/leads/{row['id']}", headers={"Authorization": "Bearer x"}
    )
    assert detail.status_code == 401
    assert uuid.UUID(row["id"])
    assert row["figures"]["illness"]["medical_self_pay"] == "11000.00"
    assert row["figures"]["lead"]["adjusted_income"] == str(D("12000.00") - D("16000.00"))


# --- rules.md §1.3 "Precisely" ------------------------------------------------------------------


async def test_no_income_on_file_housing_and_water_still_make_a_lead(
    session: AsyncSession, post_feed: PostFeed, run_screening: RunScreening, screening_client: httpx.AsyncClient
) -> None:
    """No income: the income-based codes and the I_adj condition are not evaluated, every other code is."""
    cases = [
        Case("house", None, status="ordinary", feeds=[feed("housing_unsafe")]),
        Case("water", None, status="lifted_out", feeds=[feed("water_unsafe")]),
        Case("nothing", None, status="ordinary"),  # no code: not a lead, listed as no income on file
        Case("poor_losses", None, status="ordinary", feeds=[feed("disaster_loss", "90000.00")]),  # no I_adj test
        Case(
            "monitored",
            None,
            status="marginal",
            labour=0,
            feeds=[
                feed("medical_expense", "9999.99"),  # below the line; by income share it is not evaluated
                feed("job_loss"),  # unstable_employment needs I
                feed("education_expense", "8000.00"),
            ],
        ),
        Case("illness_line", None, status="marginal", feeds=[feed("medical_expense", "10000.00")]),
    ]
    registered: dict[str, Household] = {}
    found, run = await screen(session, post_feed, run_screening, screening_client, cases, registered)
    house = found["house"]
    assert house is not None
    assert house["codes"] == ["housing"]
    assert house["lead_basis"] == ["housing"]
    assert house["routing"] == "new_lead"
    assert house["income"] is None
    assert house["adjusted_income"] is None
    assert house["per_capita_income"] is None
    assert house["suggested_type"] == "sudden_hardship"
    assert house["figures"]["lead"]["income_on_file"] is False
    water = found["water"]
    assert water is not None
    assert water["codes"] == ["water"]
    assert water["suggested_type"] == "unstable"
    assert found["nothing"] is None
    assert found["poor_losses"] is None  # disaster fires, but an ordinary household is a lead only by I_adj/housing
    monitored = found["monitored"]
    assert monitored is not None
    assert set(monitored["codes"]) == {"education", "lack_of_labour"}
    assert monitored["is_lead"] is False
    assert codes(found["illness_line"]) == {"illness"}
    result = run["result"]
    assert result["leads"] == 2
    assert result["evaluated"] == 6
    assert result["not_evaluated"] == {"no_members": 0}
    assert result["data_quality"]["no_income"] == 6
    assert result["data_quality"]["no_income_by_village"] == {VILLAGE: 6}
    listed: list[dict[str, Any]] = []
    cursor = None
    while True:  # paginated, two a page
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await screening_client.get(
            f"/v1/runs/{run['id']}/data-quality/no-income", params=query, headers=auth("county_officer")
        )
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        listed += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(listed) == 6
    assert {item["household_id"] for item in listed} == {str(h.id) for h in registered.values()}
    assert {item["household_number"] for item in listed} == {h.number for h in registered.values()}
    assert all(item["village_code"] == VILLAGE and item["issue"] == "no_income_on_file" for item in listed)
    other = await screening_client.get(
        f"/v1/runs/{run['id']}/data-quality/no-income",
        params={"village_code": "410602100299"},
        headers=auth("county_officer"),
    )
    assert other.status_code == 200
    assert other.json()["items"] == []
    bad = await screening_client.get(
        f"/v1/runs/{run['id']}/data-quality/no-income", params={"cursor": "nonsense"}, headers=auth("county_officer")
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    ("incomes", "want_income", "want_prev", "drop"),
    [
        ({2025: "12000.00", 2027: "90000.00"}, "12000.00", None, False),  # a later year is not seen by 2026-03
        ({2026: "10000.00", 2025: "20000.00"}, "10000.00", "20000.00", True),  # P's own year counts
        ({2025: "10000.00", 2023: "90000.00"}, "10000.00", None, False),  # I_prev is the year just before I's
        ({2024: "60000.00", 2025: "42000.00", 2026: "41000.00", 2027: "1.00"}, "41000.00", "42000.00", False),
    ],
)
async def test_income_is_the_latest_year_up_to_the_periods_year(
    session: AsyncSession,
    post_feed: PostFeed,
    run_screening: RunScreening,
    screening_client: httpx.AsyncClient,
    incomes: dict[int, str],
    want_income: str,
    want_prev: str | None,
    drop: bool,
) -> None:
    case = Case("h", None, status="marginal", labour=0, incomes=incomes)  # lack_of_labour: always recorded
    found, _ = await screen(session, post_feed, run_screening, screening_client, [case])
    row = found["h"]
    assert row is not None
    assert (row["income"], row["income_prev"]) == (want_income, want_prev)
    assert row["income_year"] == max(y for y in incomes if y <= 2026)
    assert ("income_drop" in row["codes"]) is drop


@pytest.mark.parametrize(
    ("income", "medical", "fires"),
    [("-100.00", None, False), ("0.00", None, False), ("0.00", "0.01", True), ("-100.00", "0.01", True)],
)
async def test_illness_by_income_share_needs_some_medical_self_pay(
    session: AsyncSession,
    post_feed: PostFeed,
    run_screening: RunScreening,
    screening_client: httpx.AsyncClient,
    income: str,
    medical: str | None,
    fires: bool,
) -> None:
    feeds = [feed("medical_expense", medical)] if medical else []
    case = Case("h", income, members=1, labour=1, status="marginal", feeds=feeds)
    found, _ = await screen(session, post_feed, run_screening, screening_client, [case])
    assert ("illness" in codes(found["h"])) is fires, found["h"]


async def test_a_past_period_rerun_after_newer_incomes_and_feeds_gives_the_first_runs_leads(
    session: AsyncSession,
    post_feed: PostFeed,
    run_screening: RunScreening,
    screening_client: httpx.AsyncClient,
    clock: Clock,
) -> None:
    cases = [
        Case("low", "12000.00", status="ordinary"),  # a lead by income; a 2026 income of 90000 comes later
        Case("fine", "90000.00", status="ordinary"),  # a later medical record and a 2026 drop must not count
        Case("none", None, status="ordinary", feeds=[feed("housing_unsafe")]),  # income registered later
        Case("watched", "30000.00", status="marginal", feeds=[feed("medical_expense", "6000.00")]),
    ]
    registered: dict[str, Household] = {}
    found, first = await screen(session, post_feed, run_screening, screening_client, cases, registered)
    assert found["low"] is not None
    assert found["fine"] is None
    assert found["none"] is not None
    before = await _run_rows(screening_client, first["id"])

    clock.advance(days=40)  # May 2026: the registry and the departments keep registering
    by_name = {name: h.id for name, h in registered.items()}
    for name, year, net in (("low", 2026, "90000.00"), ("fine", 2026, "10000.00"), ("none", 2026, "5000.00"),
                            ("none", 2025, "5000.00"), ("watched", 2026, "1000.00")):  # fmt: skip
        await session.execute(
            text(
                "INSERT INTO registry.income (household_id, year, county_code, wage_income, created_at) "
                "VALUES (:h, :y, '410602', :w, clock_timestamp())"
            ),
            {"h": by_name[name], "y": year, "w": D(net)},
        )
    # (the test's statements share one transaction, so its rows are stamped by the clock, as separate
    # registry transactions would be)
    await session.execute(  # a correction of a year the first run used
        text("UPDATE registry.income SET wage_income = 1, updated_at = now() WHERE household_id = :h AND year = 2025"),
        {"h": by_name["watched"]},
    )
    await session.commit()
    # records dated inside March's window, received after its first run
    late = [feed("medical_expense", "20000.00", day="2026-03-20"), feed("water_unsafe", day="2026-03-01")]
    nids = [registered["fine"].national_ids[0], registered["watched"].national_ids[0]]
    for nid, f in zip(nids, late, strict=True):
        body = {k: v for k, v in f.items() if k not in ("kind", "event_date")}
        department = DEPARTMENT[f["kind"]]
        batch = (await post_feed(department, [record(f"L{next(_ids)}", f["kind"], f["event_date"], national_id=nid,
                                                     **body)])).json()  # fmt: skip
        assert batch["counts"]["accepted"] == 1, batch

    again = await run_screening()
    assert again["version"] == 2
    after = await _run_rows(screening_client, again["id"])
    assert after == before
    for key in ("leads", "case_evidence", "leads_by_code", "leads_by_township", "evaluated", "data_quality"):
        assert again["result"][key] == first["result"][key], key
    assert again["result"]["data_as_of"] == first["result"]["data_as_of"]

    clock.advance(days=1)  # the next period sees what came since
    april = await run_screening("2026-04")
    later = {row["household_id"]: row for row in await _run_rows(screening_client, april["id"], raw=True)}
    assert str(by_name["fine"]) in later  # the late medical record and the 2026 income of 10000
    assert str(by_name["low"]) not in later  # 2026 income 90000


async def _run_rows(client: httpx.AsyncClient, run_id: str, *, raw: bool = False) -> list[dict[str, Any]]:
    rows = await all_leads(client, run_id) + await all_leads(client, run_id, routing="case_evidence")
    if raw:
        return rows
    keep = (
        "household_id", "codes", "figures", "lead_basis", "is_lead", "suggested_type", "income", "income_prev",
        "income_year", "adjusted_income", "per_capita_income", "adjusted_per_capita", "routing", "rank",
    )  # fmt: skip
    return sorted(
        ({k: r[k] for k in keep} | {"evidence": sorted(e["feed_record_id"] for e in r["evidence"])} for r in rows),
        key=lambda r: r["household_id"],
    )

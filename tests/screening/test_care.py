"""兜底保障 over HTTP against the real database (rules.md §4; issue 13, acceptance 3): the suggestions for
the county equal a plain query over the register written here; every placement rule refuses with a
named 409; overdue monthly visits of home placements are listed."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.screening.support import COUNTY, OTHER_COUNTY_VILLAGE, TOWNSHIP, VILLAGE, Clock, add_household
from tests.support.tokens import auth

OFFICER = auth("county_officer", COUNTY)
CADRE = auth("village_cadre", VILLAGE)
OUTSIDER = auth("village_cadre", OTHER_COUNTY_VILLAGE)
TODAY = date(2026, 4, 5)  # the screening clock of tests/screening/conftest.py

PLAIN = """
SELECT m.id FROM registry.member m JOIN registry.household h ON h.id = m.household_id
 WHERE h.county_code = :county AND m.active AND h.archived_at IS NULL
   AND h.status IN ('lifted_out', 'unstable', 'marginal', 'sudden_hardship')
   AND ((m.labour_ability = 'none' AND m.birth_date <= DATE '1966-04-05')
        OR m.disability_grade IN (1, 2) OR m.health = 'serious_illness')
"""


async def set_member(session: AsyncSession, member_id: uuid.UUID, **values: Any) -> None:
    sets = ", ".join(f"{k} = :{k}" for k in values)
    await session.execute(text(f"UPDATE registry.member SET {sets} WHERE id = :id"), {**values, "id": member_id})


async def register(session: AsyncSession) -> dict[str, Any]:
    poor = await add_household(session, status="lifted_out", labour=("none", "normal", "normal", "none"))
    await set_member(session, poor.member_ids[0], birth_date=date(1950, 3, 1))  # 76, no labour
    await set_member(session, poor.member_ids[1], disability_grade=2, health="disabled")
    await set_member(session, poor.member_ids[2], disability_grade=3, health="disabled")  # grade 3: not severe
    await set_member(session, poor.member_ids[3], birth_date=date(1966, 4, 6))  # 59 tomorrow … 60 tomorrow
    monitored = await add_household(session, status="marginal", labour=("normal", "normal", "weak"))
    await set_member(session, monitored.member_ids[0], health="serious_illness")
    await set_member(session, monitored.member_ids[1], birth_date=date(1940, 1, 1))  # old, but able to work
    ordinary = await add_household(session, labour=("none",))
    await set_member(session, ordinary.member_ids[0], birth_date=date(1945, 5, 5))  # not a poor household
    far = await add_household(session, village=OTHER_COUNTY_VILLAGE, status="lifted_out", labour=("none",))
    await set_member(session, far.member_ids[0], birth_date=date(1945, 5, 5))
    return {"poor": poor, "monitored": monitored, "ordinary": ordinary, "far": far}


async def suggested(client: httpx.AsyncClient, headers: dict[str, str] = OFFICER) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"county_code": COUNTY, "limit": 1, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/v1/care/suggestions", params=params, headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return items


async def confirm(client: httpx.AsyncClient, household: Any, index: int, group: str) -> httpx.Response:
    body = {"household_id": str(household.id), "member_id": str(household.member_ids[index]), "care_group": group}
    return await client.post("/v1/care/subjects", json=body, headers=OFFICER)


async def test_suggestions_equal_a_plain_query_over_the_register(
    screening_client: httpx.AsyncClient, session: AsyncSession, clock: Clock
) -> None:
    world = await register(session)
    items = await suggested(screening_client)
    expected = {str(r[0]) for r in await session.execute(text(PLAIN), {"county": COUNTY})}
    assert {i["member_id"] for i in items} == expected
    poor, monitored = world["poor"], world["monitored"]
    assert expected == {str(poor.member_ids[0]), str(poor.member_ids[1]), str(monitored.member_ids[0])}
    by_member = {i["member_id"]: i for i in items}
    assert by_member[str(poor.member_ids[0])]["groups"] == ["elderly_no_labour"]
    assert by_member[str(poor.member_ids[0])]["age"] == 76
    assert by_member[str(poor.member_ids[1])]["groups"] == ["severe_disability"]
    assert by_member[str(monitored.member_ids[0])]["group_labels"] == ["重病患者"]

    clock.to_date(date(2026, 4, 6))  # the member born 1966-04-06 turns 60
    assert str(poor.member_ids[3]) in {i["member_id"] for i in await suggested(screening_client)}
    clock.to_date(TODAY)

    # confirmed members leave the list; a group the register does not give is refused
    made = await confirm(screening_client, poor, 0, "elderly_no_labour")
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "confirmed"
    assert made.json()["care_group_label"] == "无劳动能力的贫困老年人"
    again = await confirm(screening_client, poor, 0, "elderly_no_labour")
    assert again.status_code == 409
    assert again.json()["code"] == "care_subject_exists"
    wrong = await confirm(screening_client, poor, 2, "severe_disability")
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "care_group_not_met"
    assert str(poor.member_ids[0]) not in {i["member_id"] for i in await suggested(screening_client)}

    # an officer confirms: a village cadre may not
    cadre = await screening_client.post(
        "/v1/care/subjects",
        json={"household_id": str(poor.id), "member_id": str(poor.member_ids[1]), "care_group": "severe_disability"},
        headers=CADRE,
    )
    assert cadre.status_code == 403

    # scope
    cadre_items = await suggested(screening_client, CADRE)
    assert {i["village_code"] for i in cadre_items} == {VILLAGE}
    assert (
        await screening_client.get("/v1/care/suggestions", params={"county_code": COUNTY}, headers=OUTSIDER)
    ).status_code == 404
    assert (await screening_client.get(f"/v1/care/subjects/{made.json()['id']}", headers=OUTSIDER)).status_code == 404
    far = world["far"]
    outside = await screening_client.post(
        "/v1/care/subjects",
        json={"household_id": str(far.id), "member_id": str(far.member_ids[0]), "care_group": "elderly_no_labour"},
        headers=OFFICER,
    )
    assert outside.status_code == 404


async def test_every_placement_rule_refuses_with_a_named_409_and_overdue_visits_are_listed(
    screening_client: httpx.AsyncClient, session: AsyncSession, clock: Clock
) -> None:
    world = await register(session)
    poor, monitored = world["poor"], world["monitored"]
    elderly = (await confirm(screening_client, poor, 0, "elderly_no_labour")).json()
    disabled = (await confirm(screening_client, poor, 1, "severe_disability")).json()
    ill = (await confirm(screening_client, monitored, 0, "serious_illness")).json()

    async def institution(kind: str, carers: int) -> str:
        r = await screening_client.post(
            "/v1/care/institutions",
            json={"region_code": TOWNSHIP, "name": f"{kind}-{carers}", "kind": kind, "carers": carers},
            headers=OFFICER,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    home, hospital, empty = (
        await institution("care_home", 1),
        await institution("hospital", 0),
        await institution("care_home", 0),
    )

    async def place(subject: dict[str, Any], **body: Any) -> httpx.Response:
        return await screening_client.post(
            f"/v1/care/subjects/{subject['id']}/placement", json={"placed_on": "2026-02-20", **body}, headers=OFFICER
        )

    async def refused(response: httpx.Response, code: str) -> None:
        assert response.status_code == 409, response.text
        assert response.json()["code"] == code

    await refused(await place(elderly, placement="institutional", institution_id=hospital), "institution_kind_mismatch")
    await refused(await place(ill, placement="treatment", institution_id=home), "institution_kind_mismatch")
    await refused(await place(elderly, placement="institutional", institution_id=empty), "carer_ratio_exceeded")
    await refused(await place(disabled, placement="home", guardian_name="王建国"), "guardian_agreement_required")
    late = await place(
        disabled, placement="home", guardian_name="王建国", agreement_ref="协议-1", agreement_signed_on="2026-02-21"
    )
    await refused(late, "guardian_agreement_required")
    assert (await place(elderly, placement="institutional")).status_code == 422  # no institution named
    assert (await place(elderly, placement="institutional", institution_id=str(uuid.uuid4()))).status_code == 404
    future = await place(elderly, placement="institutional", institution_id=home, placed_on="2026-05-01")
    assert future.status_code == 422

    placed = await place(elderly, placement="institutional", institution_id=home)
    assert placed.status_code == 200, placed.text
    assert placed.json()["status"] == "placed"
    await refused(await place(elderly, placement="institutional", institution_id=home), "care_already_placed")
    treated = await place(ill, placement="treatment", institution_id=hospital)
    assert treated.status_code == 200
    at_home = await place(
        disabled, placement="home", guardian_name="王建国", agreement_ref="托养协议-1", agreement_signed_on="2026-02-19"
    )
    assert at_home.status_code == 200, at_home.text
    assert at_home.json()["next_visit_due"] == "2026-03-20"
    assert at_home.json()["visit_overdue"] is True
    one_carer = (await screening_client.get(f"/v1/care/institutions/{home}", headers=OFFICER)).json()
    assert (one_carer["residents"], one_carer["carers"]) == (1, 1)

    # visits: home placements only; the overdue list follows the last visit
    await refused(
        await screening_client.post(
            f"/v1/care/subjects/{elderly['id']}/visits",
            json={"visit_date": "2026-04-01", "visitor": "村支书"},
            headers=CADRE,
        ),
        "visit_not_home_placement",
    )
    overdue = await screening_client.get("/v1/care/overdue-visits", params={"county_code": COUNTY}, headers=OFFICER)
    assert overdue.status_code == 200
    assert [(i["subject_id"], i["next_visit_due"], i["last_visit"]) for i in overdue.json()["items"]] == [
        (disabled["id"], "2026-03-20", None)
    ]
    expected = [
        str(r[0])
        for r in await session.execute(
            text(
                "SELECT s.id FROM screening.care_subject s WHERE s.county_code = :c AND s.placement = 'home' "
                "AND s.status = 'placed' AND coalesce((SELECT max(v.visit_date) FROM screening.care_visit v "
                "WHERE v.subject_id = s.id), s.placed_on) + interval '1 month' < DATE '2026-04-05'"
            ),
            {"c": COUNTY},
        )
    ]
    assert [i["subject_id"] for i in overdue.json()["items"]] == expected
    for bad in ("2026-04-06", "2026-02-19"):
        r = await screening_client.post(
            f"/v1/care/subjects/{disabled['id']}/visits", json={"visit_date": bad, "visitor": "村支书"}, headers=CADRE
        )
        assert r.status_code == 422, bad
    visited = await screening_client.post(
        f"/v1/care/subjects/{disabled['id']}/visits",
        json={"visit_date": "2026-04-01", "visitor": "村支书", "findings": "监护到位"},
        headers=CADRE,
    )
    assert visited.status_code == 201, visited.text
    assert visited.json()["next_visit_due"] == "2026-05-01"
    assert visited.json()["visit_overdue"] is False
    assert [v["findings"] for v in visited.json()["visits"]] == ["监护到位"]
    assert (
        await screening_client.get("/v1/care/overdue-visits", params={"county_code": COUNTY}, headers=OFFICER)
    ).json()["items"] == []
    clock.to_date(date(2026, 5, 2))
    later = await screening_client.get("/v1/care/overdue-visits", params={"county_code": COUNTY}, headers=CADRE)
    assert [i["last_visit"] for i in later.json()["items"]] == ["2026-04-01"]
    clock.to_date(TODAY)

    actions = [
        r[0]
        for r in await session.execute(
            text("SELECT action FROM audit.audit_log WHERE action LIKE 'screening.care_%' ORDER BY id")
        )
    ]
    assert actions.count("screening.care_subject.confirmed") == 3
    assert actions.count("screening.care_subject.placed") == 3
    assert actions.count("screening.care_visit.recorded") == 1
    assert actions.count("screening.care_institution.created") == 3

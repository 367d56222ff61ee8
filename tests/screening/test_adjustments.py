"""两类户动态调整 (issue 13, acceptance 4): a village's list of a month equals the cases confirmed,
eliminated or changed in type in it (a plain query over cases on both sides of the month's bounds, in
two villages), exports as XLSX with Chinese headers and region names; the settlement (submit, approve,
return) with its 409s, 404 out of scope and 422 for a bad month; the overdue list before and after the
due day; the type-change step of the case workflow and its registry message."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import case_transition, monitoring_case, outbox
from tests.screening.support import (
    COUNTY,
    OTHER_COUNTY_VILLAGE,
    OTHER_TOWNSHIP_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    Clock,
    add_household,
)
from tests.support.tokens import auth

OFFICER = auth("county_officer", COUNTY)
TOWNSHIP_OFFICER = auth("township_officer", TOWNSHIP)
CADRE = auth("village_cadre", VILLAGE)
OTHER_CADRE = auth("village_cadre", OTHER_TOWNSHIP_VILLAGE)
OTHER_TOWNSHIP_OFFICER = auth("township_officer", OTHER_TOWNSHIP_VILLAGE[:9])
ZONE = "Asia/Shanghai"  # the test clock's county zone (FANGPIN_TIMEZONE default)

# instants around March 2026 in China (UTC+8)
BEFORE_MARCH = datetime(2026, 2, 28, 15, 30, tzinfo=UTC)  # 2026-02-28 23:30 in China: February
MARCH_FIRST = datetime(2026, 2, 28, 16, 30, tzinfo=UTC)  # 2026-03-01 00:30 in China: March
MARCH_MID = datetime(2026, 3, 15, 2, tzinfo=UTC)
MARCH_LAST = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)  # 2026-03-31 23:30 in China: March
AFTER_MARCH = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)  # 2026-04-01 00:30 in China: April


async def _regions(session: AsyncSession) -> None:
    rows = [
        (f"{COUNTY}000000", "文峰区", "county", None, COUNTY),
        (f"{TOWNSHIP}000", "东风镇", "township", f"{COUNTY}000000", TOWNSHIP),
        (VILLAGE, "杨庄村", "village", f"{TOWNSHIP}000", VILLAGE),
        (f"{OTHER_TOWNSHIP_VILLAGE[:9]}000", "西河乡", "township", f"{COUNTY}000000", OTHER_TOWNSHIP_VILLAGE[:9]),
        (OTHER_TOWNSHIP_VILLAGE, "李庄村", "village", f"{OTHER_TOWNSHIP_VILLAGE[:9]}000", OTHER_TOWNSHIP_VILLAGE),
    ]
    for code, name, level, parent, prefix in rows:
        await session.execute(
            text(
                "INSERT INTO registry.region (code, name, level, parent_code, prefix, county_code) "
                "VALUES (:code, :name, :level, :parent, :prefix, :county) ON CONFLICT (code) DO NOTHING"
            ),
            {"code": code, "name": name, "level": level, "parent": parent, "prefix": prefix, "county": COUNTY},
        )


async def _transition(
    session: AsyncSession,
    case_id: uuid.UUID,
    seq: int,
    action: str,
    at: datetime,
    *,
    from_state: str = "township_reviewed",
    to_state: str = "confirmed",
    comment: str | None = None,
    evidence: dict[str, Any] | None = None,
    county: str = COUNTY,
) -> None:
    await session.execute(
        insert(case_transition).values(
            id=uuid.uuid4(),
            case_id=case_id,
            county_code=county,
            seq=seq,
            action=action,
            from_state=from_state,
            to_state=to_state,
            actor_sub="test",
            actor_role="county_officer",
            actor_region=COUNTY,
            at=at,
            comment=comment,
            evidence=evidence or {},
        )
    )


async def _case(
    session: AsyncSession,
    number: str,
    *,
    village: str = VILLAGE,
    confirmed: datetime | None = None,
    eliminated: datetime | None = None,
    type_changes: tuple[tuple[datetime, str, str], ...] = (),
    monitoring_type: str = "marginal",
) -> uuid.UUID:
    case_id = uuid.uuid4()
    opened = datetime(2026, 1, 5, 2, tzinfo=UTC)
    await session.execute(
        insert(monitoring_case).values(
            id=case_id,
            county_code=village[:6],
            township_code=village[:9],
            village_code=village,
            household_id=uuid.uuid4(),
            household_number=number,
            source="screening",
            state="eliminated" if eliminated else "monitoring",
            risk_codes=["illness"],
            monitoring_type=monitoring_type,
            elimination_kind="assisted" if eliminated else None,
            opened_at=opened,
            state_entered_at=opened,
            identification_deadline=date(2026, 2, 2),
            confirmed_at=confirmed,
            eliminated_at=eliminated,
            closed_at=eliminated,
        )
    )
    seq = 1
    if confirmed:
        first_type = type_changes[0][1] if type_changes else monitoring_type
        await _transition(
            session,
            case_id,
            seq,
            "confirm",
            confirmed,
            comment=f"{number} 县级认定",
            evidence={"monitoring_type": first_type},
            county=village[:6],
        )
        seq += 1
    for at, before, after in type_changes:
        await _transition(
            session,
            case_id,
            seq,
            "change_type",
            at,
            from_state="monitoring",
            to_state="monitoring",
            evidence={"monitoring_type": after, "previous_type": before, "reason": f"{number} 类型变更"},
        )
        seq += 1
    if eliminated:
        await _transition(
            session,
            case_id,
            seq,
            "propose_elimination",
            eliminated,
            from_state="monitoring",
            to_state="elimination_proposed",
            evidence={"elimination_kind": "assisted", "home_visit_findings": f"{number} 收入稳定"},
        )
        await _transition(
            session,
            case_id,
            seq + 1,
            "eliminate",
            eliminated,
            from_state="elimination_township_reviewed",
            to_state="eliminated",
        )
    return case_id


@pytest.fixture
async def cases(session: AsyncSession) -> dict[str, uuid.UUID]:
    await _regions(session)
    made: dict[str, uuid.UUID] = {}
    for village, tag in ((VILLAGE, "a"), (OTHER_TOWNSHIP_VILLAGE, "b")):
        made |= {
            f"{tag}-feb": await _case(session, f"{tag}-feb", village=village, confirmed=BEFORE_MARCH),
            f"{tag}-first": await _case(session, f"{tag}-first", village=village, confirmed=MARCH_FIRST),
            f"{tag}-last": await _case(session, f"{tag}-last", village=village, confirmed=MARCH_LAST),
            f"{tag}-apr": await _case(session, f"{tag}-apr", village=village, confirmed=AFTER_MARCH),
            # confirmed before March, eliminated in it; and one eliminated just after it
            f"{tag}-elim": await _case(
                session, f"{tag}-elim", village=village, confirmed=BEFORE_MARCH, eliminated=MARCH_MID
            ),
            f"{tag}-elim-apr": await _case(
                session, f"{tag}-elim-apr", village=village, confirmed=BEFORE_MARCH, eliminated=AFTER_MARCH
            ),
            # a type change in March, one in February and one in April
            f"{tag}-type": await _case(
                session,
                f"{tag}-type",
                village=village,
                confirmed=BEFORE_MARCH,
                monitoring_type="unstable",
                type_changes=(
                    (datetime(2026, 2, 10, 2, tzinfo=UTC), "marginal", "sudden_hardship"),
                    (MARCH_LAST, "sudden_hardship", "unstable"),
                    (AFTER_MARCH, "unstable", "marginal"),
                ),
            ),
            # confirmed in March and changed in type in March: two lines
            f"{tag}-both": await _case(
                session,
                f"{tag}-both",
                village=village,
                confirmed=MARCH_FIRST,
                monitoring_type="unstable",
                type_changes=((MARCH_MID, "marginal", "unstable"),),
            ),
        }
    await _case(session, "c-other-county", village=OTHER_COUNTY_VILLAGE, confirmed=MARCH_MID)
    return made


async def _expected(session: AsyncSession, village: str, first: str, last: str) -> set[tuple[str, uuid.UUID]]:
    """The plain query: cases of the village confirmed, eliminated or changed in type in the month."""
    rows = await session.execute(
        text(
            """
            SELECT 'confirmed', id FROM screening.monitoring_case
             WHERE village_code = :village AND confirmed_at >= (:first)::date::timestamp AT TIME ZONE :tz
               AND confirmed_at < ((:last)::date + 1)::timestamp AT TIME ZONE :tz
            UNION ALL
            SELECT 'eliminated', id FROM screening.monitoring_case
             WHERE village_code = :village AND eliminated_at >= (:first)::date::timestamp AT TIME ZONE :tz
               AND eliminated_at < ((:last)::date + 1)::timestamp AT TIME ZONE :tz
            UNION ALL
            SELECT 'type_changed', t.case_id FROM screening.case_transition t
              JOIN screening.monitoring_case c ON c.id = t.case_id
             WHERE c.village_code = :village AND t.action = 'change_type'
               AND t.at >= (:first)::date::timestamp AT TIME ZONE :tz
               AND t.at < ((:last)::date + 1)::timestamp AT TIME ZONE :tz
            """
        ),
        {"village": village, "first": date.fromisoformat(first), "last": date.fromisoformat(last), "tz": ZONE},
    )
    return {(kind, case_id) for kind, case_id in rows.all()}


async def _list(client: httpx.AsyncClient, village: str, month: str, headers: dict[str, str]) -> httpx.Response:
    return await client.get("/v1/adjustments", params={"village": village, "month": month}, headers=headers)


@pytest.mark.usefixtures("clock")
async def test_the_list_equals_the_cases_of_the_month(
    screening_client: httpx.AsyncClient, session: AsyncSession, cases: dict[str, uuid.UUID]
) -> None:
    for village, tag in ((VILLAGE, "a"), (OTHER_TOWNSHIP_VILLAGE, "b")):
        for month, first, last in (("2026-03", "2026-03-01", "2026-03-31"), ("2026-02", "2026-02-01", "2026-02-28")):
            response = await _list(screening_client, village, month, OFFICER)
            assert response.status_code == 200, response.text
            body = response.json()
            got = {(e["kind"], uuid.UUID(e["case_id"])) for e in body["entries"]}
            assert got == await _expected(session, village, first, last)
        march = (await _list(screening_client, village, "2026-03", OFFICER)).json()
        by = {(e["household_number"], e["kind"]): e for e in march["entries"]}
        assert set(by) == {
            (f"{tag}-first", "confirmed"),
            (f"{tag}-last", "confirmed"),
            (f"{tag}-elim", "eliminated"),
            (f"{tag}-type", "type_changed"),
            (f"{tag}-both", "confirmed"),
            (f"{tag}-both", "type_changed"),
        }
        # the confirmed line carries the type confirmed (not today's), the risk codes and the step's comment
        assert by[(f"{tag}-both", "confirmed")]["monitoring_type"] == "marginal"
        assert by[(f"{tag}-first", "confirmed")]["reason"] == f"{tag}-first 县级认定"
        assert by[(f"{tag}-first", "confirmed")]["risk_codes"] == ["illness"]
        assert by[(f"{tag}-first", "confirmed")]["on_date"] == "2026-03-01"
        assert by[(f"{tag}-last", "confirmed")]["on_date"] == "2026-03-31"
        assert by[(f"{tag}-elim", "eliminated")]["elimination_kind"] == "assisted"
        assert by[(f"{tag}-elim", "eliminated")]["reason"] == f"{tag}-elim 收入稳定"
        changed = by[(f"{tag}-type", "type_changed")]
        assert (changed["previous_type"], changed["monitoring_type"]) == ("sudden_hardship", "unstable")
        assert changed["reason"] == f"{tag}-type 类型变更"
        assert changed["kind_label"] == "类型变更"
    names = (await _list(screening_client, VILLAGE, "2026-03", OFFICER)).json()
    assert (names["township_name"], names["village_name"]) == ("东风镇", "杨庄村")
    assert names["entries"][0]["village_name"] == "杨庄村"
    assert names["due_date"] == "2026-04-20"
    assert names["settlement"] is None


@pytest.mark.usefixtures("clock")
async def test_the_list_exports_as_xlsx_with_chinese_headers_and_names(
    screening_client: httpx.AsyncClient, cases: dict[str, uuid.UUID]
) -> None:
    response = await screening_client.get(
        "/v1/adjustments", params={"village": VILLAGE, "month": "2026-03", "format": "xlsx"}, headers=CADRE
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["动态调整名单", "汇总"]
    sheet = book["动态调整名单"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:7] == ["乡镇代码", "乡镇名称", "村代码", "村名称", "户编号", "调整类别", "调整日期"]
    assert sheet.freeze_panes == "A2"
    assert (sheet.column_dimensions["B"].width or 0) > 8
    lines = {(r[4], r[5]): r for r in rows[1:]}
    assert len(lines) == 6
    first = lines[("a-first", "新识别")]
    assert first[1:4] == ["东风镇", VILLAGE, "杨庄村"]
    assert first[6] == datetime(2026, 3, 1)  # a date cell
    assert first[7] == "边缘易致贫户"
    assert first[9] == "因病"
    assert lines[("a-elim", "风险消除")][10] == "帮扶消除"
    assert lines[("a-type", "类型变更")][7:9] == ["脱贫不稳定户", "突发严重困难户"]
    summary = {(r[0], r[1]): r[2] for r in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary[("户数", "合计")] == 6  # a number cell, not text
    assert summary[("户数", "新识别")] == 3
    assert isinstance(summary[("户数", "类型变更")], int)


@pytest.mark.usefixtures("clock")
async def test_scope_and_bad_months(screening_client: httpx.AsyncClient, cases: dict[str, uuid.UUID]) -> None:
    assert (await _list(screening_client, VILLAGE, "2026-03", CADRE)).status_code == 200
    assert (await _list(screening_client, VILLAGE, "2026-03", TOWNSHIP_OFFICER)).status_code == 200
    for headers in (OTHER_CADRE, OTHER_TOWNSHIP_OFFICER, auth("county_officer", "410603")):
        response = await _list(screening_client, VILLAGE, "2026-03", headers)
        assert response.status_code == 404, response.text
    assert (await _list(screening_client, OTHER_TOWNSHIP_VILLAGE, "2026-03", CADRE)).status_code == 404
    for month in ("2026-13", "2026-3", "March", "0000-01", "9999-12"):
        response = await _list(screening_client, VILLAGE, month, OFFICER)
        assert response.status_code == 422, response.text
        assert response.json()["code"] in ("invalid_month", "validation_failed")
    bad = await _list(screening_client, VILLAGE, "2026-13", OFFICER)
    assert bad.json()["code"] == "invalid_month"
    assert (await _list(screening_client, "41060210020", "2026-03", OFFICER)).status_code == 422
    submit = await screening_client.post(f"/v1/adjustments/{VILLAGE}/2026-00:submit", headers=CADRE)
    assert submit.status_code == 422
    # an admin passes every role check (shared.auth.require_roles): its steps work, never a 500
    by_admin = await screening_client.post(
        f"/v1/adjustments/{OTHER_TOWNSHIP_VILLAGE}/2026-03:submit", headers=auth("admin", COUNTY)
    )
    assert by_admin.status_code == 200, by_admin.text
    # the wrong role is a 403 before anything is read
    assert (
        await screening_client.post(f"/v1/adjustments/{VILLAGE}/2026-03:submit", headers=OFFICER)
    ).status_code == 403
    assert (await screening_client.post(f"/v1/adjustments/{VILLAGE}/2026-03:approve", headers=CADRE)).status_code == 403


def _etag(response: httpx.Response) -> dict[str, str]:
    return {"If-Match": response.headers["ETag"]}


@pytest.mark.usefixtures("clock")
async def test_submit_approve_return(
    screening_client: httpx.AsyncClient, session: AsyncSession, cases: dict[str, uuid.UUID], clock: Clock
) -> None:
    base = f"/v1/adjustments/{VILLAGE}/2026-03"
    # April's list cannot be submitted during April (today: 2026-04-05)
    early = await screening_client.post(f"/v1/adjustments/{VILLAGE}/2026-04:submit", headers=CADRE)
    assert (early.status_code, early.json()["code"]) == (409, "adjustment_month_open")
    not_yet = await screening_client.post(f"{base}:approve", headers=TOWNSHIP_OFFICER)
    assert (not_yet.status_code, not_yet.json()["code"]) == (409, "adjustment_not_submitted")
    # another village's cadre and another township: 404
    assert (await screening_client.post(f"{base}:submit", headers=OTHER_CADRE)).status_code == 404

    submitted = await screening_client.post(f"{base}:submit", headers=CADRE)
    assert submitted.status_code == 200, submitted.text
    settlement = submitted.json()["settlement"]
    assert settlement["status"] == "submitted"
    assert settlement["entry_count"] == 6
    assert {e["household_number"] for e in settlement["entries"]} == {"a-first", "a-last", "a-elim", "a-type", "a-both"}
    assert submitted.headers["ETag"] == '"1"'
    again = await screening_client.post(f"{base}:submit", headers={**CADRE, **_etag(submitted)})
    assert (again.status_code, again.json()["code"]) == (409, "adjustment_already_submitted")

    other = await screening_client.post(
        f"{base}:return", json={"reason": "x"}, headers={**OTHER_TOWNSHIP_OFFICER, "If-Match": "1"}
    )
    assert other.status_code == 404
    assert (
        await screening_client.post(f"{base}:return", json={"reason": "补充原因"}, headers=TOWNSHIP_OFFICER)
    ).status_code == 428
    stale = await screening_client.post(
        f"{base}:return", json={"reason": "补充原因"}, headers={**TOWNSHIP_OFFICER, "If-Match": "7"}
    )
    assert stale.status_code == 412
    assert (
        await screening_client.post(
            f"{base}:return", json={"reason": ""}, headers={**TOWNSHIP_OFFICER, **_etag(submitted)}
        )
    ).status_code == 422
    returned = await screening_client.post(
        f"{base}:return", json={"reason": "请补充消除原因"}, headers={**TOWNSHIP_OFFICER, **_etag(submitted)}
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["settlement"]["status"] == "returned"
    assert returned.json()["settlement"]["return_reason"] == "请补充消除原因"
    approve_returned = await screening_client.post(f"{base}:approve", headers={**TOWNSHIP_OFFICER, **_etag(returned)})
    assert (approve_returned.status_code, approve_returned.json()["code"]) == (409, "adjustment_not_submitted")
    # a resubmission needs the settlement's version
    assert (await screening_client.post(f"{base}:submit", headers=CADRE)).status_code == 428
    resubmitted = await screening_client.post(f"{base}:submit", headers={**CADRE, **_etag(returned)})
    assert resubmitted.status_code == 200, resubmitted.text
    approved = await screening_client.post(f"{base}:approve", headers={**TOWNSHIP_OFFICER, **_etag(resubmitted)})
    assert approved.status_code == 200, approved.text
    assert approved.json()["settlement"]["status"] == "approved"
    assert approved.json()["settlement"]["version"] == 4
    for action, headers in ((":submit", CADRE), (":approve", TOWNSHIP_OFFICER), (":return", TOWNSHIP_OFFICER)):
        late = await screening_client.post(
            f"{base}{action}", json={"reason": "x"}, headers={**headers, **_etag(approved)}
        )
        assert (late.status_code, late.json()["code"]) == (409, "adjustment_already_approved")
    audit = await session.execute(
        text("SELECT action FROM audit.audit_log WHERE resource_id = :id ORDER BY id"), {"id": f"{VILLAGE}:2026-03"}
    )
    assert [a for (a,) in audit.all()] == [
        "screening.adjustment.submit",
        "screening.adjustment.return",
        "screening.adjustment.submit",
        "screening.adjustment.approve",
    ]


async def test_overdue_before_and_after_the_day(
    screening_client: httpx.AsyncClient, session: AsyncSession, cases: dict[str, uuid.UUID], clock: Clock
) -> None:
    # a village with households in the register but no case is listed too
    quiet = "410602100202"
    await add_household(session, village=quiet)

    async def overdue(headers: dict[str, str] = OFFICER) -> dict[str, Any]:
        response = await screening_client.get(
            "/v1/adjustments/overdue", params={"county_code": COUNTY, "month": "2026-03"}, headers=headers
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    clock.to_date(date(2026, 4, 6))
    submitted = await screening_client.post(f"/v1/adjustments/{VILLAGE}/2026-03:submit", headers=CADRE)
    assert submitted.status_code == 200, submitted.text
    before = await overdue()
    assert before["due_date"] == "2026-04-20"
    assert before["items"] == []
    clock.to_date(date(2026, 4, 20))  # the due day itself: still on time
    assert (await overdue())["items"] == []
    approved = await screening_client.post(
        f"/v1/adjustments/{VILLAGE}/2026-03:approve", headers={**TOWNSHIP_OFFICER, **_etag(submitted)}
    )
    assert approved.status_code == 200, approved.text

    clock.to_date(date(2026, 4, 21))
    after = await overdue()
    listed = {i["village_code"]: i for i in after["items"]}
    assert set(listed) == {quiet, OTHER_TOWNSHIP_VILLAGE}  # VILLAGE was approved on the day; the other county's no
    assert listed[OTHER_TOWNSHIP_VILLAGE]["status"] is None
    assert listed[OTHER_TOWNSHIP_VILLAGE]["village_name"] == "李庄村"
    township = await overdue(TOWNSHIP_OFFICER)
    assert {i["village_code"] for i in township["items"]} == {quiet}
    # approved after the day: still on the list, as approved (late)
    late = await screening_client.post(f"/v1/adjustments/{OTHER_TOWNSHIP_VILLAGE}/2026-03:submit", headers=OTHER_CADRE)
    assert late.status_code == 200
    done = await screening_client.post(
        f"/v1/adjustments/{OTHER_TOWNSHIP_VILLAGE}/2026-03:approve", headers={**OTHER_TOWNSHIP_OFFICER, **_etag(late)}
    )
    assert done.status_code == 200
    assert {i["village_code"]: i["status"] for i in (await overdue())["items"]}[OTHER_TOWNSHIP_VILLAGE] == "approved"
    outside = await screening_client.get(
        "/v1/adjustments/overdue", params={"county_code": "410603", "month": "2026-03"}, headers=OFFICER
    )
    assert outside.status_code == 404
    bad = await screening_client.get(
        "/v1/adjustments/overdue", params={"county_code": COUNTY, "month": "2026-13"}, headers=OFFICER
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_month")


# --- the type change through the workflow ------------------------------------------------------


async def test_type_change_step_updates_the_case_and_tells_the_registry(
    screening_client: httpx.AsyncClient, session: AsyncSession, clock: Clock
) -> None:
    await _regions(session)
    household = await add_household(session, status="marginal")
    case_id = await _case(session, "t-1", confirmed=datetime(2026, 3, 2, 2, tzinfo=UTC))
    await session.execute(
        text("UPDATE screening.monitoring_case SET household_id = :h WHERE id = :id"),
        {"h": household.id, "id": case_id},
    )
    url = f"/v1/cases/{case_id}/transitions"
    body = {"action": "change_type", "evidence": {"monitoring_type": "unstable", "reason": "家庭成员确诊大病"}}
    wrong_role = await screening_client.post(url, json=body, headers=CADRE)
    assert (wrong_role.status_code, wrong_role.json()["code"]) == (409, "wrong_role")
    same = await screening_client.post(
        url, json={**body, "evidence": {"monitoring_type": "marginal", "reason": "x"}}, headers=OFFICER
    )
    assert (same.status_code, same.json()["code"]) == (409, "invalid_evidence")
    changed = await screening_client.post(url, json=body, headers=OFFICER)
    assert changed.status_code == 200, changed.text
    assert changed.json()["state"] == "monitoring"
    assert changed.json()["monitoring_type"] == "unstable"
    row = (await session.execute(select(monitoring_case).where(monitoring_case.c.id == case_id))).mappings().one()
    assert row["confirmed_at"] == datetime(2026, 3, 2, 2, tzinfo=UTC)  # confirmation date kept
    messages = list(
        (
            await session.execute(
                select(outbox).where(
                    outbox.c.target == "registry", outbox.c.idempotency_key.like(f"screening:case:{case_id}:%")
                )
            )
        ).mappings()
    )
    assert len(messages) == 1
    assert messages[0]["path"] == f"/v1/households/{household.id}/monitoring-status"
    assert messages[0]["body"]["action"] == "set"
    assert messages[0]["body"]["monitoring_type"] == "unstable"
    # a second change is a second message (its own key)
    back = await screening_client.post(
        url, json={**body, "evidence": {"monitoring_type": "marginal", "reason": "医保报销后支出回落"}}, headers=OFFICER
    )
    assert back.status_code == 200, back.text
    keys = (
        await session.execute(
            select(outbox.c.idempotency_key).where(outbox.c.idempotency_key.like(f"screening:case:{case_id}:%"))
        )
    ).scalars()
    assert len(set(keys)) == 2
    # April's adjustment list holds both changes with their types and reasons
    april = (await _list(screening_client, VILLAGE, "2026-04", OFFICER)).json()
    changes = [(e["previous_type"], e["monitoring_type"], e["reason"]) for e in april["entries"]]
    assert changes == [("marginal", "unstable", "家庭成员确诊大病"), ("unstable", "marginal", "医保报销后支出回落")]


# --- the read contract registry.region_v1 -----------------------------------------------------


async def test_region_view_is_pinned_and_keyed_by_the_significant_code(session: AsyncSession) -> None:
    columns = await session.execute(
        text(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'registry' AND table_name = 'region_v1' ORDER BY ordinal_position"
        )
    )
    assert [tuple(r) for r in columns.all()] == [
        ("code", "text"),
        ("name", "text"),
        ("level", "text"),
        ("parent_code", "text"),
    ]
    await _regions(session)
    rows = await session.execute(
        text("SELECT code, name, level, parent_code FROM registry.region_v1 WHERE code LIKE :c ORDER BY code"),
        {"c": COUNTY + "%"},
    )
    assert [tuple(r) for r in rows.all()] == [
        (COUNTY, "文峰区", "county", None),
        (TOWNSHIP, "东风镇", "township", COUNTY),
        (VILLAGE, "杨庄村", "village", TOWNSHIP),
        (OTHER_TOWNSHIP_VILLAGE[:9], "西河乡", "township", COUNTY),
        (OTHER_TOWNSHIP_VILLAGE, "李庄村", "village", OTHER_TOWNSHIP_VILLAGE[:9]),
    ]

"""Migration from the national system (issue 12, rules.md §3): a county's register in the national
防返贫监测 layout (title rows, the header in row 3, one row per person, 致贫/返贫风险1…3) — 2,000
households with monitored ones and exactly 12 bad rows — imports the good rows, reports the 12 with
row and column, records the monitored households as a migration (audited), and export → import into
the emptied county gives the same register field by field."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.registry.conftest import new_id
from tests.support.tokens import DEMO_COUNTY, auth

pytestmark = pytest.mark.usefixtures("demo_regions")
OFFICER = auth("county_officer")
VILLAGES = ("410602100201", "410602100202", "410602101201", "410602102201")
GRID = "41060210020101"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = [
    "县(市、区、旗)", "乡(镇)", "行政村", "行政区划代码", "户编号", "户主姓名", "家庭人口数", "户类型",
    "监测对象类别", "识别监测时间", "致贫/返贫风险1", "致贫/返贫风险2", "致贫/返贫风险3", "主要致贫原因",
    "其他致贫原因", "识别年度", "脱贫年度", "易地扶贫搬迁", "安置点", "网格", "姓名", "性别", "证件号码",
    "与户主关系", "民族", "文化程度", "在校生状况", "健康状况", "劳动技能", "务工状况", "务工时间（月）",
    "是否参加城乡居民基本医疗保险", "城乡居民基本养老保险", "纯收入", "收入年度", "工资性收入",
    # the older register's 帮扶责任人 (rules.md §3)
    "帮扶责任人", "单位名称", "隶属关系", "帮扶责任人联系电话", "帮扶开始时间", "帮扶结束时间",
]  # fmt: skip
COL = {h: i for i, h in enumerate(HEADER)}
# (column header, bad value, the template column key reported): one bad cell on each of 12 one-person households
BAD = [
    ("证件号码", "410602197001011235", "national_id"),
    ("性别", "女", "sex"),
    ("健康状况", "很好", "health"),
    ("劳动技能", "超强", "labour_ability"),
    ("务工时间（月）", "13", "months_worked"),
    ("文化程度", "私塾", "education_level"),
    ("与户主关系", "邻居", "relation"),
    ("主要致贫原因", "因穷", "poverty_cause"),
    ("识别监测时间", "2021年13月", "monitoring_since"),
    ("致贫/返贫风险1", "因风水", "risk_types"),
    ("脱贫年度", "2019", "lifted_out_year"),  # on a 一般农户
    ("易地扶贫搬迁", "也许", "relocated"),
]
CAUSES = ["因病", "因残", "缺劳力", "因学", "自身发展动力不足", "因灾"]
RISKS = ["因病", "因学", "因自然灾害", "因安全住房"]


def _people(n: int, number: str) -> list[dict[str, Any]]:
    head_born = date(1960 + n % 30, 1 + n % 12, 1 + n % 28)
    people = [{"name": f"张{n}", "id": new_id(head_born, male=True), "sex": "男", "relation": "户主"}]
    if n % 3:  # two of three households have a second member
        people.append(
            {
                "name": f"李{n}",
                "id": new_id(date(1962 + n % 20, 1 + n % 12, 1 + n % 27), male=False),
                "sex": "女",
                "relation": "配偶",
            }
        )
    return people


def national_sheet(households: int) -> tuple[bytes, list[tuple[int, str]]]:
    """The workbook and the (row, column key) of each bad row, as the spreadsheet numbers rows."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["防返贫监测信息系统 农户信息导出"])
    sheet.append(["导出时间：2026-11-30", "单位：鹤山区乡村振兴局"])
    sheet.append(HEADER)
    bad: list[tuple[int, str]] = []
    row_number = 3
    bad_households = iter(range(12))
    for n in range(households):
        number = f"4106020{n:09d}"
        village = VILLAGES[n % len(VILLAGES)]
        lifted = n % 4 != 0
        monitored = n % 10 == 0
        is_bad = n % 170 == 7
        people = _people(n, number)[:1] if is_bad else _people(n, number)
        for person in people:
            cells: dict[str, Any] = {
                "县(市、区、旗)": "鹤山区",
                "乡(镇)": "鹤壁集镇",
                "行政村": "某村",
                "行政区划代码": village,
                "户编号": number,
                "户主姓名": people[0]["name"],
                "家庭人口数": len(people),
                "户类型": "脱贫户" if lifted else "一般农户",
                "监测对象类别": ("脱贫不稳定户" if lifted else "边缘易致贫户") if monitored else "",
                "识别监测时间": f"2021{1 + n % 12:02d}" if monitored else "",
                "致贫/返贫风险1": RISKS[n % 4] if monitored else "",
                "致贫/返贫风险2": RISKS[(n + 1) % 4] if monitored and n % 20 == 0 else "",
                "主要致贫原因": CAUSES[n % 6] if lifted or n % 8 == 4 else "",
                "其他致贫原因": "缺技术、缺资金" if n % 7 == 1 and CAUSES[n % 6] not in ("缺技术", "缺资金") else "",
                "识别年度": 2014 + n % 5 if lifted or n % 8 == 4 else "",
                "脱贫年度": 2016 + n % 5 if lifted else "",
                "易地扶贫搬迁": "是" if n % 25 == 3 else "否",
                "安置点": "鹤壁集镇安置小区" if n % 25 == 3 else "",
                "网格": GRID if village == VILLAGES[0] and n % 2 == 0 else "",
                "姓名": person["name"],
                "性别": person["sex"],
                "证件号码": person["id"],
                "与户主关系": person["relation"],
                "民族": "汉族",
                "文化程度": ["小学", "初中", "高中", "文盲或半文盲", "大专及以上"][n % 5],
                "在校生状况": "非在校生",
                "健康状况": ["健康", "长期慢性病", "患有大病"][n % 3],
                "劳动技能": ["普通劳动力", "弱劳动力或半劳动力", "丧失劳动力"][n % 3],
                "务工状况": ["省外务工", "县内", "未务工", "乡镇内", "省内"][n % 5],
                "务工时间（月）": n % 13,
                "是否参加城乡居民基本医疗保险": "是",
                "城乡居民基本养老保险": "是" if person["relation"] == "户主" else "否",
                "纯收入": "",
                "收入年度": 2025,
                "工资性收入": f"{10000 + n}.50",
                # every third household has its 帮扶责任人 on the head's row (one in four of them ended)
                **(
                    {
                        "帮扶责任人": f"王{n % 40}",
                        "单位名称": "鹤山区农业农村局",
                        "隶属关系": "县直",
                        "帮扶责任人联系电话": f"139{n % 40:08d}",
                        "帮扶开始时间": f"2021-{1 + n % 12:02d}-01",
                        "帮扶结束时间": "2025-12-31" if n % 4 == 1 else "",
                    }
                    if n % 3 == 1 and person["relation"] == "户主"
                    else {}
                ),
            }
            if is_bad:
                column, value, key = BAD[next(bad_households)]
                if column == "性别":
                    cells[column] = value
                elif column == "脱贫年度":
                    cells["户类型"], cells["监测对象类别"] = "一般农户", ""
                    cells["识别监测时间"] = cells["致贫/返贫风险1"] = cells["致贫/返贫风险2"] = ""
                    cells[column] = value
                elif column in ("识别监测时间", "致贫/返贫风险1"):
                    cells["监测对象类别"] = "边缘易致贫户"
                    cells["识别监测时间"] = "202105"
                    cells[column] = value
                else:
                    cells[column] = value
            row_number += 1
            if is_bad:
                bad.append((row_number, key))
            # ID numbers as text (the spreadsheet would round a number)
            sheet.append([cells.get(h, "") for h in HEADER])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), bad


async def _grids(client: httpx.AsyncClient) -> None:
    csv = f"code,name,网格长\n{GRID},鹤壁集村一网格,王立新\n"
    response = await client.post(
        "/v1/regions:import", content=csv.encode(), headers={**auth("admin", ""), "Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text


_HOUSEHOLD_FIELDS = (
    "household_number, village_code, township_code, address, phone_masked, status, base_status, monitoring_since, "
    "monitoring_origin, risk_types, poverty_cause, other_causes, registered_year, lifted_out_year, relocated, "
    "resettlement_site, grid_code, dibao, tekun, negative_list, bank_account_masked, insured_years"
)
_MEMBER_FIELDS = (
    "h.household_number, m.name, m.national_id_index, m.national_id_masked, m.sex, m.birth_date, m.relation, "
    "m.health, m.disability_grade, m.labour_ability, m.education_stage, m.school, m.join_reason, m.active, "
    "m.education_level, m.employment, m.months_worked, m.medical_insured_years, m.pension_insured_years, "
    "(h.head_member_id = m.id) AS is_head"
)


async def _register(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    county = {"county": DEMO_COUNTY}
    households = (
        await session.execute(
            text(f"SELECT {_HOUSEHOLD_FIELDS} FROM registry.household WHERE county_code = :county ORDER BY 1"), county
        )
    ).all()
    members = (
        await session.execute(
            text(
                f"SELECT {_MEMBER_FIELDS} FROM registry.member m JOIN registry.household h ON h.id = m.household_id "
                "WHERE m.county_code = :county ORDER BY 1, 3"
            ),
            county,
        )
    ).all()
    incomes = (
        await session.execute(
            text(
                "SELECT h.household_number, i.year, i.wage_income, i.business_income, i.property_income, "
                "i.transfer_income, i.production_costs FROM registry.income i "
                "JOIN registry.household h ON h.id = i.household_id WHERE i.county_code = :county ORDER BY 1, 2"
            ),
            county,
        )
    ).all()
    cadres = (
        await session.execute(
            text(
                "SELECT h.household_number, c.name, c.work_unit, c.affiliation, c.phone_index, c.phone_masked, "
                "c.start_date, c.end_date FROM registry.household_cadre c "
                "JOIN registry.household h ON h.id = c.household_id WHERE c.county_code = :county ORDER BY 1"
            ),
            county,
        )
    ).all()
    return {
        "households": [tuple(r) for r in households],
        "members": [tuple(r) for r in members],
        "incomes": incomes,
        "cadres": [tuple(r) for r in cadres],
    }


async def _empty_county(session: AsyncSession) -> None:
    for table in ("person_claim", "household_history", "income", "household_cadre", "member", "household"):
        await session.execute(text(f"DELETE FROM registry.{table} WHERE county_code = :c"), {"c": DEMO_COUNTY})
    await session.commit()


async def test_national_sheet_migrates_with_its_bad_rows_reported_and_round_trips(
    registry_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _grids(registry_client)
    data, bad = national_sheet(2000)
    assert len(bad) == 12
    response = await registry_client.post(
        "/v1/imports",
        params={"mode": "valid_rows", "wait": "true", "filename": "鹤山区-防返贫监测-202611.xlsx"},
        content=data,
        headers={**OFFICER, "Content-Type": XLSX},
    )
    assert response.status_code in (200, 201), response.text
    job = response.json()
    assert job["status"] == "succeeded", job
    assert job["result"]["imported_households"] == 2000 - 12, job["errors"][:5]
    assert job["result"]["rejected_rows"] == 12
    reported = sorted((e["row"], e["column"]) for e in job["errors"])
    assert reported == sorted(bad), job["errors"]

    # a monitored household: its type, base status, 识别监测时间 and risk types, as a migration
    row = (
        await session.execute(
            text(
                "SELECT id, status, base_status, monitoring_since, monitoring_origin, monitoring_case_id, risk_types "
                "FROM registry.household WHERE household_number = '4106020000000020'"
            )
        )
    ).one()
    assert row.status == "marginal"  # 边缘易致贫户 on a 一般农户
    assert row.base_status == "ordinary"
    assert row.monitoring_since == date(2021, 9, 1)
    assert row.monitoring_origin == "migration"
    assert row.monitoring_case_id is None
    assert row.risk_types == ["illness", "education"]
    read = (await registry_client.get(f"/v1/households/{row.id}", headers=OFFICER)).json()
    assert read["status"] == "marginal"
    assert read["monitoring"] == {"case_id": None, "since": "2021-09-01", "origin": "migration"}
    assert read["risk_types"] == ["illness", "education"]
    assert read["village_name"] == "鹤壁集村"
    assert read["grid_name"] == "鹤壁集村一网格"
    head = read["members"][0]
    assert (head["education_level"], head["employment"], head["months_worked"]) == ("primary", "out_of_province", 7)
    monitored = (
        await session.execute(text("SELECT count(*) FROM registry.household WHERE monitoring_origin = 'migration'"))
    ).scalar_one()
    assert monitored == 200  # every 10th household (none of them among the 12 bad rows)
    audit = (
        await session.execute(
            text(
                "SELECT actor_sub, detail FROM audit.audit_log WHERE action = 'import.migrate_monitoring' "
                "AND resource_id = :id"
            ),
            {"id": job["id"]},
        )
    ).one()
    assert audit.detail["monitored_households"] == monitored
    assert audit.detail["file_sha256"] == job["file_sha256"]
    assert audit.detail["submitted_at"]
    history = (
        await session.execute(
            text("SELECT changes FROM registry.household_history WHERE household_id = :id"), {"id": row.id}
        )
    ).scalar_one()
    assert {"field": "monitoring_origin", "before": None, "after": "migration"} in history

    # export (revealed: the full ID numbers) → import into the emptied county: the same register
    before = await _register(session)
    export = await registry_client.post(
        "/v1/exports",
        params={"wait": "true"},
        json={"region": DEMO_COUNTY, "format": "xlsx", "reveal": True, "purpose": "迁移核对"},
        headers=OFFICER,
    )
    assert export.status_code in (200, 201), export.text
    exported = await registry_client.get(export.json()["download_url"], headers=OFFICER)
    assert exported.status_code == 200
    await _empty_county(session)
    again = await registry_client.post(
        "/v1/imports",
        params={"mode": "all_or_nothing", "wait": "true"},
        content=exported.content,
        headers={**OFFICER, "Content-Type": XLSX},
    )
    assert again.json()["status"] == "succeeded", again.json()["errors"][:5]
    after = await _register(session)
    assert len(after["households"]) == 2000 - 12
    assert len(before["cadres"]) > 600  # the 帮扶责任人 came over too (every third household)
    for part in ("households", "members", "incomes", "cadres"):
        assert len(after[part]) == len(before[part]), part
        for old, new in zip(before[part], after[part], strict=True):
            assert old == new, (part, old, new)

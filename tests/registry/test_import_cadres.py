"""Issue 12: the import takes the national layout's 帮扶责任人 (姓名, 单位名称, 隶属关系, 联系电话, 帮扶开始/结束时间)
as one cadre per household, validated as the API validates an assignment and stored in the import's transaction
as the API stores one (phone encrypted, purpose cadre_phone, blind index); and a village by name (村名称, with
乡镇名称 when two villages share one) instead of the 12-digit code, matched in the importer's region."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.domain.import_rows import (
    _HEADER_ALIASES,
    CADRE_KEYS,
    COLUMN_KEYS,
    Village,
    VillageDirectory,
    parse_rows,
    template_headers,
)
from tests.registry.conftest import new_id
from tests.registry.test_imports import _import, to_csv
from tests.support.tokens import DEMO_VILLAGE, auth

pytestmark = pytest.mark.usefixtures("demo_regions")
OFFICER = auth("county_officer")
TODAY = date(2026, 4, 5)
HEADER = [
    "户编号",
    "村代码",
    "户类型",
    "姓名",
    "身份证号",
    "与户主关系",
    "健康状况",
    "劳动能力",
    "帮扶责任人",
    "帮扶单位",
    "隶属关系",
    "帮扶责任人联系电话",
    "帮扶开始时间",
    "帮扶结束时间",
]
CADRE = ["王志刚", "鹤山区农业农村局", "县直", "139 1234 5678", "2021-03-01", ""]


def _row(
    number: str, cadre: list[str], *, village: str = DEMO_VILLAGE, relation: str = "户主", n: int = 0
) -> list[str]:
    born = date(1970, 3, 1 + n % 28)
    return [number, village, "脱贫户", f"张{n}", new_id(born, male=True), relation, "健康", "普通劳动力", *cadre]


def _errors(result: object) -> list[tuple[int, str | None, str]]:
    return [(e.row_number, e.column, e.code) for e in result.errors]  # type: ignore[attr-defined]


# ------------------------------------------------------------------ parsing


def test_the_cadre_columns_are_appended_with_their_aliases() -> None:
    headers = template_headers("zh")
    assert list(COLUMN_KEYS[43:49]) == list(CADRE_KEYS)
    assert headers[:2] == ["户编号", "村代码"]  # the older columns keep their places
    assert headers[41:43] == ["户名", "开户行"]
    result = parse_rows([HEADER, _row("C-1", CADRE)], today=TODAY)
    assert result.errors == []
    cadre = result.rows[0].household.cadre
    assert cadre is not None
    assert (cadre.name, cadre.work_unit, cadre.affiliation, cadre.phone) == (
        "王志刚",
        "鹤山区农业农村局",
        "县直",
        "13912345678",
    )
    assert (cadre.start_date, cadre.end_date) == (date(2021, 3, 1), None)
    # the template's own headers read the same
    own = ["户编号", "村代码", "户类型", "姓名", "身份证号", "与户主关系", "健康状况", "劳动能力", *headers[43:49]]
    assert parse_rows([own, _row("C-1", CADRE)], today=TODAY).rows[0].household.cadre == cadre


def test_a_bare_contact_phone_is_still_the_households() -> None:
    header = [*HEADER[:8], "联系电话"]
    result = parse_rows([header, [*_row("C-2", [])[:8], "13812345678"]], today=TODAY)
    assert result.errors == []
    assert (result.rows[0].household.phone, result.rows[0].household.cadre) == ("13812345678", None)


def test_the_cadre_may_be_given_on_any_row_of_the_household_and_rows_must_agree() -> None:
    blank = [""] * 6
    spouse = _row("C-3", CADRE, relation="配偶", n=1)
    result = parse_rows([HEADER, _row("C-3", blank), spouse], today=TODAY)
    assert result.errors == []
    assert {r.household.cadre.name for r in result.rows if r.household.cadre} == {"王志刚"}
    other = _row("C-4", ["李明", *CADRE[1:]], relation="配偶", n=1)
    result = parse_rows([HEADER, _row("C-4", CADRE), other], today=TODAY)
    assert _errors(result) == [(3, "cadre_name", "household_mismatch")]
    assert [r.row_number for r in result.rows] == [2]  # as for any household-level column: the row that differs


@pytest.mark.parametrize(
    ("cadre", "column", "code"),
    [
        (["", *CADRE[1:]], "cadre_name", "required"),
        ([CADRE[0], "", *CADRE[2:]], "cadre_work_unit", "required"),
        ([*CADRE[:3], "", *CADRE[4:]], "cadre_phone", "required"),
        ([*CADRE[:4], "", ""], "cadre_start_date", "required"),
        (["王" * 51, *CADRE[1:]], "cadre_name", "too_long"),
        (["=HYPERLINK(1)", *CADRE[1:]], "cadre_name", "invalid_value"),
        ([CADRE[0], "@单位", *CADRE[2:]], "cadre_work_unit", "invalid_value"),
        ([*CADRE[:2], "县" * 51, *CADRE[3:]], "cadre_affiliation", "too_long"),
        ([*CADRE[:3], "12345", *CADRE[4:]], "cadre_phone", "invalid_phone"),
        ([*CADRE[:4], "2021-02-30", ""], "cadre_start_date", "invalid_date"),
        ([*CADRE[:4], "2021-03-01", "2021-02-28"], "cadre_end_date", "invalid_date"),
    ],
)
def test_the_cadre_is_validated_as_the_api_validates_it(cadre: list[str], column: str, code: str) -> None:
    result = parse_rows([HEADER, _row("C-5", cadre)], today=TODAY)
    assert _errors(result) == [(2, column, code)]
    assert result.rows == []
    assert "HYPERLINK" not in " ".join(e.message for e in result.errors)


def test_an_end_on_the_start_day_and_a_month_are_accepted() -> None:
    result = parse_rows([HEADER, _row("C-6", [*CADRE[:4], "202103", "2021-03-01"])], today=TODAY)
    assert result.errors == []
    cadre = result.rows[0].household.cadre
    assert cadre is not None
    assert cadre.start_date == cadre.end_date == date(2021, 3, 1)


# ------------------------------------------------------------------ villages by name

VILLAGES = VillageDirectory(
    [
        Village("410602100201", "鹤壁集村", "鹤壁集镇"),
        Village("410602101204", "西坡村", "姬家山乡"),
        Village("410602102204", "西坡村", "中山路街道"),
    ]
)
BY_NAME = ["户编号", "乡(镇)", "行政村", "户类型", "姓名", "身份证号", "与户主关系", "健康状况", "劳动能力"]


def _named(number: str, township: str, village: str, n: int = 0) -> list[str]:
    born = date(1971, 5, 1 + n % 28)
    return [number, township, village, "一般农户", f"赵{n}", new_id(born, male=True), "户主", "健康", "普通劳动力"]


def test_a_village_by_name_and_by_township_when_two_share_it() -> None:
    rows = [BY_NAME, _named("V-1", "", "鹤壁集村"), _named("V-2", "中山路街道", "西坡村", 1)]
    loads: list[int] = []

    def load() -> VillageDirectory:
        loads.append(1)
        return VILLAGES

    result = parse_rows(rows, today=TODAY, villages=load)
    assert result.errors == []
    assert [r.household.village_code for r in result.rows] == ["410602100201", "410602102204"]
    assert loads == [1]  # loaded once, for both households
    # a file whose households all give the code never loads the villages
    coded = [["户编号", "村代码", *BY_NAME[3:]], ["V-3", DEMO_VILLAGE, *_named("V-3", "", "", 2)[3:]]]
    assert parse_rows(coded, today=TODAY, villages=load).errors == []
    assert loads == [1]


def test_an_unknown_or_ambiguous_village_name_is_a_row_error() -> None:
    rows = [
        BY_NAME,
        _named("V-4", "", "西坡村"),
        _named("V-5", "鹤壁集镇", "西坡村", 1),
        _named("V-6", "", "无此村", 2),
        _named("V-7", "", "", 3),
    ]
    result = parse_rows(rows, today=TODAY, villages=VILLAGES)
    assert _errors(result) == [
        (2, "village_name", "village_ambiguous"),
        (3, "village_name", "village_not_found"),
        (4, "village_name", "village_not_found"),
        (5, "village_code", "required"),
    ]
    assert "乡镇名称" in result.errors[0].message
    assert result.rows == []


def test_the_code_wins_over_the_names_and_a_file_needs_one_of_them() -> None:
    header = ["户编号", "村代码", "村名称", *BY_NAME[3:]]
    row = ["V-8", DEMO_VILLAGE, "某村", *_named("V-8", "", "")[3:]]
    result = parse_rows([header, row], today=TODAY, villages=VILLAGES)
    assert result.errors == []
    assert result.rows[0].household.village_code == DEMO_VILLAGE
    neither = ["户编号", *BY_NAME[3:]]
    result = parse_rows([neither, ["V-9", *_named("V-9", "", "")[3:]]], today=TODAY)
    assert _errors(result) == [(1, "village_code", "missing_column")]


def test_the_alias_table_in_docs_register_md_is_in_step() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "register.md").read_text(encoding="utf-8")
    lines = {line.split("|")[1].strip(): line for line in doc.splitlines() if line.startswith("| ")}
    headers = dict(zip(COLUMN_KEYS, template_headers("zh"), strict=True))
    for key in (*CADRE_KEYS, "township_name", "village_name"):
        row = next((line for name, line in lines.items() if key in name.split(" / ")), None)
        assert row is not None, f"docs/register.md has no row for {key}"
        assert headers[key] in row
        for alias, target in _HEADER_ALIASES.items():
            if target == key:
                assert alias in row, f"docs/register.md: alias {alias} of {key} is not listed"


# ------------------------------------------------------------------ through the API


async def _household_id(session: AsyncSession, number: str) -> str:
    found = (
        await session.execute(text("SELECT id FROM registry.household WHERE household_number = :n"), {"n": number})
    ).scalar_one()
    return str(found)


async def test_an_imported_cadre_is_stored_as_an_assigned_one(
    registry_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    job = (await _import(registry_client, to_csv([HEADER, _row("CAD-1", CADRE)]), mode="all_or_nothing")).json()
    assert job["status"] == "succeeded", job
    household_id = await _household_id(session, "CAD-1")
    read = (await registry_client.get(f"/v1/households/{household_id}", headers=OFFICER)).json()
    assert [(c["name"], c["work_unit"], c["affiliation"], c["phone_masked"]) for c in read["cadres"]] == [
        ("王志刚", "鹤山区农业农村局", "县直", "139****5678")
    ]
    cadre_id = read["cadres"][0]["id"]
    # no plain phone stored: the ciphertext under purpose cadre_phone, the blind index the API computes
    stored = (
        await session.execute(
            text("SELECT phone_enc, phone_index, start_date, end_date, created_by FROM registry.household_cadre")
        )
    ).one()
    assert b"13912345678" not in bytes(stored.phone_enc)
    assert (stored.start_date, stored.end_date) == (date(2021, 3, 1), None)
    found = await registry_client.post("/v1/cadres:search", json={"phone": "13912345678"}, headers=OFFICER)
    assert [h["household_number"] for h in found.json()["items"]] == ["CAD-1"]
    revealed = await registry_client.post(
        f"/v1/households/{household_id}/cadres/{cadre_id}/phone:reveal",
        json={"purpose": "联系帮扶责任人核实帮扶情况"},
        headers=OFFICER,
    )
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["phone"] == "13912345678"
    history = (
        await session.execute(
            text("SELECT changes FROM registry.household_history WHERE household_id = :id"), {"id": household_id}
        )
    ).scalar_one()
    cadre_change = next(c for c in history if c["field"] == "cadre")
    assert cadre_change["after"]["phone"] == "139****5678"
    assert "13912345678" not in str(history)
    # the same cadre assigned again through the API for the same dates is the overlap the API refuses
    again = await registry_client.post(
        f"/v1/households/{household_id}/cadres",
        json={"name": "王志刚", "work_unit": "鹤山区农业农村局", "phone": "13912345678", "start_date": "2022-01-01"},
        headers=OFFICER,
    )
    assert again.status_code == 409, again.text


async def test_an_invalid_cadre_refuses_its_household_only(
    registry_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    rows = [HEADER, _row("CAD-2", CADRE), _row("CAD-3", [*CADRE[:4], "2021-03-01", "2020-01-01"], n=1)]
    job = (await _import(registry_client, to_csv(rows), mode="valid_rows")).json()
    assert job["status"] == "succeeded", job
    assert [(e["row"], e["column"], e["code"]) for e in job["errors"]] == [(3, "cadre_end_date", "invalid_date")]
    count = (await session.execute(text("SELECT count(*) FROM registry.household_cadre"))).scalar_one()
    assert count == 1


async def test_villages_by_name_through_the_import(registry_client: httpx.AsyncClient, session: AsyncSession) -> None:
    # a second 西坡村, in another township
    response = await registry_client.post(
        "/v1/regions:import",
        content="code,name\n410602102204,西坡村\n".encode(),
        headers={**auth("admin", ""), "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    rows = [
        BY_NAME,
        _named("VN-1", "鹤壁集镇", "西顶村"),
        _named("VN-2", "中山路街道", "西坡村", 1),
        _named("VN-3", "", "西坡村", 2),
        _named("VN-4", "", "无此村", 3),
    ]
    job = (await _import(registry_client, to_csv(rows), mode="valid_rows")).json()
    assert job["status"] == "succeeded", job
    assert [(e["row"], e["column"], e["code"]) for e in job["errors"]] == [
        (4, "village_name", "village_ambiguous"),
        (5, "village_name", "village_not_found"),
    ]
    placed = dict(
        (
            await session.execute(
                text("SELECT household_number, village_code FROM registry.household WHERE household_number LIKE 'VN-%'")
            )
        ).all()
    )
    assert placed == {"VN-1": "410602100202", "VN-2": "410602102204"}
    # a village officer's region: a name outside it is not found
    narrow = auth("village_cadre", "410602100201")
    job = (await _import(registry_client, to_csv([BY_NAME, _named("VN-5", "", "西顶村", 4)]), headers=narrow)).json()
    assert [(e["column"], e["code"]) for e in job["errors"]] == [("village_name", "village_not_found")]


async def test_the_export_writes_the_cadre_and_imports_it_back(
    registry_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    ended = [*CADRE[:4], "2021-03-01", "2025-12-31"]
    job = (await _import(registry_client, to_csv([HEADER, _row("CAD-4", ended)]), mode="all_or_nothing")).json()
    assert job["status"] == "succeeded", job
    files = {}
    for reveal in (False, True):
        body = {"region": DEMO_VILLAGE, "format": "xlsx", "reveal": reveal, "purpose": "核对帮扶责任人"}
        export = await registry_client.post("/v1/exports", params={"wait": "true"}, json=body, headers=OFFICER)
        assert export.status_code == 200, export.text
        download = await registry_client.get(f"/v1/exports/{export.json()['id']}/file", headers=OFFICER)
        cells = [list(r) for r in load_workbook(io.BytesIO(download.content), read_only=True).worksheets[0].values]
        files[reveal] = cells
    for reveal, cells in files.items():
        header = cells[0]
        assert header[-5:] == ["成员状态", "离开日期", "离开原因", "乡镇名称", "村名称"]
        ours = next(r for r in cells[1:] if r[0] == "CAD-4")
        assert ours[header.index("帮扶责任人姓名")] == "王志刚"
        assert ours[header.index("帮扶责任人电话")] == ("13912345678" if reveal else "139****5678")
        assert ours[header.index("帮扶结束时间")].date() == date(2025, 12, 31)
    cells = files[True]
    reparsed = parse_rows(
        [
            [str(c) if c is not None else "" for c in cells[0]],
            *[[_cell(c) for c in r] for r in cells[1:] if r[0] == "CAD-4"],
        ],
        today=TODAY,
    )
    assert reparsed.errors == [], reparsed.errors
    cadre = reparsed.rows[0].household.cadre
    assert cadre is not None
    assert (cadre.name, cadre.work_unit, cadre.affiliation, cadre.phone, cadre.start_date, cadre.end_date) == (
        "王志刚",
        "鹤山区农业农村局",
        "县直",
        "13912345678",
        date(2021, 3, 1),
        date(2025, 12, 31),
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "date") and callable(value.date):
        return value.date().isoformat()  # type: ignore[no-any-return]
    return str(value)

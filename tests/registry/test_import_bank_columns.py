"""Issue 14: the import template carries the payout account whole — 银行账号, 户名 (holder) and 开户行
(bank) — so an imported household can be paid: the claims bank file reads the three from the registry
(`POST /v1/households/{id}/bank-account:reveal`). Parsing, validation (bounded, formula-safe, no holder
or bank without an account), the export round trip, and docs/register.md's alias table in step."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.demo import DEMO_BANK, generate_households, household_csv_rows, member_rows
from services.registry.domain.import_rows import _HEADER_ALIASES, COLUMN_KEYS, parse_rows, template_headers
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
    "银行账号",
    "户名",
    "开户行",
    "姓名",
    "身份证号",
    "与户主关系",
    "健康状况",
    "劳动能力",
]
BANK_KEYS = ("bank_account", "account_holder", "bank_name")


def _row(
    number: str, account: str, holder: str, bank: str, *, name: str = "张建国", nid: str | None = None
) -> list[str]:
    return [
        number,
        DEMO_VILLAGE,
        "脱贫户",
        account,
        holder,
        bank,
        name,
        nid or new_id(date(1970, 3, 15), male=True),
        "户主",
        "健康",
        "普通劳动力",
    ]


def test_the_template_ends_with_the_holder_and_the_bank() -> None:
    headers = template_headers("zh")
    assert "银行账号" in headers
    # appended after the 41 older columns (positional layouts of those hold); the cadre and village-name
    # columns of issue 12 come after them
    assert headers[41:43] == ["户名", "开户行"]
    assert list(COLUMN_KEYS[41:43]) == ["account_holder", "bank_name"]


def test_parsing_the_bank_columns_and_their_aliases() -> None:
    rows = [
        [
            "户号",
            "村代码",
            "户类型",
            "银行卡号",
            "持卡人",
            "开户银行",
            "姓名",
            "身份证号",
            "与户主关系",
            "健康状况",
            "劳动能力",
        ],
        _row("B-1", "6222 0212 3456 7890 123", " 张建国 ", "中国农业银行鹤壁分行"),
    ]
    result = parse_rows(rows, today=TODAY)
    assert result.errors == [], result.errors
    household = result.rows[0].household
    assert (household.bank_account, household.account_holder, household.bank_name) == (
        "6222021234567890123",
        "张建国",
        "中国农业银行鹤壁分行",
    )


def test_a_file_without_the_new_columns_still_imports_without_holder_or_bank() -> None:
    header = [h for h in HEADER if h not in ("户名", "开户行")]
    row = _row("B-2", "6222021234567890123", "", "")
    del row[4:6]
    result = parse_rows([header, row], today=TODAY)
    assert result.errors == []
    assert (result.rows[0].household.account_holder, result.rows[0].household.bank_name) == (None, None)


@pytest.mark.parametrize(
    ("holder", "bank", "column", "code"),
    [
        ("张" * 51, "中国农业银行", "account_holder", "too_long"),
        ("张建国", "银" * 101, "bank_name", "too_long"),
        ('=HYPERLINK("http://x","y")', "中国农业银行", "account_holder", "invalid_value"),
        ("张建国", "+86 bank", "bank_name", "invalid_value"),
        ("@张建国", "中国农业银行", "account_holder", "invalid_value"),
    ],
)
def test_bounded_and_formula_safe(holder: str, bank: str, column: str, code: str) -> None:
    result = parse_rows([HEADER, _row("B-3", "6222021234567890123", holder, bank)], today=TODAY)
    assert [(e.column, e.code) for e in result.errors] == [(column, code)]
    assert result.rows == []
    assert "HYPERLINK" not in " ".join(e.message for e in result.errors)


def test_a_holder_or_bank_without_an_account_is_refused() -> None:
    result = parse_rows([HEADER, _row("B-4", "", "张建国", "中国农业银行")], today=TODAY)
    assert sorted((e.column, e.code) for e in result.errors) == [
        ("account_holder", "invalid_value"),
        ("bank_name", "invalid_value"),
    ]


def test_the_alias_table_in_docs_register_md_is_in_step() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "register.md").read_text(encoding="utf-8")
    lines = {line.split("|")[1].strip(): line for line in doc.splitlines() if line.startswith("| ")}
    for key in BANK_KEYS:
        assert key in lines, f"docs/register.md has no row for {key}"
        header = next(h for h, k in zip(template_headers("zh"), COLUMN_KEYS, strict=True) if k == key)
        assert header in lines[key]
        for alias, target in _HEADER_ALIASES.items():
            if target == key:
                assert alias in lines[key], f"docs/register.md: alias {alias} of {key} is not listed"


async def test_an_imported_household_can_be_paid_and_exports_its_bank_details_back(
    registry_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    rows = [HEADER, _row("BANK-1", "6222021234567890123", "李秀英", "中国农业银行鹤壁分行", name="王建国")]
    job = (await _import(registry_client, to_csv(rows), mode="all_or_nothing")).json()
    assert job["status"] == "succeeded", job
    household_id = (
        await session.execute(
            text("SELECT id FROM registry.household WHERE household_number = 'BANK-1' AND village_code = :v"),
            {"v": DEMO_VILLAGE},
        )
    ).scalar_one()

    read = (await registry_client.get(f"/v1/households/{household_id}", headers=OFFICER)).json()
    assert (read["account_holder"], read["bank_name"]) == ("李秀英", "中国农业银行鹤壁分行")
    assert read["bank_account_masked"].endswith("0123")
    # what the claims service's bank file reads
    revealed = await registry_client.post(
        f"/v1/households/{household_id}/bank-account:reveal", json={"purpose": "防贫保险赔付"}, headers=auth("service")
    )
    assert revealed.status_code == 200, revealed.text
    payout = revealed.json()
    assert (payout["bank_account"], payout["account_holder"], payout["bank_name"]) == (
        "6222021234567890123",
        "李秀英",
        "中国农业银行鹤壁分行",
    )

    export = await registry_client.post(
        "/v1/exports",
        params={"wait": "true"},
        json={"region": DEMO_VILLAGE, "format": "xlsx", "reveal": True, "purpose": "核对代发账户"},
        headers=OFFICER,
    )
    assert export.status_code == 200, export.text
    download = await registry_client.get(f"/v1/exports/{export.json()['id']}/file", headers=OFFICER)
    cells = [list(r) for r in load_workbook(io.BytesIO(download.content), read_only=True).worksheets[0].values]
    header = cells[0]
    ours = next(r for r in cells[1:] if r[0] == "BANK-1")
    assert ours[header.index("户名")] == "李秀英"
    assert ours[header.index("开户行")] == "中国农业银行鹤壁分行"
    # the export is an import file: the bank details come back the same
    reparsed = parse_rows(
        [
            [str(c) if c is not None else "" for c in cells[0]],
            *[[_cell(c) for c in r] for r in cells[1:] if r[0] == "BANK-1"],
        ],
        today=TODAY,
    )
    assert reparsed.errors == [], reparsed.errors
    household = reparsed.rows[0].household
    assert (household.bank_account, household.account_holder, household.bank_name) == (
        "6222021234567890123",
        "李秀英",
        "中国农业银行鹤壁分行",
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "date") and callable(value.date):
        return value.date().isoformat()  # type: ignore[no-any-return]
    return str(value)


def test_the_demo_households_can_be_paid() -> None:
    """`fangpin seed` and the demo import files give every household with an account its holder and bank,
    so the demo's bank file (代发文件) is not refused as incomplete (claims: bank_details_incomplete)."""
    households = list(generate_households(200, seed=7))
    with_account = [h for h in households if h.bank_account]
    assert with_account
    assert len(with_account) < len(households)  # the demo keeps some without an account
    rows = member_rows(households)
    for row in rows:
        h = row.household
        assert (h.account_holder is not None, h.bank_name is not None) == (
            h.bank_account is not None,
            h.bank_account is not None,
        )
    # the demo's people are aged from the machine's date
    result = parse_rows(list(household_csv_rows(households)), today=date.today())
    assert result.errors == []
    parsed = {r.household.household_number: r.household for r in result.rows}
    for h in with_account:
        assert (parsed[h.number].account_holder, parsed[h.number].bank_name) == (h.members[0].name, DEMO_BANK)

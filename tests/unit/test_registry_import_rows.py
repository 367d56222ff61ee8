"""The bulk import template: headers, cell validation, cross-row checks, CSV and XLSX readers."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import time
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from services.registry.domain.import_rows import (
    COLUMN_KEYS,
    COLUMNS,
    HouseholdRow,
    IncomeRow,
    InvalidImportFile,
    MemberRow,
    NumericCell,
    ParseResult,
    RowError,
    parse_rows,
    read_csv,
    read_xlsx,
    template_csv,
    template_headers,
)
from services.registry.domain.model import (
    DibaoClass,
    EducationStage,
    Health,
    HouseholdStatus,
    JoinReason,
    LabourAbility,
    Relation,
    Sex,
)
from services.registry.domain.national_id import check_digit, make_national_id, sequence_for

TODAY = date(2026, 3, 1)
VILLAGE = "410602001001"
_serial = itertools.count()


def new_id(born: date = date(1980, 5, 6), sex: Sex = Sex.male) -> str:
    """A fresh valid ID number; different on every call."""
    n = next(_serial)
    return make_national_id("410602", born + timedelta(days=n // 500), sequence_for(sex, n % 500))


def head(household: str = "H001", **cells: str) -> dict[str, str]:
    """A valid head-of-household row, Chinese labels, household-level fields filled."""
    born = date(1970, 3, 4)
    row = {
        "household_number": household,
        "village_code": VILLAGE,
        "address": "文峰区某村三组",
        "phone": "13800138000",
        "household_status": "脱贫户",
        "bank_account": "6228480012345678901",
        "dibao": "A类",
        "tekun": "否",
        "insured_year": "2026",
        "member_name": "张三",
        "national_id": new_id(born, Sex.male),
        "sex": "男",
        "birth_date": born.isoformat(),
        "relation": "户主",
        "health": "健康",
        "disability_grade": "",
        "labour_ability": "普通劳动力",
        "education_stage": "初中",
        "school": "",
        "join_reason": "建档",
        "wage_income": "20000",
        "business_income": "8000.50",
        "property_income": "0",
        "transfer_income": "1500",
        "production_costs": "6000",
        "income_year": "2025",
    }
    row.update(cells)
    return row


def member(household: str = "H001", **cells: str) -> dict[str, str]:
    """A valid non-head member row with the household-level cells left blank (inherited)."""
    born = date(2005, 9, 1)
    row = {
        "household_number": household,
        "member_name": "张小红",
        "national_id": new_id(born, Sex.female),
        "sex": "女",
        "birth_date": born.isoformat(),
        "relation": "之女",
        "health": "健康",
        "labour_ability": "普通劳动力",
        "education_stage": "本科",
        "school": "郑州大学",
        "join_reason": "出生",
    }
    row.update(cells)
    return row


def table(rows: list[dict[str, str]], lang: str = "zh", keys: tuple[str, ...] = COLUMN_KEYS) -> list[list[str]]:
    headers = dict(zip(COLUMN_KEYS, template_headers(lang), strict=True))  # type: ignore[arg-type]
    return [[headers[k] for k in keys]] + [[r.get(k, "") for k in keys] for r in rows]


def parse(rows: list[dict[str, str]], **kwargs: object) -> ParseResult:
    return parse_rows(table(rows, **kwargs), today=TODAY)  # type: ignore[arg-type]


def codes_at(result: ParseResult, row_number: int) -> list[tuple[str | None, str]]:
    return [(e.column, e.code) for e in result.errors if e.row_number == row_number]


# --- template and headers -----------------------------------------------------------------


def test_template_headers() -> None:
    zh = template_headers("zh")
    assert zh[:3] == ["户编号", "村代码", "地址"]
    assert "在校/学历阶段" in zh
    assert "生产经营支出" in zh
    assert template_headers("en") == list(COLUMN_KEYS)
    # 26 + the register's 15 (issue 12) + the payout account's holder and bank (户名, 开户行; issue 14)
    # + the responsible cadre's six (帮扶责任人; issue 12) + the village by name (乡镇名称, 村名称), appended
    assert len(zh) == len(set(zh)) == len(COLUMNS) == 51
    assert zh[43:] == [
        "帮扶责任人姓名",
        "单位名称",
        "隶属关系",
        "帮扶责任人电话",
        "帮扶开始时间",
        "帮扶结束时间",
        "乡镇名称",
        "村名称",
    ]
    with pytest.raises(ValueError, match="lang"):
        template_headers("fr")  # type: ignore[arg-type]


def test_template_csv_is_utf8_with_bom_and_parses_to_an_empty_import() -> None:
    data = template_csv("zh")
    assert data.startswith(codecs.BOM_UTF8)
    result = parse_rows(read_csv(data), today=TODAY)
    assert result.ok
    assert result.total_rows == 0
    assert result.rows == []


def test_chinese_headers_and_labels() -> None:
    first, second = head(), member()
    result = parse([first, second])

    assert result.errors == []
    assert result.total_rows == 2
    h, m = result.rows
    household = HouseholdRow(
        household_number="H001",
        row_number=2,
        village_code=VILLAGE,
        address="文峰区某村三组",
        phone="13800138000",
        household_status=HouseholdStatus.LIFTED_OUT,
        bank_account="6228480012345678901",
        dibao=DibaoClass.A,
        tekun=False,
        insured_year=2026,
        income=IncomeRow(
            2025, Decimal("20000.00"), Decimal("8000.50"), Decimal("0.00"), Decimal("1500.00"), Decimal("6000.00")
        ),
    )
    assert h == MemberRow(
        row_number=2,
        household=household,
        member_name="张三",
        national_id=first["national_id"],
        sex=Sex.male,
        birth_date=date(1970, 3, 4),
        relation=Relation.head,
        health=Health.healthy,
        disability_grade=None,
        labour_ability=LabourAbility.normal,
        education_stage=EducationStage.junior,
        school=None,
        join_reason=JoinReason.registration,
    )
    assert m.row_number == 3
    assert m.household is h.household  # one object per household, shared by its members
    assert (m.relation, m.sex, m.education_stage, m.school, m.join_reason) == (
        Relation.daughter,
        Sex.female,
        EducationStage.undergraduate,
        "郑州大学",
        JoinReason.birth,
    )
    assert result.households == [household]
    assert household.income is not None
    assert household.income.net_income == Decimal("23500.50")
    assert household.income.per_capita(2) == Decimal("11750.25")


def test_english_headers_and_values_give_the_same_result() -> None:
    zh_rows = [head(), member()]
    en_rows = [
        {
            **zh_rows[0],
            "household_status": "lifted_out",
            "dibao": "A",
            "tekun": "no",
            "sex": "male",
            "relation": "head",
            "health": "healthy",
            "labour_ability": "normal",
            "education_stage": "junior",
            "join_reason": "registration",
        },
        {
            **zh_rows[1],
            "sex": "female",
            "relation": "daughter",
            "health": "healthy",
            "labour_ability": "normal",
            "education_stage": "undergraduate",
            "join_reason": "birth",
        },
    ]
    assert parse(en_rows, lang="en").rows == parse(zh_rows, lang="zh").rows


def test_header_variants_order_and_unknown_columns() -> None:
    row = head()
    header = [
        "Household Number",
        "VILLAGE_CODE",
        "户类型",
        "身份证号码",
        "姓名",
        "与户主的关系",
        "健康状况",
        "劳动技能",
        "备注",
    ]
    data = [
        header,
        [
            row["household_number"],
            VILLAGE,
            "一般农户",
            row["national_id"],
            "张三",
            "户主",
            "健康",
            "普通劳动力",
            "any remark",
        ],
    ]
    result = parse_rows(data, today=TODAY)
    assert result.errors == []
    assert result.ignored_columns == ("备注",)
    (only,) = result.rows
    # Columns left out take their defaults; sex and birth date come from the ID number.
    assert only.sex is Sex.male
    assert only.birth_date == date(1970, 3, 4)
    assert only.join_reason is JoinReason.registration
    assert only.education_stage is None
    assert only.household.tekun is False
    assert only.household.dibao is None
    assert only.household.income is None
    assert only.household.household_status is HouseholdStatus.ORDINARY


def test_header_with_bom_and_spaces() -> None:
    data = table([head()])
    data[0][0] = "\ufeff 户编号 "
    assert parse_rows(data, today=TODAY).ok


def test_missing_and_duplicate_columns_are_reported_on_row_1() -> None:
    keys = tuple(k for k in COLUMN_KEYS if k not in ("national_id", "relation"))
    data = table([head()], keys=keys)
    data[0].append("姓名")  # member_name twice
    result = parse_rows(data, today=TODAY)
    assert result.rows == []
    assert {(e.row_number, e.column, e.code) for e in result.errors} == {
        (1, "member_name", "duplicate_column"),
        (1, "national_id", "missing_column"),
        (1, "relation", "missing_column"),
    }


@pytest.mark.parametrize("rows", [[], [["", " "]]])
def test_empty_file(rows: list[list[str]]) -> None:
    result = parse_rows(rows, today=TODAY)
    assert result.errors == [RowError(1, None, "the file has no header row", "empty_file")]


# --- one error per kind, with row number and column ---------------------------------------

BAD_CELLS = [
    ("household_number", "H" * 65, "too_long"),
    ("village_code", "41060200100", "invalid_village_code"),
    ("village_code", "410602001000", "invalid_village_code"),  # a township, not a village
    ("village_code", "410006001001", "invalid_village_code"),
    ("address", "址" * 201, "too_long"),
    ("phone", "12345", "invalid_phone"),
    ("phone", "138001380001", "invalid_phone"),
    ("household_status", "贫困户", "invalid_value"),
    ("bank_account", "6228 48x0 0123", "invalid_bank_account"),
    ("bank_account", "123456789", "invalid_bank_account"),
    ("dibao", "D类", "invalid_value"),
    ("tekun", "maybe", "invalid_value"),
    ("insured_year", "1999", "invalid_year"),
    ("insured_year", "2028", "invalid_year"),
    ("insured_year", "20x6", "invalid_year"),
    ("member_name", "名" * 51, "too_long"),
    ("national_id", "41060219700304001", "invalid_format"),
    ("national_id", "4.10602E+17", "stored_as_number"),
    ("sex", "未知", "invalid_value"),
    ("birth_date", "1970-13-04", "invalid_date"),
    ("birth_date", "1970-02-30", "invalid_date"),
    ("birth_date", "2030-01-01", "invalid_date"),
    ("birth_date", "1899-12-31", "invalid_date"),
    ("birth_date", "25632", "invalid_date"),  # an Excel serial number
    ("birth_date", "March 4th", "invalid_date"),
    ("relation", "邻居", "invalid_value"),
    ("health", "不好", "invalid_value"),
    ("disability_grade", "5", "invalid_value"),
    ("labour_ability", "很强", "invalid_value"),
    ("education_stage", "幼稚园大班", "invalid_value"),
    ("school", "校" * 101, "too_long"),
    ("join_reason", "抱养", "invalid_value"),
    ("wage_income", "1e5", "invalid_amount"),
    ("wage_income", "NaN", "invalid_amount"),
    ("wage_income", "Infinity", "invalid_amount"),
    ("wage_income", "¥100", "invalid_amount"),
    ("wage_income", "100元", "invalid_amount"),
    ("wage_income", ".5", "invalid_amount"),
    ("wage_income", "1,23", "invalid_amount"),
    ("wage_income", "0x10", "invalid_amount"),
    ("business_income", "-5", "negative_amount"),
    ("property_income", "1.234", "too_many_decimals"),
    ("transfer_income", "99999999999", "out_of_range"),
    ("production_costs", "12.3.4", "invalid_amount"),
    ("income_year", "2027", "invalid_year"),  # incomes of a year not over yet… or in the future
    ("household_number", "", "required"),
    ("member_name", "", "required"),
    ("national_id", "", "required"),
    ("relation", "", "required"),
    ("health", "", "required"),
    ("labour_ability", "", "required"),
]


@pytest.mark.parametrize(("column", "value", "code"), BAD_CELLS)
def test_each_bad_cell_is_reported_with_row_and_column(column: str, value: str, code: str) -> None:
    rows = [head("H001"), head("H002", **{column: value})]
    result = parse(rows)
    assert codes_at(result, 3) == [(column, code)]
    assert codes_at(result, 2) == []
    assert [r.row_number for r in result.rows] == [2]
    assert result.invalid_row_numbers == frozenset({3})
    (error,) = result.errors
    assert error.message
    if rows[1]["national_id"]:
        assert rows[1]["national_id"] not in error.message


@pytest.mark.parametrize(
    ("first17", "code"),
    [
        ("41060219700304001", "invalid_check_digit"),
        ("41060219700231001", "invalid_birth_date"),
    ],
)
def test_national_id_errors_keep_their_codes(first17: str, code: str) -> None:
    valid = first17 + check_digit(first17)
    number = valid if code == "invalid_birth_date" else valid[:17] + ("0" if valid[17] != "0" else "1")
    result = parse([head(national_id=number, birth_date="", sex="")])
    assert codes_at(result, 2) == [("national_id", code)]


def test_birth_date_and_sex_must_agree_with_the_id() -> None:
    result = parse([head(birth_date="1970-03-05", sex="女")])
    assert codes_at(result, 2) == [("sex", "sex_mismatch"), ("birth_date", "birth_date_mismatch")]


@pytest.mark.parametrize("written", ["1970-03-04", "1970/3/4", "1970/03/04", "19700304", "1970.3.4", "1970年3月4日"])
def test_birth_date_formats(written: str) -> None:
    result = parse([head(birth_date=written)])
    assert result.ok, result.errors
    assert result.rows[0].birth_date == date(1970, 3, 4)


def test_disabled_member_needs_a_grade() -> None:
    result = parse([head(), member(health="残疾"), member(health="残疾", disability_grade="二级")])
    assert codes_at(result, 3) == [("disability_grade", "required")]
    assert codes_at(result, 4) == []
    assert result.rows[-1].disability_grade == 2


@pytest.mark.parametrize(
    ("cells", "field", "expected"),
    [
        ({"wage_income": "1,234.50"}, "wage", Decimal("1234.50")),
        ({"wage_income": "１２００"}, "wage", Decimal("1200.00")),  # full-width digits
        ({"wage_income": "12.500"}, "wage", Decimal("12.50")),  # trailing zeros are still whole fen
        ({"wage_income": " 7 "}, "wage", Decimal("7.00")),
        ({"phone": "0372-5123456"}, "phone", "03725123456"),
        ({"phone": "+86 138 0013 8000"}, "phone", "13800138000"),
        ({"bank_account": "6228 4800 1234 5678 901"}, "bank", "6228480012345678901"),
        ({"national_id": None}, "id_lower", None),
        ({"national_id": None}, "id_full_width", None),
        ({"tekun": "是"}, "tekun", True),
        ({"dibao": "无"}, "dibao", None),
        ({"dibao": "c"}, "dibao", DibaoClass.C),
        ({"household_status": "Sudden Hardship"}, "status", HouseholdStatus.SUDDEN_HARDSHIP),
        ({"household_status": "边缘易致贫户"}, "status", HouseholdStatus.MARGINAL),
        ({"relation": "本人"}, "relation", Relation.head),
    ],
)
def test_lenient_but_exact_cell_forms(cells: dict[str, str | None], field: str, expected: object) -> None:
    row = head()
    if field == "id_lower":
        born = date(1985, 6, 15)
        number = next(n for n in (make_national_id("410602", born, s) for s in range(1, 1000, 2)) if n[-1] == "X")
        row.update(national_id=number.lower(), birth_date="", sex="")
        expected = number
    elif field == "id_full_width":
        number = new_id(date(1988, 8, 8))
        row.update(national_id="".join(chr(ord(c) + 0xFEE0) for c in number), birth_date="", sex="")
        expected, field = number, "id_lower"
    else:
        row.update({k: v for k, v in cells.items() if v is not None})
    result = parse([row])
    assert result.ok, result.errors
    (only,) = result.rows
    household = only.household
    assert household.income is not None
    actual = {
        "wage": household.income.wage_income,
        "phone": household.phone,
        "bank": household.bank_account,
        "id_lower": only.national_id,
        "tekun": household.tekun,
        "dibao": household.dibao,
        "status": household.household_status,
        "relation": only.relation,
    }[field]
    assert actual == expected


def test_every_problem_on_every_row_is_reported_in_order() -> None:
    rows = [
        head("H001", phone="123", wage_income="-1", sex="未知"),
        member("H001", relation="", labour_ability="x"),
        head("H002", member_name=""),
    ]
    result = parse(rows)
    assert [(e.row_number, e.column, e.code) for e in result.errors] == [
        (2, "phone", "invalid_phone"),
        (2, "sex", "invalid_value"),
        (2, "wage_income", "negative_amount"),
        (3, "relation", "required"),
        (3, "labour_ability", "invalid_value"),
        (4, "member_name", "required"),
    ]
    assert result.rows == []
    assert result.households_with_errors == frozenset({"H001", "H002"})


def test_blank_rows_are_skipped_and_row_numbers_follow_the_sheet() -> None:
    data = table([head("H001"), head("H002", phone="1")])
    data.insert(2, ["", "  ", ""])  # a blank row 3 (shorter than the header, too)
    data.insert(3, [])
    result = parse_rows(data, today=TODAY)
    assert result.total_rows == 2
    assert codes_at(result, 5) == [("phone", "invalid_phone")]


def test_short_rows_are_padded_with_blanks() -> None:
    data = table([head()])
    data[1] = data[1][: COLUMN_KEYS.index("wage_income")]  # no incomes (nor anything after them)
    result = parse_rows(data, today=TODAY)
    assert result.ok
    assert result.rows[0].household.income is None


def test_a_row_leaving_its_households_columns_blank_parses_as_one_that_fills_them_with_spaces() -> None:
    # A household's later rows usually leave its columns blank, and are parsed through their member
    # columns alone; a cell of spaces is blank too, but is looked at column by column: the two agree,
    # errors and mismatches included.
    from tests.registry.test_imports import COL, template_rows

    rows = template_rows(400, seed=5151, today=TODAY)
    rows[7][COL["sex"]] = "未知"  # a member cell's problem on a later row of a household
    rows[12][COL["address"]] = "另一个地址"  # a later row that disagrees with its household
    rows[20] = rows[20][: COL["wage_income"]]  # a short later row
    household_columns = [i for i, c in enumerate(COLUMNS) if c.household_level]
    spaced = [list(row) for row in rows]
    for row in spaced[1:]:
        for i in household_columns:
            if i < len(row) and row[i] == "":
                row[i] = "  "
    fast, slow = parse_rows(rows, today=TODAY), parse_rows(spaced, today=TODAY)
    assert fast == slow
    assert {e.code for e in fast.errors} >= {"invalid_value", "household_mismatch"}, fast.errors
    assert len(fast.rows) > 300


# --- checks across rows -------------------------------------------------------------------


def test_the_same_national_id_twice_flags_every_occurrence() -> None:
    first = head("H001")
    twin = head("H002", national_id=first["national_id"].lower())
    result = parse([first, member("H001"), twin])
    assert codes_at(result, 2) == [("national_id", "duplicate_national_id")]
    assert codes_at(result, 4) == [("national_id", "duplicate_national_id")]
    messages = {e.row_number: e.message for e in result.errors}
    assert "row 4" in messages[2]
    assert "row 2" in messages[4]
    assert first["national_id"] not in messages[2]
    assert [r.row_number for r in result.rows] == [3]


def test_household_level_fields_inherit_blanks_and_must_agree() -> None:
    rows = [
        head("H001"),
        member("H001", village_code=VILLAGE, address="文峰区某村三组"),  # the same values: fine
        member("H001", village_code="410602001002"),
        member("H001", dibao="无", tekun="是", wage_income="20000.00", household_status="ordinary"),
    ]
    result = parse(rows)
    assert codes_at(result, 3) == []
    assert codes_at(result, 4) == [("village_code", "household_mismatch")]
    assert codes_at(result, 5) == [
        ("household_status", "household_mismatch"),
        ("dibao", "household_mismatch"),
        ("tekun", "household_mismatch"),
    ]
    message = next(e.message for e in result.errors if e.row_number == 4)
    assert "row 2" in message
    assert "村代码" in message
    # The household keeps the first values; the agreeing rows are imported.
    assert [r.row_number for r in result.rows] == [2, 3]
    assert result.rows[1].household.village_code == VILLAGE
    assert result.households_with_errors == frozenset({"H001"})


def test_household_fields_may_sit_on_any_one_row() -> None:
    first = head("H001")
    household_cells = {k: first.pop(k) for k in ("village_code", "household_status", "dibao", "income_year")}
    rows = [first, member("H001", **household_cells)]
    result = parse(rows)
    assert result.ok, result.errors
    assert {r.household.village_code for r in result.rows} == {VILLAGE}
    assert result.rows[0].household.dibao is DibaoClass.A


def test_a_required_household_field_missing_on_every_row() -> None:
    result = parse([head("H001", household_status=""), member("H001")])
    assert codes_at(result, 2) == [("household_status", "required")]
    assert codes_at(result, 3) == [("household_status", "required")]
    assert result.rows == []


def test_incomes_need_an_income_year() -> None:
    result = parse([head("H001", income_year=""), member("H001")])
    assert codes_at(result, 2) == [("income_year", "required")]
    assert codes_at(result, 3) == [("income_year", "required")]


def test_a_household_needs_exactly_one_head() -> None:
    rows = [
        member("H001", village_code=VILLAGE, household_status="一般农户"),
        member("H001"),  # no head
        head("H002"),
        head("H002"),
        member("H002"),  # two heads
        head("H003"),
        member("H003"),  # fine
    ]
    result = parse(rows)
    for row_number in (2, 3):
        assert codes_at(result, row_number) == [("relation", "no_head")]
    for row_number in (4, 5, 6):
        assert codes_at(result, row_number) == [("relation", "multiple_heads")]
    assert "rows 4, 5" in next(e.message for e in result.errors if e.row_number == 6)
    assert [r.row_number for r in result.rows] == [7, 8]
    assert [h.household_number for h in result.households] == ["H003"]
    assert result.households_with_errors == frozenset({"H001", "H002"})


def test_a_head_row_with_another_error_still_counts_as_the_head() -> None:
    # valid_rows imports can then keep the household's other members.
    result = parse([head("H001", phone="1"), member("H001")])
    assert codes_at(result, 2) == [("phone", "invalid_phone")]
    assert codes_at(result, 3) == []
    assert [r.row_number for r in result.rows] == [3]


def test_messages_never_contain_id_or_bank_numbers() -> None:
    first = head("H001", bank_account="6228480012345678901")
    rows = [
        first,
        head("H001", national_id=first["national_id"], bank_account="6228480012345678902"),
        member("H001", national_id=first["national_id"][:17] + "0", sex="", birth_date=""),
    ]
    result = parse(rows)
    assert len(result.errors) >= 3
    secrets = [first["national_id"], "6228480012345678901", "6228480012345678902", rows[2]["national_id"]]
    for error in result.errors:
        for secret in secrets:
            assert secret not in error.message


# --- CSV ----------------------------------------------------------------------------------


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings(encoding: str) -> None:
    rows = table([head(address='文峰区, 某村 "三组"'), member()])
    data = _csv_text(rows).encode(encoding)
    assert list(read_csv(data)) == rows
    result = parse_rows(read_csv(data), today=TODAY)
    assert result.ok, result.errors
    assert result.rows[0].household.address == '文峰区, 某村 "三组"'


def test_csv_with_a_line_break_inside_a_quoted_cell() -> None:
    rows = table([head(address="一组\n二号")])
    assert list(read_csv(_csv_text(rows).encode()))[1][2] == "一组\n二号"


@pytest.mark.parametrize("data", [b"\xff\xfe\xff", b"\x80abc"])
def test_csv_in_no_known_encoding(data: bytes) -> None:
    with pytest.raises(InvalidImportFile):
        read_csv(data)


def test_truncated_csv_is_an_invalid_file() -> None:
    data = _csv_text(table([head()])).encode() + b'H002,"410602001001'
    with pytest.raises(InvalidImportFile, match="malformed CSV"):
        parse_rows(read_csv(data), today=TODAY)


# --- XLSX ---------------------------------------------------------------------------------


def _xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _typed(row: dict[str, str]) -> list[object]:
    """A row as a person would type it into Excel: dates and numbers as such, IDs as text."""
    typed: dict[str, object] = dict(row)
    typed["birth_date"] = datetime.fromisoformat(row["birth_date"])
    for key in ("wage_income", "business_income", "property_income", "transfer_income", "production_costs"):
        if row.get(key):
            typed[key] = float(row[key]) if "." in row[key] else int(row[key])
    for key in ("insured_year", "income_year"):
        if row.get(key):
            typed[key] = int(row[key])
    return [typed.get(key) if typed.get(key, "") != "" else None for key in COLUMN_KEYS]


def test_xlsx_round_trip() -> None:
    rows = [head(business_income="8000.5"), member()]  # Excel shows 8000.50 typed as a number as 8000.5
    data = _xlsx([template_headers("zh"), *(_typed(r) for r in rows)])

    read = list(read_xlsx(data))
    assert read == table(rows)  # the same strings the CSV would have
    assert parse_rows(iter(read), today=TODAY).rows == parse(rows).rows


def test_xlsx_cells_become_csv_strings() -> None:
    data = _xlsx(
        [
            ["a", "b", "c", "d", "e", "f", "g"],
            [datetime(1990, 1, 2), datetime(1990, 1, 2, 8, 30), 2025, 2025.0, 0.1 + 0.2, 1234.5, True],
            [date(2001, 2, 3), None, 1e16, -3, 12345678.91, "  text ", False],
        ]
    )
    assert list(read_xlsx(data)) == [
        ["a", "b", "c", "d", "e", "f", "g"],
        ["1990-01-02", "1990-01-02 08:30:00", "2025", "2025", "0.3", "1234.5", "TRUE"],
        ["2001-02-03", "", "10000000000000000", "-3", "12345678.91", "  text ", "FALSE"],
    ]
    numbers = list(read_xlsx(data))[1]
    assert isinstance(numbers[2], NumericCell)
    assert not isinstance(numbers[0], NumericCell)


def test_xlsx_id_and_account_stored_as_numbers_are_errors() -> None:
    row = head()
    cells = _typed(row)
    cells[COLUMN_KEYS.index("national_id")] = 410602197003040000  # what Excel leaves of an ID
    cells[COLUMN_KEYS.index("bank_account")] = 6228480012345678901
    data = _xlsx([template_headers("zh"), cells])
    result = parse_rows(read_xlsx(data), today=TODAY)
    assert codes_at(result, 2) == [("bank_account", "stored_as_number"), ("national_id", "stored_as_number")]
    assert "text" in result.errors[0].message
    assert "410602197003040000" not in result.errors[1].message


def test_xlsx_phone_number_stored_as_number_is_fine() -> None:
    row = head()
    cells = _typed(row)
    cells[COLUMN_KEYS.index("phone")] = 13800138000
    result = parse_rows(read_xlsx(_xlsx([template_headers("zh"), cells])), today=TODAY)
    assert result.ok, result.errors


@pytest.mark.parametrize("data", [b"", b"not a zip", _csv_text([["a", "b"]]).encode(), b"PK\x03\x04broken"])
def test_not_an_xlsx_workbook(data: bytes) -> None:
    with pytest.raises(InvalidImportFile) as caught:
        read_xlsx(data)
    assert caught.value.code == "invalid_file"


def test_xlsx_numeric_household_numbers_are_kept_when_exact() -> None:
    short, long = _typed(head("H1")), _typed(head("H2"))
    short[COLUMN_KEYS.index("household_number")] = 1001
    long[COLUMN_KEYS.index("household_number")] = 4106020010010000123
    result = parse_rows(read_xlsx(_xlsx([template_headers("zh"), short, long])), today=TODAY)
    assert [r.household_number for r in result.rows] == ["1001"]
    assert codes_at(result, 3) == [("household_number", "stored_as_number")]


# --- robustness ---------------------------------------------------------------------------

cells = st.one_of(
    st.text(max_size=25),
    st.sampled_from(["户主", "之子", "男", "女", "健康", "残疾", "1e5", "-0", "2025", "1990-02-29", "X", VILLAGE]),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.lists(st.lists(cells, max_size=30), max_size=8), lang=st.sampled_from(["zh", "en"]))
def test_arbitrary_cells_never_crash_and_every_rejected_row_says_why(body: list[list[str]], lang: str) -> None:
    result = parse_rows([template_headers(lang), *body], today=TODAY)  # type: ignore[arg-type]
    reported = {e.row_number for e in result.errors}
    data_rows = {n for n, row in enumerate(body, start=2) if any(c.strip() for c in row[:26])}
    accepted = {r.row_number for r in result.rows}
    assert accepted | reported == data_rows
    assert not accepted & reported
    assert result.invalid_row_numbers == reported
    for error in result.errors:
        assert error.column in COLUMN_KEYS
        assert error.message


# --- speed --------------------------------------------------------------------------------


def _big_file(members: int) -> Iterator[list[str]]:
    yield template_headers("zh")
    relations = ["户主", "配偶", "之子", "之女", "之父", "之母"]
    serial = 0
    household = 0
    while serial < members:
        household += 1
        for position in range(1 + household % 5):
            if serial >= members:
                break
            born = date(1940, 1, 1) + timedelta(days=serial // 1000)
            sex = Sex.male if serial % 2 else Sex.female
            number = make_national_id("410602", born, sequence_for(sex, (serial % 1000) // 2))
            serial += 1
            household_cells = (
                [VILLAGE, "某村", "13800138000", "一般农户", "6228480012345678901", "", "否", "2026"]
                if position == 0
                else [""] * 8
            )
            incomes = ["24000.00", "3000", "0", "1200.50", "800", "2025"] if position == 0 else [""] * 6
            yield [
                f"H{household:07d}",
                *household_cells,
                f"成员{serial}",
                number,
                sex.label_zh,
                born.isoformat(),
                relations[position],
                "健康",
                "",
                "普通劳动力",
                "初中",
                "",
                "建档",
                *incomes,
            ]


def test_parsing_100k_rows_is_fast(capsys: pytest.CaptureFixture[str]) -> None:
    text = _csv_text(list(_big_file(100_000))).encode("utf-8")
    started, cpu_started = time.perf_counter(), time.process_time()
    result = parse_rows(read_csv(text), today=TODAY)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert result.errors == []
    assert len(result.rows) == 100_000
    with capsys.disabled():
        print(
            f"\n[registry import] parsed 100,000 CSV rows ({len(result.households):,} households, "
            f"{len(text) / 1e6:.1f} MB) in {elapsed:.2f}s wall, {cpu:.2f}s CPU = {100_000 / elapsed:,.0f} rows/s"
        )

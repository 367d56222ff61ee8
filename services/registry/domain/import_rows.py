"""The bulk import template: one row per member, grouped into households by household number.

``parse_rows`` validates every cell of every row and reports each problem as a ``RowError``
(row number as the spreadsheet shows it, header = row 1; column key; message; stable code),
then runs the checks that span rows: the same national ID twice in the file, rows of one
household disagreeing on a household-level field, exactly one head (户主) per household.

Household-level fields (village, address, status, flags, bank account, incomes…) may be
filled on every row of the household or on just one of them (merged cells in a spreadsheet
arrive as one filled cell and blanks); blanks inherit, filled cells must agree.

``read_csv`` / ``read_xlsx`` turn a file (bytes, or a binary file read as it goes) into rows of
strings for ``parse_rows``.

Pure apart from reading the file handed in: no other I/O, no clock (``today`` is passed in). Messages
never repeat a national ID or bank account, so errors can be stored and shown safely.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from operator import attrgetter, itemgetter
from typing import IO, Any, Final, Literal, TypeVar

from services.registry.domain.model import (
    MONITORING_TYPES,
    DibaoClass,
    EducationLevel,
    EducationStage,
    Employment,
    Health,
    HouseholdStatus,
    JoinReason,
    LabelledEnum,
    LabourAbility,
    PovertyCause,
    Relation,
    RiskType,
    Sex,
    per_capita_net_income,
)
from services.registry.domain.national_id import InvalidNationalId, validate_national_id
from services.registry.domain.regions import InvalidRegionCode, RegionLevel, parse_region_code
from shared.contracts.types import forbidden_character

# --------------------------------------------------------------------------------------------
# Template

Lang = Literal["zh", "en"]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header_zh: str
    required: bool  # the column must be present and (per household for household-level) filled
    household_level: bool  # one value per household; blanks inherit, filled cells must agree
    description: str


COLUMNS: Final[tuple[Column, ...]] = (
    Column("household_number", "户编号", True, False, "Household number, unique in the county."),
    Column("village_code", "村代码", True, True, "12-digit division code of the village."),
    Column("address", "地址", False, True, "Address."),
    Column("phone", "联系电话", False, True, "Mobile (11 digits) or landline with area code."),
    Column(
        "household_status",
        "户类型",
        True,
        True,
        "一般农户/脱贫户/脱贫不稳定户/边缘易致贫户/突发严重困难户 or ordinary/lifted_out/…",
    ),
    Column("bank_account", "银行账号", False, True, "Account for payouts, digits only (format the column as text)."),
    Column("dibao", "低保", False, True, "A/B/C (A类, B类, C类), blank or 无 when not on dibao."),
    Column("tekun", "特困", False, True, "是/否 (yes/no); blank means no."),
    Column("insured_year", "参保年度", False, True, "Year the household is insured for (防贫保险)."),
    Column("member_name", "姓名", True, False, "Member's name."),
    Column("national_id", "身份证号", True, False, "18-character resident ID (format the column as text)."),
    Column("sex", "性别", False, False, "男/女 (male/female); blank: taken from the ID."),
    Column("birth_date", "出生日期", False, False, "YYYY-MM-DD (or 1990/1/1, 19900101); blank: taken from the ID."),
    Column("relation", "与户主关系", True, False, "户主, 配偶, 之子, 之女, … (head, spouse, son, …)."),
    Column(
        "health", "健康状况", True, False, "健康/长期慢性病/患有大病/残疾 (healthy/chronic/serious_illness/disabled)."
    ),
    Column("disability_grade", "残疾等级", False, False, "1–4 (一级…四级); required when health is 残疾."),
    Column("labour_ability", "劳动能力", True, False, "普通劳动力/弱劳动力或半劳动力/无劳动力 (normal/weak/none)."),
    Column(
        "education_stage",
        "在校/学历阶段",
        False,
        False,
        "无, 学前教育, 小学, 初中, 高中, 中职, 大专, 本科, 研究生 (none, preschool, …).",
    ),
    Column("school", "学校", False, False, "School attended, if in school."),
    Column(
        "join_reason",
        "加入原因",
        False,
        False,
        "出生/婚入/迁入/建档 (birth/marriage_in/moved_in/registration); blank: 建档.",
    ),
    Column("wage_income", "工资性收入", False, True, "Yuan per year, up to 2 decimals."),
    Column("business_income", "经营性收入", False, True, "Yuan per year."),
    Column("property_income", "财产性收入", False, True, "Yuan per year."),
    Column("transfer_income", "转移性收入", False, True, "Yuan per year."),
    Column("production_costs", "生产经营支出", False, True, "Yuan per year."),
    Column("income_year", "收入年度", False, True, "Year of the incomes; required when any income is given."),
    # The register's fields (rules.md §3; docs/register.md): all optional, so older files still import.
    Column("grid_code", "网格编码", False, True, "Grid (网格) code: the village code and 1–4 more characters."),
    Column("poverty_cause", "主要致贫原因", False, True, "因病, 因残, 因学, 因灾, 缺土地, 缺水, 缺技术, 缺劳力, …"),
    Column("other_causes", "其他致贫原因", False, True, "At most two more causes, separated by 、 or ,."),
    Column("registered_year", "识别年度", False, True, "Year first identified as poor (建档立卡)."),
    Column("lifted_out_year", "脱贫年度", False, True, "Year lifted out (脱贫户 only)."),
    Column(
        "monitoring_type",
        "监测对象类别",
        False,
        True,
        "脱贫不稳定户/边缘易致贫户/突发严重困难户; blank: not monitored. A migration, not a monitoring decision.",
    ),
    Column("monitoring_since", "识别监测时间", False, True, "When monitoring began: YYYYMM (202103) or a date."),
    Column("risk_types", "风险类型", False, True, "Risk types (因病, 因残, 因学, 因自然灾害, …), separated by 、."),
    Column("relocated", "易地扶贫搬迁", False, True, "是/否 (yes/no); blank means no."),
    Column("resettlement_site", "安置点", False, True, "Resettlement site, when relocated."),
    Column("education_level", "文化程度", False, False, "文盲或半文盲, 小学, 初中, 高中, 大专及以上."),
    Column("employment", "务工状况", False, False, "未务工, 乡镇内, 县内, 省内, 省外 (where the member works)."),
    Column("months_worked", "务工时间（月）", False, False, "Months worked in the year, 0–12."),
    Column(
        "medical_insured_years",
        "城乡居民基本医疗保险",
        False,
        False,
        "Years enrolled (2025、2026), or 是/否 for the current year.",
    ),
    Column(
        "pension_insured_years",
        "城乡居民基本养老保险",
        False,
        False,
        "Years enrolled (2025、2026), or 是/否 for the current year.",
    ),
    # The rest of the payout account (issue 14) that the claims bank file (代发文件) needs beside 银行账号:
    # appended, so files and tests laid out by position on the columns above read as before.
    Column(
        "account_holder",
        "户名",
        False,
        True,
        "Name on the payout account (账户户名), 1–50 characters; blank: the bank file has no holder. Needs 银行账号.",
    ),
    Column(
        "bank_name", "开户行", False, True, "Bank (and branch) of the payout account, 1–100 characters. Needs 银行账号."
    ),
    # The household's responsible cadre 帮扶责任人 (rules.md §3; issue 12): one per household, on any of its
    # rows (blanks inherit, filled cells must agree); appended, so positional layouts of the columns above hold.
    Column("cadre_name", "帮扶责任人姓名", False, True, "Responsible cadre's name, 1–50 characters."),
    Column("cadre_work_unit", "单位名称", False, True, "The cadre's work unit (单位名称), 1–100 characters."),
    Column("cadre_affiliation", "隶属关系", False, True, "隶属关系 (县直, 乡镇, 市直, 省直 …), 1–50 characters."),
    Column("cadre_phone", "帮扶责任人电话", False, True, "The cadre's mobile (11 digits) or landline with area code."),
    Column("cadre_start_date", "帮扶开始时间", False, True, "YYYY-MM-DD (or YYYYMM: the month's first day)."),
    Column("cadre_end_date", "帮扶结束时间", False, True, "YYYY-MM-DD; blank: open. Not before 帮扶开始时间."),
    # The village by name instead of 村代码 (issue 12): read only when the household gives no code; matched
    # against the villages of the importer's region (乡镇名称 tells two villages of one name apart).
    Column("township_name", "乡镇名称", False, True, "Township (乡镇) name: with 村名称 when 村代码 is blank."),
    Column("village_name", "村名称", False, True, "Village (行政村) name, used when 村代码 is blank."),
)
CADRE_KEYS: Final = (
    "cadre_name",
    "cadre_work_unit",
    "cadre_affiliation",
    "cadre_phone",
    "cadre_start_date",
    "cadre_end_date",
)
#: the columns a household must fill when it gives a cadre at all (as POST …/cadres requires them)
_CADRE_REQUIRED: Final = ("cadre_name", "cadre_work_unit", "cadre_phone", "cadre_start_date")
COLUMN_KEYS: Final = tuple(column.key for column in COLUMNS)
_COLUMN_BY_KEY: Final = {column.key: column for column in COLUMNS}
_COLUMN_ORDER: Final = {key: i for i, key in enumerate(COLUMN_KEYS)}
INCOME_KEYS: Final = (
    "wage_income",
    "business_income",
    "property_income",
    "transfer_income",
    "production_costs",
)
HOUSEHOLD_KEYS: Final = tuple(column.key for column in COLUMNS if column.household_level)

# Headers seen in county spreadsheets and the national register's exports.
_HEADER_ALIASES: Final[dict[str, str]] = {
    "户号": "household_number",
    "户编码": "household_number",
    "村级代码": "village_code",
    "村编码": "village_code",
    "行政区划代码": "village_code",
    "家庭住址": "address",
    "住址": "address",
    "电话": "phone",
    "联系方式": "phone",
    "手机号": "phone",
    "户属性": "household_status",
    "农户类型": "household_status",
    "银行卡号": "bank_account",
    "账号": "bank_account",
    "银行账户": "bank_account",
    "账户名": "account_holder",
    "账户户名": "account_holder",
    "开户人": "account_holder",
    "持卡人": "account_holder",
    "收款人": "account_holder",
    "开户银行": "bank_name",
    "开户行名称": "bank_name",
    "银行名称": "bank_name",
    "低保类别": "dibao",
    "是否低保": "dibao",
    "是否特困": "tekun",
    "特困供养": "tekun",
    "参保年份": "insured_year",
    "身份证号码": "national_id",
    "公民身份号码": "national_id",
    "证件号码": "national_id",
    "与户主的关系": "relation",
    "劳动技能": "labour_ability",
    "在校生状况": "education_stage",
    "学历阶段": "education_stage",
    "在校阶段": "education_stage",
    "生产经营性支出": "production_costs",
    "收入年份": "income_year",
    # the national systems' exports (rules.md §3, docs/register.md)
    "网格": "grid_code",
    "所属网格": "grid_code",
    "致贫原因": "poverty_cause",
    "首次识别时间": "registered_year",
    "识别时间": "registered_year",
    "脱贫时间": "lifted_out_year",
    "监测类型": "monitoring_type",
    "监测对象类型": "monitoring_type",
    "纳入监测时间": "monitoring_since",
    "致贫/返贫风险": "risk_types",
    "致贫返贫风险": "risk_types",
    "是否易地扶贫搬迁": "relocated",
    "搬迁": "relocated",
    "安置点名称": "resettlement_site",
    "务工所在地": "employment",
    "务工时间": "months_worked",
    "务工月数": "months_worked",
    "是否参加城乡居民基本医疗保险": "medical_insured_years",
    "是否参加新农合": "medical_insured_years",
    "新农合": "medical_insured_years",
    "是否参加城乡居民基本养老保险": "pension_insured_years",
    "城乡居民养老保险": "pension_insured_years",
    # 帮扶责任人 (the older 建档立卡 register; rules.md §3). A bare 联系电话 stays the household's phone.
    "帮扶责任人": "cadre_name",
    "帮扶人姓名": "cadre_name",
    "帮扶责任人单位": "cadre_work_unit",
    "帮扶单位": "cadre_work_unit",
    "帮扶责任人隶属关系": "cadre_affiliation",
    "帮扶责任人联系电话": "cadre_phone",
    "帮扶人电话": "cadre_phone",
    "帮扶开始日期": "cadre_start_date",
    "帮扶结束日期": "cadre_end_date",
    # the village by name (when 村代码 is blank)
    "乡镇": "township_name",
    "乡(镇)": "township_name",
    "乡镇名": "township_name",
    "村名": "village_name",
    "行政村": "village_name",
    "行政村名称": "village_name",
}
# Columns a national export splits in numbered parts (致贫/返贫风险1 … 5): every part is read, joined.
MULTI_PART: Final[dict[str, str]] = {
    **{f"致贫/返贫风险{i}": "risk_types" for i in range(1, 6)},
    **{f"致贫返贫风险{i}": "risk_types" for i in range(1, 6)},
    **{f"风险类型{i}": "risk_types" for i in range(1, 6)},
    **{f"其他致贫原因{i}": "other_causes" for i in range(1, 3)},
}


def template_headers(lang: Lang = "zh") -> list[str]:
    """The header row of the import template, in Chinese (``"zh"``) or English (``"en"``)."""
    if lang == "zh":
        return [column.header_zh for column in COLUMNS]
    if lang == "en":
        return list(COLUMN_KEYS)
    raise ValueError("lang must be 'zh' or 'en'")


def template_csv(lang: Lang = "zh") -> bytes:
    """A header-only CSV template, UTF-8 with a BOM so that Excel opens it as UTF-8."""
    from shared.spreadsheets import csv_bytes  # the one spreadsheet writer

    return csv_bytes(template_headers(lang), [])


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class RowError:
    row_number: int  # as the spreadsheet shows it; the header is row 1
    column: str | None  # column key (``national_id``); None when the whole row is concerned
    message: str
    code: str


_T = TypeVar("_T")


def _pickled_by_fields(cls: type[_T]) -> type[_T]:
    """Pickle a row dataclass as its class and its fields' values, rebuilt by one `__init__` call,
    not field by field through `__getstate__`/`__setstate__` (a part of an import parsed in another
    process: measured 3× faster both ways for 50,000 member rows).

    The row classes are not ``frozen``: a frozen dataclass's `__init__` sets each field through
    `object.__setattr__`, 4× the cost of a plain one (2.1 against 0.5 µs for a member row's 18
    fields); for 100,000 member rows the parse took 6 % longer and the unpickling of a part twice
    as long. Nothing changes a row once it is made, and nothing hashes one."""
    values = attrgetter(*(f.name for f in fields(cls)))  # type: ignore[arg-type]

    def __reduce__(self: Any) -> tuple[Any, ...]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign]
    return cls


@_pickled_by_fields
@dataclass(slots=True)
class IncomeRow:
    income_year: int
    wage_income: Decimal
    business_income: Decimal
    property_income: Decimal
    transfer_income: Decimal
    production_costs: Decimal

    @property
    def net_income(self) -> Decimal:
        return (
            self.wage_income
            + self.business_income
            + self.property_income
            + self.transfer_income
            - self.production_costs
        )

    def per_capita(self, members: int) -> Decimal | None:
        return per_capita_net_income(
            self.wage_income,
            self.business_income,
            self.property_income,
            self.transfer_income,
            self.production_costs,
            members,
        )


@_pickled_by_fields
@dataclass(slots=True)
class CadreRow:
    """A household's responsible cadre 帮扶责任人 as the file gives it (validated as POST …/cadres)."""

    name: str
    work_unit: str
    affiliation: str | None
    phone: str  # digits only
    start_date: date
    end_date: date | None


@dataclass(frozen=True, slots=True)
class Village:
    """A village of the importer's region, for finding a village by name."""

    code: str
    name: str
    township_name: str | None


def _place_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split())


class VillageDirectory:
    """The villages of a region by name (and township name), to resolve 村名称 / 乡镇名称."""

    def __init__(self, villages: Iterable[Village]) -> None:
        self._by_name: dict[str, list[Village]] = {}
        for village in villages:
            self._by_name.setdefault(_place_key(village.name), []).append(village)

    def find(self, village_name: str, township_name: str | None) -> tuple[str | None, str | None]:
        """(code, None) when exactly one village matches, else (None, problem code)."""
        found = self._by_name.get(_place_key(village_name), [])
        if township_name is not None:
            wanted = _place_key(township_name)
            found = [v for v in found if v.township_name is not None and _place_key(v.township_name) == wanted]
        if not found:
            return None, "village_not_found"
        if len(found) > 1:
            return None, "village_ambiguous"
        return found[0].code, None


@_pickled_by_fields
@dataclass(slots=True)
class HouseholdRow:
    """The household-level fields of a household, resolved over all its rows."""

    household_number: str
    row_number: int  # the household's first row
    village_code: str  # 12 digits
    address: str | None
    phone: str | None  # digits only
    household_status: HouseholdStatus
    bank_account: str | None  # digits only
    dibao: DibaoClass | None
    tekun: bool
    insured_year: int | None
    income: IncomeRow | None  # None when the file gives no income for the household
    base_status: HouseholdStatus | None = None  # ordinary / lifted_out (None: household_status)
    monitoring_since: date | None = None
    risk_types: tuple[str, ...] = ()
    poverty_cause: str | None = None
    other_causes: tuple[str, ...] = ()
    registered_year: int | None = None
    lifted_out_year: int | None = None
    relocated: bool = False
    resettlement_site: str | None = None
    grid_code: str | None = None
    account_holder: str | None = None  # 户名: the payout account's holder (the claims bank file)
    bank_name: str | None = None  # 开户行
    cadre: CadreRow | None = None  # 帮扶责任人

    @property
    def monitored(self) -> bool:
        return self.household_status in MONITORING_TYPES


@_pickled_by_fields
@dataclass(slots=True)
class MemberRow:
    row_number: int
    household: HouseholdRow
    member_name: str
    national_id: str  # normalised: 18 characters, upper-case X
    sex: Sex
    birth_date: date
    relation: Relation
    health: Health
    disability_grade: int | None
    labour_ability: LabourAbility
    education_stage: EducationStage | None
    school: str | None
    join_reason: JoinReason
    education_level: str | None = None
    employment: str | None = None
    months_worked: int | None = None
    medical_insured_years: tuple[int, ...] = ()
    pension_insured_years: tuple[int, ...] = ()

    @property
    def household_number(self) -> str:
        return self.household.household_number


@dataclass(frozen=True, slots=True)
class ParseResult:
    rows: list[MemberRow]  # the valid rows, in file order
    errors: list[RowError]  # ordered by row, then by template column; the first `max_errors` only
    total_rows: int  # data rows read (blank rows are skipped and not counted)
    ignored_columns: tuple[str, ...] = ()  # headers that are not template columns
    invalid_row_numbers: frozenset[int] = frozenset()
    # Household numbers with at least one invalid row: an importer that keeps households whole
    # skips these.
    households_with_errors: frozenset[str] = frozenset()
    # Every error found, kept or not (None: as many as `errors` holds).
    error_count: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total_errors(self) -> int:
        return len(self.errors) if self.error_count is None else self.error_count

    @property
    def households(self) -> list[HouseholdRow]:
        """Households with at least one valid row, in order of first appearance."""
        seen: dict[str, HouseholdRow] = {}
        for row in self.rows:
            seen.setdefault(row.household.household_number, row.household)
        return list(seen.values())


# --------------------------------------------------------------------------------------------
# Cell parsers: text (stripped, non-empty) in, value out, or _Problem raised.


class _Problem(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message


class NumericCell(str):
    """A cell value that the spreadsheet stored as a number (``read_xlsx`` marks them), so that
    columns which must be text (ID numbers, bank accounts) can say what went wrong."""

    __slots__ = ()


_NO: Final = object()  # an explicit "none" (无) in a household-level column: a value, not a blank


def _nfkc(text: str) -> str:
    # Full-width digits and letters (１２３, Ｘ) from Chinese input methods become ASCII.
    return text if text.isascii() else unicodedata.normalize("NFKC", text).strip()


def _text(max_length: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if len(text) > max_length:
            raise _Problem("too_long", f"at most {max_length} characters")
        return text

    return parse


#: Text that a spreadsheet program would run as a formula (shared/spreadsheets.py FORMULA_PREFIXES).
_FORMULA_LEADS: Final = ("=", "+", "-", "@")


def _plain_text(max_length: int) -> Callable[[str], str]:
    """Bounded text that cannot start a formula: a name or a bank printed in the bank file (代发文件)."""
    bounded = _text(max_length)

    def parse(text: str) -> str:
        text = bounded(text.strip())
        if text.startswith(_FORMULA_LEADS):
            raise _Problem("invalid_value", "may not start with =, +, - or @ (a spreadsheet formula)")
        return text

    return parse


def _enum_lookup(enum: type[LabelledEnum], aliases: Mapping[str, LabelledEnum] | None = None) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for member in enum:
        table[member.value.lower()] = member
        table[member.label_zh.lower()] = member
    for alias, member in (aliases or {}).items():
        table[alias.lower()] = member
    return table


def _enum(enum: type[LabelledEnum], table: dict[str, Any]) -> Callable[[str], Any]:
    accepted = ", ".join(f"{m.label_zh}/{m.value}" for m in enum)

    def parse(text: str) -> Any:
        found = table.get(text.lower(), _MISSING)
        if found is _MISSING:
            found = table.get(_nfkc(text).lower().replace(" ", "_").replace("-", "_"), _MISSING)
        if found is _MISSING:
            raise _Problem("invalid_value", f"{text[:20]!r} is not one of: {accepted}")
        return found

    return parse


_MISSING: Final = object()

_STATUS = _enum_lookup(
    HouseholdStatus,
    {
        "一般户": HouseholdStatus.ORDINARY,
        "已脱贫户": HouseholdStatus.LIFTED_OUT,
        "稳定脱贫户": HouseholdStatus.LIFTED_OUT,
        "脱贫不稳定": HouseholdStatus.UNSTABLE,
        "边缘户": HouseholdStatus.MARGINAL,
        "边缘易致贫": HouseholdStatus.MARGINAL,
        "突发困难户": HouseholdStatus.SUDDEN_HARDSHIP,
        "突发严重困难": HouseholdStatus.SUDDEN_HARDSHIP,
    },
)
_RELATION = _enum_lookup(
    Relation,
    {
        "本人": Relation.head,
        "户主本人": Relation.head,
        "妻": Relation.spouse,
        "妻子": Relation.spouse,
        "之妻": Relation.spouse,
        "夫": Relation.spouse,
        "丈夫": Relation.spouse,
        "之夫": Relation.spouse,
        "子": Relation.son,
        "儿子": Relation.son,
        "女": Relation.daughter,
        "女儿": Relation.daughter,
        "女婿": Relation.son_in_law,
        "儿媳": Relation.daughter_in_law,
        "儿媳妇": Relation.daughter_in_law,
        "之媳": Relation.daughter_in_law,
        "孙子": Relation.grandson,
        "外孙子": Relation.grandson,
        "之外孙子": Relation.grandson,
        "外孙": Relation.grandson,
        "孙女": Relation.granddaughter,
        "外孙女": Relation.granddaughter,
        "之外孙女": Relation.granddaughter,
        "父": Relation.father,
        "父亲": Relation.father,
        "之父亲": Relation.father,
        "母": Relation.mother,
        "母亲": Relation.mother,
        "之母亲": Relation.mother,
        "岳父": Relation.father_in_law,
        "公公": Relation.father_in_law,
        "之公公": Relation.father_in_law,
        "岳母": Relation.mother_in_law,
        "婆婆": Relation.mother_in_law,
        "之婆婆": Relation.mother_in_law,
        "祖父": Relation.grandfather,
        "外祖父": Relation.grandfather,
        "之外祖父": Relation.grandfather,
        "祖母": Relation.grandmother,
        "外祖母": Relation.grandmother,
        "之外祖母": Relation.grandmother,
        "兄弟": Relation.brother,
        "之兄": Relation.brother,
        "之弟": Relation.brother,
        "哥哥": Relation.brother,
        "弟弟": Relation.brother,
        "姐妹": Relation.sister,
        "之姐": Relation.sister,
        "之妹": Relation.sister,
        "姐姐": Relation.sister,
        "妹妹": Relation.sister,
    },
)
_HEALTH = _enum_lookup(
    Health,
    {
        "慢性病": Health.chronic,
        "大病": Health.serious_illness,
        "重病": Health.serious_illness,
        "重大疾病": Health.serious_illness,
        "残疾人": Health.disabled,
    },
)
_LABOUR = _enum_lookup(
    LabourAbility,
    {
        "普通": LabourAbility.normal,
        "技能劳动力": LabourAbility.normal,
        "正常": LabourAbility.normal,
        "弱劳动力": LabourAbility.weak,
        "半劳动力": LabourAbility.weak,
        "丧失劳动力": LabourAbility.none,
        "无": LabourAbility.none,
    },
)
_EDUCATION = _enum_lookup(
    EducationStage,
    {
        "未上学": EducationStage.none,
        "非在校生": EducationStage.none,
        "七年级": EducationStage.junior,
        "八年级": EducationStage.junior,
        "九年级": EducationStage.junior,
        "硕士生及以上": EducationStage.postgraduate,
        "文盲或半文盲": EducationStage.none,
        "文盲": EducationStage.none,
        "学前": EducationStage.preschool,
        "幼儿园": EducationStage.preschool,
        "初中生": EducationStage.junior,
        "高中生": EducationStage.senior_high,
        "小学生": EducationStage.primary,
        "中专": EducationStage.secondary_vocational,
        "中等职业教育": EducationStage.secondary_vocational,
        "技校": EducationStage.secondary_vocational,
        "职高": EducationStage.secondary_vocational,
        "高职": EducationStage.junior_college,
        "高职高专": EducationStage.junior_college,
        "专科": EducationStage.junior_college,
        "大学本科": EducationStage.undergraduate,
        "硕士": EducationStage.postgraduate,
        "博士": EducationStage.postgraduate,
    },
)
_JOIN = _enum_lookup(
    JoinReason,
    {
        "婚姻迁入": JoinReason.marriage_in,
        "嫁入": JoinReason.marriage_in,
        "新生儿": JoinReason.birth,
        "建档立卡": JoinReason.registration,
        "初始建档": JoinReason.registration,
        "登记": JoinReason.registration,
    },
)
_SEX = _enum_lookup(Sex, {"m": Sex.male, "f": Sex.female, "男性": Sex.male, "女性": Sex.female})
_DIBAO = _enum_lookup(
    DibaoClass,
    {
        "一类": DibaoClass.A,
        "二类": DibaoClass.B,
        "三类": DibaoClass.C,
        "a类低保": DibaoClass.A,
        "b类低保": DibaoClass.B,
        "c类低保": DibaoClass.C,
        "一类低保": DibaoClass.A,
        "二类低保": DibaoClass.B,
        "三类低保": DibaoClass.C,
    },
)
_DIBAO.update(dict.fromkeys(("无", "否", "非低保", "none", "no", "n"), _NO))
_BOOL: Final[dict[str, bool]] = {
    **dict.fromkeys(("是", "有", "y", "yes", "true", "1", "√", "特困", "特困供养"), True),
    **dict.fromkeys(("否", "无", "n", "no", "false", "0", "×"), False),
}


def _parse_bool(text: str) -> bool:
    found = _BOOL.get(text.lower())
    if found is None:
        found = _BOOL.get(_nfkc(text).lower())
        if found is None:
            raise _Problem("invalid_value", f"{text[:20]!r} is not 是/否 (yes/no)")
    return found


_MONEY_RE: Final = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)
_GROUPED_RE: Final = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", re.ASCII)
MAX_AMOUNT: Final = Decimal("9999999999.99")
_CENT: Final = Decimal("0.01")


def _parse_money(text: str) -> Decimal:
    text = _nfkc(text)
    if "," in text:
        if not _GROUPED_RE.fullmatch(text):
            raise _Problem("invalid_amount", f"{text[:20]!r} is not an amount in yuan")
        text = text.replace(",", "")
    elif not _MONEY_RE.fullmatch(text):
        # Rejects 1e5, NaN, Infinity, ¥100, 100元, .5 …: anything but plain decimal digits.
        raise _Problem("invalid_amount", f"{text[:20]!r} is not an amount in yuan (digits, optional .xx)")
    amount = Decimal(text)
    if amount < 0:
        raise _Problem("negative_amount", "an amount cannot be negative")
    cents = amount.quantize(_CENT)
    if cents != amount:
        raise _Problem("too_many_decimals", "an amount has at most 2 decimal places (fen)")
    if cents > MAX_AMOUNT:
        raise _Problem("out_of_range", "the amount is implausibly large")
    return cents


_DATE_RE: Final = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", re.ASCII)


def _parse_date_text(text: str) -> date:
    text = _nfkc(text)
    if (
        len(text) == 10
        and text[4] == "-"
        and text[7] == "-"
        and text.isascii()
        and (text[:4] + text[5:7] + text[8:]).isdigit()
    ):  # the common case, without a regex
        parts: tuple[str, str, str] = (text[:4], text[5:7], text[8:10])
    elif len(text) == 8 and text.isascii() and text.isdigit():
        parts = (text[:4], text[4:6], text[6:8])
    else:
        match = _DATE_RE.fullmatch(text)
        if match is None:
            hint = (
                " (it looks like an Excel serial number: format the cell as a date)"
                if text.isdigit() and len(text) == 5
                else ""
            )
            raise _Problem("invalid_date", f"not a date like 1990-01-31{hint}")
        parts = (match[1], match[2], match[3])
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise _Problem("invalid_date", "not a calendar date") from None


def _birth_date(today: date) -> Callable[[str], date]:
    def parse(text: str) -> date:
        born = _parse_date_text(text)
        if born.year < 1900 or born > today:
            raise _Problem("invalid_date", "not a plausible birth date (1900 to today)")
        return born

    return parse


def _year(first: int, last: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        text = _nfkc(text)
        if len(text) == 6 and text.endswith(".0"):  # a year that went through a float
            text = text[:4]
        if len(text) != 4 or not text.isdigit():
            raise _Problem("invalid_year", f"{text[:20]!r} is not a year")
        year = int(text)
        if not first <= year <= last:
            raise _Problem("invalid_year", f"{year} is outside {first}–{last}")
        return year

    return parse


_CAUSE = _enum_lookup(
    PovertyCause,
    {
        "因病致贫": PovertyCause.illness,
        "因残致贫": PovertyCause.disability,
        "因学致贫": PovertyCause.education,
        "因灾致贫": PovertyCause.disaster,
        "因自然灾害": PovertyCause.disaster,
        "缺劳动力": PovertyCause.lack_of_labour,
        "交通落后": PovertyCause.poor_transport,
        "交通条件落后": PovertyCause.poor_transport,
        "自身发展动力不足": PovertyCause.lack_of_motivation,
        "发展动力不足": PovertyCause.lack_of_motivation,
    },
)
_RISK = _enum_lookup(
    RiskType,
    {
        "因自然灾害": RiskType.disaster,
        "因安全住房": RiskType.housing,
        "住房安全": RiskType.housing,
        "因安全饮水": RiskType.water,
        "饮水安全": RiskType.water,
        "缺劳力": RiskType.lack_of_labour,
        "因务工就业不稳": RiskType.unstable_employment,
        "务工就业不稳": RiskType.unstable_employment,
        "因产业项目失败": RiskType.industry_failure,
        "产业项目失败": RiskType.industry_failure,
    },
)
_MONITORING = _enum_lookup(
    HouseholdStatus,
    {
        "脱贫不稳定": HouseholdStatus.UNSTABLE,
        "边缘户": HouseholdStatus.MARGINAL,
        "边缘易致贫": HouseholdStatus.MARGINAL,
        "突发困难户": HouseholdStatus.SUDDEN_HARDSHIP,
        "突发严重困难": HouseholdStatus.SUDDEN_HARDSHIP,
    },
)
_LEVEL = _enum_lookup(
    EducationLevel,
    {
        "文盲": EducationLevel.illiterate,
        "半文盲": EducationLevel.illiterate,
        "学龄前儿童": EducationLevel.illiterate,
        "中专": EducationLevel.senior,
        "高中(中专)": EducationLevel.senior,
        "大专": EducationLevel.college_or_above,
        "本科及以上": EducationLevel.college_or_above,
        "本科": EducationLevel.college_or_above,
        "研究生": EducationLevel.college_or_above,
    },
)
_EMPLOYMENT = _enum_lookup(
    Employment,
    {
        "无": Employment.none,
        "否": Employment.none,
        "不务工": Employment.none,
        "乡(镇)内": Employment.in_township,
        "乡镇内务工": Employment.in_township,
        "县内务工": Employment.in_county,
        "县外省内": Employment.in_province,
        "省内务工": Employment.in_province,
        "省外务工": Employment.out_of_province,
    },
)
_SEPARATORS: Final = re.compile(r"[、,，;；/\s]+")


def _many(parse_one: Callable[[str], Any], at_most: int) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        values: list[str] = []
        for part in _SEPARATORS.split(text.strip()):
            if part and part not in ("无", "-"):
                value = str(parse_one(part))
                if value not in values:
                    values.append(value)
        if len(values) > at_most:
            raise _Problem("too_many_values", f"at most {at_most} values")
        return tuple(values)

    return parse


def _parse_month(text: str) -> date:
    text = _nfkc(text)
    if len(text) == 6 and text.isdigit():
        year, month = int(text[:4]), int(text[4:])
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return date(year, month, 1)
        raise _Problem("invalid_date", "not a month like 202103 (YYYYMM)")
    for sep in ("-", "/", ".", "年"):
        head, _, tail = text.partition(sep)
        tail = tail.removesuffix("月")
        if tail and head.isdigit() and tail.isdigit() and len(head) == 4 and 1 <= int(tail) <= 12:
            return date(int(head), int(tail), 1)
    return _parse_date_text(text)


def _months(text: str) -> int:
    text = _nfkc(text).removesuffix("个月").removesuffix("月")
    if len(text) > 3 and text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit() or not 0 <= int(text) <= 12:
        raise _Problem("invalid_value", "months worked is a whole number 0–12")
    return int(text)


def _insured_years(today: date) -> Callable[[str], tuple[int, ...]]:
    year = _year(2000, today.year + 1)

    def parse(text: str) -> tuple[int, ...]:
        flag = _BOOL.get(_nfkc(text).lower())
        if flag is not None:
            return (today.year,) if flag else ()
        return tuple(sorted({int(y) for y in _many(lambda t: str(year(t)), 50)(text)}))

    return parse


def _parse_village_code(text: str) -> str:
    text = _nfkc(text)
    if len(text) != 12 or not text.isdigit():
        raise _Problem("invalid_village_code", f"{text[:20]!r} is not a 12-digit village code")
    try:
        region = parse_region_code(text)
    except InvalidRegionCode as exc:
        raise _Problem("invalid_village_code", str(exc)) from None
    if region.level is not RegionLevel.village:
        raise _Problem("invalid_village_code", f"{text[:20]!r} is a {region.level} code, not a 12-digit village code")
    return region.code12


_PHONE_STRIP: Final = str.maketrans("", "", " -()（）")


def _parse_phone(text: str) -> str:
    digits = _nfkc(text).translate(_PHONE_STRIP)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if digits.isascii() and digits.isdigit():
        if len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789":
            return digits  # mobile
        if digits[0] == "0" and 10 <= len(digits) <= 12:
            return digits  # landline with area code
        if digits[0] != "0" and 7 <= len(digits) <= 8:
            return digits  # local landline
    raise _Problem("invalid_phone", "not a mobile (11 digits) or landline number with area code")


_ACCOUNT_STRIP: Final = str.maketrans("", "", " -")


def _parse_bank_account(text: str) -> str:
    digits = _nfkc(text).translate(_ACCOUNT_STRIP)
    if not (digits.isascii() and digits.isdigit()) or not 10 <= len(digits) <= 30:
        raise _Problem("invalid_bank_account", "a bank account number is 10–30 digits")
    return digits


def _parse_disability_grade(text: str) -> int:
    grade = _GRADES.get(_nfkc(text).removesuffix("级").removeprefix("残疾"))
    if grade is None:
        raise _Problem("invalid_value", f"{text[:20]!r} is not a disability grade 1–4 (一级…四级)")
    return grade


_GRADES: Final = {"1": 1, "2": 2, "3": 3, "4": 4, "一": 1, "二": 2, "三": 3, "四": 4}


# --------------------------------------------------------------------------------------------
# parse_rows

_NUMBER_MESSAGES: Final = {
    "national_id": "the ID number was stored as a number by the spreadsheet, which keeps only 15 digits "
    "and drops a final X: format the column as text and enter the numbers again",
    "bank_account": "the account number was stored as a number by the spreadsheet, which keeps only "
    "15 digits: format the column as text and enter the numbers again",
    "household_number": "the household number was stored as a number by the spreadsheet, which keeps only "
    "15 digits: format the column as text and enter the numbers again",
}
# A spreadsheet number is exact up to 15 digits: a shorter account or household number survives;
# an ID number never does (18 digits, or a final X).
_ALWAYS_TEXT: Final = frozenset({"national_id"})
_EXACT_DIGITS: Final = 15


def _header_key(cell: str) -> str:
    text = unicodedata.normalize("NFKC", (cell or "").replace("\ufeff", "")).strip()
    text = "".join(text.split()) if not text.isascii() else text.lower().replace(" ", "_").replace("-", "_")
    return text


_HEADER_LOOKUP: Final[dict[str, str]] = {
    **{_header_key(alias): key for alias, key in _HEADER_ALIASES.items()},
    **{_header_key(column.header_zh): column.key for column in COLUMNS},
    **{column.key: column.key for column in COLUMNS},
}


@dataclass(slots=True)
class _Household:
    number: str
    first_row: int
    row_numbers: list[int] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)
    # key -> (value, row number where it was first given)
    values: dict[str, tuple[Any, int]] = field(default_factory=dict)
    income_rows: list[int] = field(default_factory=list)  # rows that give an income amount


#: The villages to find a village by name in: a directory, or a function that loads it (called at most
#: once, and only when a household gives 村名称 without 村代码).
Villages = VillageDirectory | Callable[[], VillageDirectory] | None


def parse_rows(
    rows: Iterable[Sequence[str]], *, today: date, max_errors: int | None = None, villages: Villages = None
) -> ParseResult:
    """Validate an import file given as rows of cell strings, the first row being the header.

    Every problem of every row is counted (``error_count``) and, up to ``max_errors`` (None: no
    bound), reported: the first ones in row and column order. ``ParseResult.rows`` holds only
    rows without any problem. Rows whose cells are all blank are skipped.
    """
    # A large file makes a few hundred thousand objects that live until the end and hold no
    # cycles; the cyclic collector would traverse them again and again (measured: 60% of the
    # time for 100,000 rows), so it waits until the parse is done.
    with _collector_paused():
        return _parse_rows(rows, today, max_errors, villages)[0]


def error_order(error: RowError) -> tuple[int, int]:
    """The order errors are reported in: by row, then by template column (whole-row errors first)."""
    return error.row_number, _COLUMN_ORDER.get(error.column or "", -1)


class ErrorLog:
    """Every error counted; only the first ``limit`` in report order kept (None: all of them).

    Memory stays at most twice the limit whatever a file of junk makes (about twenty errors a
    row): the list is sorted and cut whenever it reaches that. The sort is stable, so errors
    with the same row and column keep the order they were found in, exactly as one sort of
    every error would have them.
    """

    __slots__ = ("_kept", "count", "limit")

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.count = 0
        self._kept: list[RowError] = []

    def add(self, error: RowError) -> None:
        self.count += 1
        self._kept.append(error)
        if self.limit is not None and len(self._kept) >= 2 * self.limit + 64:
            self._cut()

    def extend(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            self.add(error)

    def merge(self, other: ErrorLog) -> None:
        """Add another log's errors: its count, and its kept ones (the first of all are among them)."""
        kept = other.first()
        self.count += other.count - len(kept)
        self.extend(kept)

    def _cut(self) -> None:
        self._kept.sort(key=error_order)
        if self.limit is not None:
            del self._kept[self.limit :]

    def first(self) -> list[RowError]:
        """The kept errors in report order."""
        self._cut()
        return self._kept

    def __bool__(self) -> bool:
        return self.count > 0


class _CollectorPause:
    """Pause the cyclic garbage collector while any thread is inside; restore it after the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._inside == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0 and self._was_enabled:
                    gc.enable()


_collector_paused = _CollectorPause()


# Columns whose problems may be reported for a whole household on each of its rows (unless the
# row's own cell already has an error).
_HOUSEHOLD_PROBLEM_KEYS: Final = frozenset(
    {key for key in HOUSEHOLD_KEYS if _COLUMN_BY_KEY[key].required}
    | {"income_year", "relation"}
    | {"monitoring_since", "risk_types", "lifted_out_year", "other_causes", "resettlement_site", "grid_code"}
    | {"account_holder", "bank_name"}
    | set(CADRE_KEYS)
    | {"township_name", "village_name"}
)
# Memoised cell values per column: repeated labels, dates and amounts are parsed once. Problems
# are memoised only while few, so that a file of distinct junk cannot grow the memo: 100 a column
# (a real file repeats a handful of wrong labels; 1,000 a column held 17 MB of problems for 5,000
# junk rows once the template had 51 columns), each without its traceback (which held its frame).
_MEMO_MAX: Final = 50_000
_MEMO_PROBLEMS_MAX: Final = 100
#: bit of each column whose problems may be reported for a whole household (rows → bit masks below)
_PROBLEM_BITS: Final = {key: 1 << i for i, key in enumerate(sorted(_HOUSEHOLD_PROBLEM_KEYS))}


_HEADER_SCAN_ROWS: Final = 5  # a national export has a title and notes above its header (row 3)
_MULTI_LOOKUP: Final = {_header_key(alias): key for alias, key in MULTI_PART.items()}


def _known_headers(row: Sequence[str]) -> int:
    return sum(
        1 for c in row if (t := _cell(c)) and (_header_key(t) in _HEADER_LOOKUP or _header_key(t) in _MULTI_LOOKUP)
    )


def _merge_parts(rows: Iterator[Sequence[str]], parts: dict[int, list[int]]) -> Iterator[Sequence[str]]:
    """Rows with each multi-part column's cells (致贫/返贫风险1 … 5) joined into its first one."""
    for row in rows:
        merged = list(row)
        width = len(merged)
        for first, rest in parts.items():
            cells = [_cell(merged[p]) for p in (first, *rest) if p < width]
            if first < width:
                merged[first] = "、".join(c for c in cells if c)
        yield merged


def _parse_rows(
    rows: Iterable[Sequence[str]],
    today: date,
    max_errors: int | None = None,
    villages: Villages = None,
    first_data_row: int | None = None,
) -> tuple[ParseResult, frozenset[str], frozenset[str]]:
    """The parse, and the household numbers and ID numbers it met (for `merge_parts`).

    `first_data_row`: the row number of the first row after the header (a later part of a file,
    `split_csv`); by default the one after the header."""
    nothing: frozenset[str] = frozenset()
    iterator = iter(rows)
    header = next(iterator, None)
    header_row = 1
    # The header is the first row that names at least three template columns, among the first few rows
    # (row 1 in the template, row 3 in the national 防返贫监测 export); the rows above it are skipped.
    skipped: list[Sequence[str]] = []
    while header is not None and _known_headers(header) < 3 and len(skipped) < _HEADER_SCAN_ROWS:
        skipped.append(header)
        header = next(iterator, None)
        header_row += 1
    if header is None or _known_headers(header) < 3:
        header, header_row = (skipped[0], 1) if skipped else (None, 1)
        iterator = iter(()) if header is None else _chain_rows(skipped[1:], iterator)
    if header is None or not any(_cell(c) for c in header):
        return (
            ParseResult(rows=[], errors=[RowError(1, None, "the file has no header row", "empty_file")], total_rows=0),
            nothing,
            nothing,
        )

    errors = ErrorLog(max_errors)
    positions: dict[str, int] = {}
    parts: dict[int, list[int]] = {}
    ignored: list[str] = []
    for index, cell in enumerate(header):
        text = _cell(cell)
        if not text:
            continue
        key = _HEADER_LOOKUP.get(_header_key(text))
        multi = _MULTI_LOOKUP.get(_header_key(text)) if key is None else None
        if multi is not None:
            if multi in positions:
                parts.setdefault(positions[multi], []).append(index)
            else:
                positions[multi] = index
            continue
        if key is None:
            ignored.append(text)
        elif key in positions:
            errors.add(RowError(1, key, f"column {text!r} appears twice", "duplicate_column"))
        else:
            positions[key] = index
    for column in COLUMNS:
        if column.key == "village_code" and "village_name" in positions:
            continue  # the village may be given by name instead
        if column.required and column.key not in positions:
            errors.add(RowError(1, column.key, f"missing column {column.header_zh} ({column.key})", "missing_column"))
    if errors:
        header_failure = ParseResult(
            rows=[],
            errors=errors.first(),
            total_rows=0,
            ignored_columns=tuple(ignored),
            invalid_row_numbers=frozenset({1}),
            error_count=errors.count,
        )
        return header_failure, nothing, nothing
    if parts:
        iterator = _merge_parts(iterator, parts)

    parsers: dict[str, Callable[[str], Any]] = {
        "household_number": _text(64),
        "village_code": _parse_village_code,
        "address": _text(200),
        "phone": _parse_phone,
        "household_status": _enum(HouseholdStatus, _STATUS),
        "bank_account": _parse_bank_account,
        "account_holder": _plain_text(50),
        "bank_name": _plain_text(100),
        "dibao": _enum(DibaoClass, _DIBAO),
        "tekun": _parse_bool,
        "insured_year": _year(2000, today.year + 1),
        "member_name": _text(50),
        "national_id": _text(40),  # validated below, together with sex and birth date
        "sex": _enum(Sex, _SEX),
        "birth_date": _birth_date(today),
        "relation": _enum(Relation, _RELATION),
        "health": _enum(Health, _HEALTH),
        "disability_grade": _parse_disability_grade,
        "labour_ability": _enum(LabourAbility, _LABOUR),
        "education_stage": _enum(EducationStage, _EDUCATION),
        "school": _text(100),
        "join_reason": _enum(JoinReason, _JOIN),
        **dict.fromkeys(INCOME_KEYS, _parse_money),
        "income_year": _year(2000, today.year),
        "grid_code": _parse_grid_code,
        "poverty_cause": _enum(PovertyCause, _CAUSE),
        "other_causes": _many(_enum(PovertyCause, _CAUSE), 2),
        "registered_year": _year(2000, today.year),
        "lifted_out_year": _year(2000, today.year),
        "monitoring_type": _enum(HouseholdStatus, _MONITORING),
        "monitoring_since": _parse_month,
        "risk_types": _many(_enum(RiskType, _RISK), 15),
        "relocated": _parse_bool,
        "resettlement_site": _text(100),
        "education_level": _enum(EducationLevel, _LEVEL),
        "employment": _enum(Employment, _EMPLOYMENT),
        "months_worked": _months,
        "medical_insured_years": _insured_years(today),
        "pension_insured_years": _insured_years(today),
        "cadre_name": _plain_text(50),
        "cadre_work_unit": _plain_text(100),
        "cadre_affiliation": _plain_text(50),
        "cadre_phone": _parse_phone,
        "cadre_start_date": _cadre_date,
        "cadre_end_date": _cadre_date,
        "township_name": _plain_text(100),
        "village_name": _plain_text(100),
    }
    # Most cells repeat (labels, dates, amounts, the village code), so parsed values and problems
    # are memoised per column; free text and the unique columns are not.
    # (the free text is cheap to check and rarely repeats: a memo of it only grows)
    uncached = {
        "household_number",
        "member_name",
        "national_id",
        "address",
        "school",
        "bank_account",
        "account_holder",
        "bank_name",
        "cadre_name",
        "cadre_work_unit",
        "cadre_affiliation",
        "cadre_phone",
        "resettlement_site",
    }
    # The plan: (position in the row, key, parser, required on every row, numbers not allowed, memo)
    plan: list[tuple[int, str, Callable[[str], Any], bool, bool, dict[str, Any] | None]] = [
        (
            positions[c.key],
            c.key,
            parsers[c.key],
            c.required and not c.household_level,
            c.key in _NUMBER_MESSAGES,
            None if c.key in uncached else {},
        )
        for c in COLUMNS
        if c.key in positions
    ]
    household_keys = [key for key in HOUSEHOLD_KEYS if key in positions]
    income_keys = [key for key in INCOME_KEYS if key in positions]
    # A household's later rows leave its columns blank (the template and the national export):
    # such a row is told by one look at those cells, and only its member columns are parsed.
    household_level = set(HOUSEHOLD_KEYS)
    member_plan = [entry for entry in plan if entry[1] not in household_level]
    household_positions = [entry[0] for entry in plan if entry[1] in household_level]
    household_cells = itemgetter(*household_positions) if len(household_positions) > 1 else None
    full_width = max((entry[0] for entry in plan), default=0) + 1
    blank_household = dict.fromkeys(entry[1] for entry in plan if entry[1] in household_level)

    households: dict[str, _Household] = {}
    ids: dict[str, list[int]] = {}
    # Every data row, as parallel lists (fewer objects for the garbage collector to track).
    row_numbers: list[int] = []
    row_households: list[str | None] = []
    row_values: list[dict[str, Any] | None] = []  # None for a row with an error: never imported
    bad_rows: set[int] = set()
    # Rows whose own cell has an error, for the columns a household problem is reported in.
    # (row number → bit mask of those columns: one small int a bad row, not a set a column)
    problem_cells: dict[int, int] = {}
    problem_bits = _PROBLEM_BITS
    memo_problems = dict.fromkeys(positions, 0)
    seen = 0
    head = Relation.head
    missing = _MISSING

    for row_number, row in enumerate(iterator, start=header_row + 1 if first_data_row is None else first_data_row):
        width = len(row)
        row_errors: list[RowError] = []
        blank = True
        household_blank = household_cells is not None and width >= full_width and not any(household_cells(row))
        if household_blank:
            values = blank_household.copy()
            row_plan = member_plan
        else:
            values = {}
            row_plan = plan
        for position, key, parse, required, text_only, memo in row_plan:
            raw = row[position] if position < width else None
            text = raw.strip() if raw else ""
            if not text:
                values[key] = None
                if required:
                    row_errors.append(RowError(row_number, key, "required", "required"))
                continue
            blank = False
            if not text.isprintable() and (bad := forbidden_character(text)) is not None:
                # the boundary's string rule (shared/contracts/types.py): every column is single-line
                row_errors.append(RowError(row_number, key, bad, "invalid_character"))
                values[key] = None
                continue
            if memo is not None:
                value = memo.get(text, missing)
                if value is missing:
                    try:
                        value = parse(text)
                    except _Problem as problem:
                        value = problem
                        if memo_problems[key] < _MEMO_PROBLEMS_MAX and len(memo) < _MEMO_MAX:
                            memo_problems[key] += 1
                            problem.__traceback__ = None
                            memo[text] = value
                    else:
                        if len(memo) < _MEMO_MAX:
                            memo[text] = value
                if value.__class__ is _Problem:
                    values[key] = None
                    row_errors.append(RowError(row_number, key, value.message, value.code))
                else:
                    values[key] = value
                continue
            if (
                text_only
                and isinstance(raw, NumericCell)
                and (key in _ALWAYS_TEXT or len(text) > _EXACT_DIGITS or not text.isdigit())
            ):
                row_errors.append(RowError(row_number, key, _NUMBER_MESSAGES[key], "stored_as_number"))
                values[key] = None
                continue
            try:
                values[key] = parse(text)
            except _Problem as problem:
                values[key] = None
                row_errors.append(RowError(row_number, key, problem.message, problem.code))
        if blank:
            continue  # an empty row (or one filled only in columns we ignore)
        seen += 1

        # The ID number with what the row says about the person.
        raw_id = values["national_id"]
        if raw_id is not None:
            try:
                person = validate_national_id(_nfkc(raw_id), today=today)  # full-width digits from IMEs
            except InvalidNationalId as exc:
                values["national_id"] = None
                if "E+" in raw_id.upper():  # 4.10602E+17: Excel's rendering of a number
                    row_errors.append(
                        RowError(row_number, "national_id", _NUMBER_MESSAGES["national_id"], "stored_as_number")
                    )
                else:
                    row_errors.append(RowError(row_number, "national_id", exc.message, exc.code))
            else:
                values["national_id"] = person.value
                ids.setdefault(person.value, []).append(row_number)
                given_birth = values.get("birth_date")
                if given_birth is None:
                    if "birth_date" not in positions or not _filled(row, positions["birth_date"]):
                        values["birth_date"] = person.birth_date
                elif given_birth != person.birth_date:
                    row_errors.append(
                        RowError(
                            row_number,
                            "birth_date",
                            "the birth date does not agree with the one in the ID number",
                            "birth_date_mismatch",
                        )
                    )
                given_sex = values.get("sex")
                if given_sex is None:
                    if "sex" not in positions or not _filled(row, positions["sex"]):
                        values["sex"] = person.sex
                elif given_sex != person.sex:
                    row_errors.append(
                        RowError(
                            row_number, "sex", "the sex does not agree with the ID number (17th digit)", "sex_mismatch"
                        )
                    )

        if (
            values["health"] is Health.disabled
            and values.get("disability_grade") is None
            and not _filled(row, positions.get("disability_grade"))
        ):
            row_errors.append(
                RowError(row_number, "disability_grade", "required when health is 残疾 (disabled)", "required")
            )

        number = values["household_number"]
        if number is not None:
            household = households.get(number)
            if household is None:
                household = households[number] = _Household(number, row_number)
            household.row_numbers.append(row_number)
            if values["relation"] is head:
                household.heads.append(row_number)
            if not household_blank:  # a row leaving the household's columns blank adds nothing to them
                given = household.values
                for key in household_keys:
                    value = values[key]
                    if value is None:
                        continue
                    first = given.get(key)
                    if first is None:
                        given[key] = (value, row_number)
                    elif first[0] != value:
                        column = _COLUMN_BY_KEY[key]
                        row_errors.append(
                            RowError(
                                row_number,
                                key,
                                f"household {number[:64]!r}: {column.header_zh} ({key}) differs from row {first[1]}",
                                "household_mismatch",
                            )
                        )
                for key in income_keys:
                    if values[key] is not None:
                        household.income_rows.append(row_number)
                        break

        row_numbers.append(row_number)
        row_households.append(number)
        if row_errors:
            errors.extend(row_errors)
            bad_rows.add(row_number)
            mask = 0
            for error in row_errors:
                mask |= problem_bits.get(error.column or "", 0)
            if mask:
                problem_cells[row_number] = mask
            row_values.append(None)  # the row's values are not needed any more
        else:
            row_values.append(values)

    # Checks across rows.
    for id_rows in ids.values():
        if len(id_rows) > 1:
            for row_number in id_rows:
                others = ", ".join(str(n) for n in id_rows if n != row_number)
                message = f"the same ID number is also on row {others}"
                errors.add(RowError(row_number, "national_id", message, "duplicate_national_id"))
                bad_rows.add(row_number)

    # Problems of a whole household are reported on each of its rows: a household is imported
    # with its village, status, income year and exactly one head, or not at all.
    resolved: dict[str, HouseholdRow] = {}
    directory: list[VillageDirectory] = []
    for household in households.values():
        label = f"household {household.number[:64]!r}"
        problems: list[tuple[str, str, str]] = []
        if "village_code" not in household.values and "village_name" in household.values:
            village_problem = _village_by_name(household, villages, directory)
            if village_problem is not None:
                problems.append(village_problem)
        for key in HOUSEHOLD_KEYS:
            if _COLUMN_BY_KEY[key].required and key not in household.values:
                if key == "village_code" and "village_name" in household.values:
                    continue  # reported as the name's problem
                problems.append((key, f"required on at least one row of {label}", "required"))
        if household.income_rows and "income_year" not in household.values:
            rows_text = ", ".join(str(n) for n in household.income_rows)
            problems.append(("income_year", f"{label} gives incomes (row {rows_text}) but no income year", "required"))
        problems.extend(_register_problems(household, label))
        if not household.heads:
            problems.append(("relation", f"{label} has no head (户主)", "no_head"))
        elif len(household.heads) > 1:
            rows_text = ", ".join(str(n) for n in household.heads)
            problems.append(("relation", f"{label} has more than one head (户主): rows {rows_text}", "multiple_heads"))
        for key, message, code in problems:
            bit = problem_bits[key]
            for row_number in household.row_numbers:
                # A row whose value for this column was itself invalid already says so.
                if not problem_cells.get(row_number, 0) & bit:
                    errors.add(RowError(row_number, key, message, code))
            bad_rows.update(household.row_numbers)
        if not problems:
            resolved[household.number] = _resolve(household)

    valid: list[MemberRow] = []
    for row_number, number, kept in zip(row_numbers, row_households, row_values, strict=True):
        if number is None or kept is None or row_number in bad_rows:
            continue
        values = kept
        valid.append(
            MemberRow(
                row_number=row_number,
                household=resolved[number],
                member_name=values["member_name"],
                national_id=values["national_id"],
                sex=values["sex"],
                birth_date=values["birth_date"],
                relation=values["relation"],
                health=values["health"],
                disability_grade=values.get("disability_grade"),
                labour_ability=values["labour_ability"],
                education_stage=values.get("education_stage"),
                school=values.get("school"),
                join_reason=values.get("join_reason") or JoinReason.registration,
                education_level=_value_of(values.get("education_level")),
                employment=_value_of(values.get("employment")),
                months_worked=values.get("months_worked"),
                medical_insured_years=values.get("medical_insured_years") or (),
                pension_insured_years=values.get("pension_insured_years") or (),
            )
        )

    households_with_errors = frozenset(
        number
        for row_number, number in zip(row_numbers, row_households, strict=True)
        if number is not None and row_number in bad_rows
    )
    result = ParseResult(
        rows=valid,
        errors=errors.first(),
        error_count=errors.count,
        total_rows=seen,
        ignored_columns=tuple(ignored),
        invalid_row_numbers=frozenset(bad_rows),
        households_with_errors=households_with_errors,
    )
    return result, frozenset(households), frozenset(ids)


def _chain_rows(first: Sequence[Sequence[str]], rest: Iterator[Sequence[str]]) -> Iterator[Sequence[str]]:
    yield from first
    yield from rest


def _value_of(value: Any) -> str | None:
    return None if value is None else str(value.value if isinstance(value, LabelledEnum) else value)


def _parse_grid_code(text: str) -> str:
    text = _nfkc(text)
    if not re.fullmatch(r"[0-9]{12}[0-9A-Za-z]{1,4}", text, re.ASCII):
        raise _Problem("invalid_grid_code", "a grid code is the village code and 1–4 more characters")
    return text


def _monitoring(given: Mapping[str, tuple[Any, int]]) -> tuple[HouseholdStatus | None, HouseholdStatus | None]:
    """(status, base status) from 户类型 and 监测对象类别: the monitoring type, when given, is the status."""
    status = given["household_status"][0] if "household_status" in given else None
    kind = given["monitoring_type"][0] if "monitoring_type" in given else None
    if status in MONITORING_TYPES:
        status, kind = None, kind or status
    if kind is None:
        return status, status
    base = status or (HouseholdStatus.LIFTED_OUT if kind is HouseholdStatus.UNSTABLE else HouseholdStatus.ORDINARY)
    return kind, base


def _register_problems(household: _Household, label: str) -> list[tuple[str, str, str]]:
    """The §3 rules that span a household's fields (a migration of monitored households included)."""
    given = household.values
    status, base = _monitoring(given)
    problems: list[tuple[str, str, str]] = []
    if status not in MONITORING_TYPES:
        for key in ("monitoring_since", "risk_types"):
            if key in given and given[key][0]:
                problems.append((key, f"{label} is not monitored (监测对象类别 blank)", "not_monitored"))
    if "lifted_out_year" in given and base is not HouseholdStatus.LIFTED_OUT:
        problems.append(("lifted_out_year", f"{label}: 脱贫年度 only for 脱贫户 (lifted_out)", "not_lifted_out"))
    main = given["poverty_cause"][0] if "poverty_cause" in given else None
    if main is not None and "other_causes" in given and str(main) in given["other_causes"][0]:
        problems.append(("other_causes", f"{label}: the main cause is not repeated among the others", "invalid_value"))
    if "bank_account" not in given:
        for key, header in (("account_holder", "户名"), ("bank_name", "开户行")):
            if key in given:
                problems.append((key, f"{label}: {header} without 银行账号 (the account number)", "invalid_value"))
    if "resettlement_site" in given and not ("relocated" in given and given["relocated"][0]):
        problems.append(
            ("resettlement_site", f"{label}: 安置点 only when relocated (易地扶贫搬迁 是)", "invalid_value")
        )
    problems.extend(_cadre_problems(given, label))
    grid = given["grid_code"][0] if "grid_code" in given else None
    village = given["village_code"][0] if "village_code" in given else None
    if grid is not None and village is not None and not grid.startswith(village):
        problems.append(("grid_code", f"{label}: the grid is not in the household's village", "invalid_grid_code"))
    return problems


def _cell(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _filled(row: Sequence[str], position: int | None) -> bool:
    return position is not None and position < len(row) and bool(_cell(row[position]))


def _resolve(household: _Household) -> HouseholdRow:
    given = household.values

    def value(key: str) -> Any:
        found = given.get(key)
        return None if found is None or found[0] is _NO else found[0]

    income = None
    if "income_year" in given:
        income = IncomeRow(value("income_year"), *(value(key) or Decimal("0.00") for key in INCOME_KEYS))
    return HouseholdRow(
        household_number=household.number,
        row_number=household.first_row,
        village_code=value("village_code"),
        address=value("address"),
        phone=value("phone"),
        household_status=_monitoring(given)[0] or value("household_status"),
        bank_account=value("bank_account"),
        dibao=value("dibao"),
        tekun=bool(value("tekun")),
        insured_year=value("insured_year"),
        income=income,
        base_status=_monitoring(given)[1] if _monitoring(given)[0] in MONITORING_TYPES else None,
        monitoring_since=value("monitoring_since"),
        risk_types=value("risk_types") or (),
        poverty_cause=_value_of(value("poverty_cause")),
        other_causes=value("other_causes") or (),
        registered_year=value("registered_year"),
        lifted_out_year=value("lifted_out_year"),
        relocated=bool(value("relocated")),
        resettlement_site=value("resettlement_site"),
        grid_code=value("grid_code"),
        account_holder=value("account_holder"),
        bank_name=value("bank_name"),
        cadre=_cadre(given),
    )


def _cadre_date(text: str) -> date:
    day = _parse_month(text) if len(_nfkc(text)) == 6 else _parse_date_text(text)
    if not 1980 <= day.year <= 2100:
        raise _Problem("invalid_date", "not a plausible date (1980–2100)")
    return day


def _cadre_problems(given: Mapping[str, tuple[Any, int]], label: str) -> list[tuple[str, str, str]]:
    """A cadre is given whole (name, work unit, phone, start date, as POST …/cadres) or not at all."""
    if not any(key in given for key in CADRE_KEYS):
        return []
    problems = [
        (key, f"{label}: required with a responsible cadre (帮扶责任人)", "required")
        for key in _CADRE_REQUIRED
        if key not in given
    ]
    start, end = given.get("cadre_start_date"), given.get("cadre_end_date")
    if start is not None and end is not None and end[0] < start[0]:
        problems.append(("cadre_end_date", f"{label}: 帮扶结束时间 is before 帮扶开始时间", "invalid_date"))
    return problems


def _cadre(given: Mapping[str, tuple[Any, int]]) -> CadreRow | None:
    if "cadre_name" not in given:
        return None

    def value(key: str) -> Any:
        found = given.get(key)
        return None if found is None else found[0]

    return CadreRow(
        name=value("cadre_name"),
        work_unit=value("cadre_work_unit"),
        affiliation=value("cadre_affiliation"),
        phone=value("cadre_phone"),
        start_date=value("cadre_start_date"),
        end_date=value("cadre_end_date"),
    )


def _village_by_name(
    household: _Household, villages: Villages, directory: list[VillageDirectory]
) -> tuple[str, str, str] | None:
    """Set the household's village code from 村名称 (and 乡镇名称); the problem when none or several match."""
    given = household.values
    name, row_number = given["village_name"]
    township = given["township_name"][0] if "township_name" in given else None
    if not directory:
        loaded = villages() if callable(villages) else villages
        directory.append(loaded if loaded is not None else VillageDirectory(()))
    code, problem = directory[0].find(name, township)
    if code is not None:
        given["village_code"] = (code, row_number)
        return None
    where = f"{township[:40]} " if township else ""
    if problem == "village_ambiguous":
        return (
            "village_name",
            f"several villages named {where}{name[:40]} in your region: give 乡镇名称 or 村代码",
            "village_ambiguous",
        )
    return ("village_name", f"no village named {where}{name[:40]} in your region", "village_not_found")


# --------------------------------------------------------------------------------------------
# Readers


class InvalidImportFile(ValueError):
    """The bytes are not a readable CSV or XLSX file."""

    code = "invalid_file"


def _binary(source: bytes | IO[bytes]) -> IO[bytes]:
    return io.BytesIO(source) if isinstance(source, bytes | bytearray | memoryview) else source


_READ_CHUNK: Final = 1024 * 1024


def _decodes(stream: IO[bytes], start: int, encoding: str) -> bool:
    """Whether the file from `start` is text in `encoding` (read a chunk at a time, nothing kept)."""
    stream.seek(start)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := stream.read(_READ_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def read_csv(source: bytes | IO[bytes], encoding: str | None = None) -> Iterator[list[str]]:
    """Rows of a CSV file: UTF-8 (with or without a BOM), else GB18030 (what Excel on a
    Chinese Windows writes when saving "CSV (逗号分隔)").

    ``source`` is the file's bytes or a binary file (an upload spooled to disk), which is read
    as the rows are, never whole: the encoding is found by a first pass that keeps nothing. A
    file handed in is left open (the caller closes it).

    Raises ``InvalidImportFile`` for bytes in neither encoding and, while iterating, for
    malformed CSV. ``encoding``: already known (a part of a file, `split_csv`), not looked for.
    """
    stream = _binary(source)
    stream.seek(0)
    start = len(codecs.BOM_UTF8) if stream.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8 else 0
    if encoding is None:
        encoding = _csv_encoding(stream, start)
    stream.seek(start)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    return _csv_rows(csv.reader(text, strict=True), text)


def _csv_encoding(stream: IO[bytes], start: int) -> str:
    for encoding in ("utf-8", "gb18030"):
        if _decodes(stream, start, encoding):
            return encoding
    raise InvalidImportFile("the CSV file is neither UTF-8 nor GB18030 text")


def _csv_rows(reader: Iterator[list[str]], text: io.TextIOWrapper) -> Iterator[list[str]]:
    try:
        yield from reader
    except csv.Error as exc:
        raise InvalidImportFile(f"malformed CSV: {exc}") from None
    finally:
        with suppress(ValueError):  # already detached or closed
            text.detach()  # the binary file stays open: its owner closes it


def read_xlsx(source: bytes | IO[bytes]) -> Iterator[list[str]]:
    """Rows of the first worksheet of an XLSX file, as the strings a CSV export would hold.

    ``source`` is the file's bytes or a seekable binary file (read by openpyxl in read-only
    mode, row by row; the file is left open).

    Dates become ``YYYY-MM-DD`` (``YYYY-MM-DD HH:MM:SS`` with a time of day), whole numbers lose
    their ``.0``, other numbers show up to 15 significant digits (what Excel keeps), booleans
    ``TRUE``/``FALSE``. Numbers are returned as ``NumericCell`` so that ``parse_rows`` can reject
    ID and account numbers that the spreadsheet stored as numbers.

    Raises ``InvalidImportFile`` at once when the bytes are not an XLSX workbook (an old .xls,
    a CSV renamed, a damaged file).
    """
    from openpyxl import load_workbook  # imported here: only XLSX imports pay for it

    stream = _binary(source)
    stream.seek(0)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, XML errors…
        raise InvalidImportFile("the file is not an XLSX workbook (save it as .xlsx or .csv)") from exc
    if not workbook.worksheets:
        workbook.close()
        raise InvalidImportFile("the workbook has no worksheet")
    return _xlsx_rows(workbook)


def _xlsx_rows(workbook: Any) -> Iterator[list[str]]:
    try:
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            yield [_xlsx_cell(value) for value in values]
    except InvalidImportFile:
        raise
    except Exception as exc:  # a damaged sheet inside a readable archive
        raise InvalidImportFile("the worksheet could not be read") from exc
    finally:
        workbook.close()


def _xlsx_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return NumericCell(value)
    if isinstance(value, float):
        return NumericCell(_format_float(value))
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return NumericCell(format(value, "f"))
    return str(value)


def _format_float(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    try:
        # Excel keeps 15 significant digits: 0.1 + 0.2 shows as 0.3, not 0.30000000000000004.
        return format(Decimal(f"{value:.15g}"), "f")
    except InvalidOperation:  # inf / nan cannot come from a worksheet, but never crash on them
        return str(value)

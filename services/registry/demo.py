"""Demo data for the demo county 鹤山区 (410602), Hebi, Henan.

`seed_regions` loads the division tree; `seed_households` generates realistic households (valid
ID numbers, family structures, incomes, statuses, flags) and writes them with COPY through the
same bulk path as imports. `generate_households` / `households_csv` make the same data as an
import file (tests and `bench/registry_import.py` use them).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db.household_repository import HouseholdRepository
from services.registry.db.regions_repository import RegionRepository
from services.registry.db.tables import household
from services.registry.domain.import_rows import COLUMN_KEYS, IncomeRow, MemberRow, parse_rows, template_headers
from services.registry.domain.model import (
    LABELS_ZH,
    DibaoClass,
    EducationStage,
    Health,
    HouseholdStatus,
    LabourAbility,
    Relation,
    Sex,
)
from services.registry.domain.national_id import make_national_id
from services.registry.service import bulk
from services.registry.service.regions import region_row
from shared import spreadsheets
from shared.auth import Principal, Role

DEMO_COUNTY = "410602"

DEMO_REGIONS: list[tuple[str, str]] = [
    ("41", "河南省"),
    ("4106", "鹤壁市"),
    ("410602", "鹤山区"),
    ("410602100", "鹤壁集镇"),
    ("410602100201", "鹤壁集村"),
    ("410602100202", "西顶村"),
    ("410602100203", "东头村"),
    ("410602100204", "南街村"),
    ("410602101", "姬家山乡"),
    ("410602101201", "姬家山村"),
    ("410602101202", "施家沟村"),
    ("410602101203", "前山村"),
    ("410602101204", "西坡村"),
    ("410602102", "中山路街道"),
    ("410602102201", "大湖村"),
    ("410602102202", "北马村"),
    ("410602102203", "红旗村"),
]
DEMO_VILLAGES = tuple(code for code, _ in DEMO_REGIONS if len(code) == 12)
_VILLAGE_NAMES = dict(DEMO_REGIONS)
_TOWNSHIP_NAMES = {code: name for code, name in DEMO_REGIONS if len(code) == 9}

# Where people were born (the first 6 digits of their ID): mostly here, some from nearby counties.
_BIRTH_REGIONS = ("410602",) * 12 + ("410603", "410611", "410621", "410622", "410523", "410526")
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
_MALE_GIVEN = (
    "建国",
    "建军",
    "国强",
    "志强",
    "伟",
    "磊",
    "军",
    "勇",
    "杰",
    "涛",
    "超",
    "明",
    "刚",
    "平",
    "辉",
    "鹏",
    "强",
    "浩",
    "宇",
    "俊杰",
    "子轩",
    "浩然",
    "宇航",
    "文博",
    "保国",
    "卫东",
    "长河",
    "海涛",
)
_FEMALE_GIVEN = (
    "秀英",
    "桂英",
    "秀兰",
    "玉兰",
    "凤英",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "艳",
    "娟",
    "霞",
    "燕",
    "玲",
    "丹",
    "萍",
    "红梅",
    "春花",
    "梓涵",
    "欣怡",
    "雨涵",
    "诗琪",
    "思彤",
    "佳怡",
    "淑珍",
)
_SCHOOLS = {
    EducationStage.preschool: "{town}中心幼儿园",
    EducationStage.primary: "{village}小学",
    EducationStage.junior: "{town}中学",
    EducationStage.senior_high: "鹤壁市高级中学",
    EducationStage.secondary_vocational: "鹤壁职业技术学院附属中专",
    EducationStage.junior_college: "鹤壁职业技术学院",
    EducationStage.undergraduate: "河南理工大学",
}


@dataclass
class DemoPerson:
    name: str
    national_id: str
    sex: Sex
    birth_date: date
    relation: Relation
    health: Health = Health.healthy
    disability_grade: int | None = None
    labour_ability: LabourAbility = LabourAbility.normal
    education_stage: EducationStage | None = None
    school: str | None = None


@dataclass
class DemoHousehold:
    number: str
    village_code: str
    address: str
    phone: str | None
    status: HouseholdStatus
    bank_account: str | None
    dibao: DibaoClass | None
    tekun: bool
    insured_year: int | None
    income: IncomeRow
    previous_income: IncomeRow
    members: list[DemoPerson] = field(default_factory=list)

    # The rest of the payout account (户名, 开户行; issue 14), derived so the generated data do not change:
    # the head holds the account (the demo's 622848… numbers are 中国农业银行 cards).
    @property
    def account_holder(self) -> str | None:
        return self.members[0].name if self.bank_account and self.members else None

    @property
    def bank_name(self) -> str | None:
        return DEMO_BANK if self.bank_account else None


DEMO_BANK = "中国农业银行鹤壁分行"


class _People:
    """Makes people with unique, valid ID numbers."""

    def __init__(self, rng: random.Random, today: date, taken: set[str] | None = None) -> None:
        self.rng = rng
        self.today = today
        self.used: set[str] = set(taken or ())

    def person(self, relation: Relation, sex: Sex, age: int, surname: str) -> DemoPerson:
        rng = self.rng
        while True:
            born = self.today - timedelta(days=age * 365 + rng.randrange(365))
            sequence = rng.randrange(500) * 2 + (1 if sex is Sex.male else 0)
            number = make_national_id(rng.choice(_BIRTH_REGIONS), born, sequence)
            if number not in self.used:
                self.used.add(number)
                break
        given = rng.choice(_MALE_GIVEN if sex is Sex.male else _FEMALE_GIVEN)
        person = DemoPerson(name=surname + given, national_id=number, sex=sex, birth_date=born, relation=relation)
        if age >= 60:
            roll = rng.random()
            if roll < 0.30:
                person.health = Health.chronic
            elif roll < 0.34:
                person.health = Health.serious_illness
            person.labour_ability = LabourAbility.weak if age < 70 else LabourAbility.none
        elif age < 16:
            person.labour_ability = LabourAbility.none
        elif rng.random() < 0.05:
            person.health = Health.chronic
            person.labour_ability = LabourAbility.weak
        if rng.random() < 0.04:
            person.health = Health.disabled
            person.disability_grade = rng.choice((1, 2, 3, 3, 4, 4))
            if person.disability_grade <= 2:
                person.labour_ability = LabourAbility.none
        person.education_stage = _stage(age, rng)
        return person


def _stage(age: int, rng: random.Random) -> EducationStage | None:
    if age < 3:
        return None
    if age <= 5:
        return EducationStage.preschool
    if age <= 11:
        return EducationStage.primary
    if age <= 14:
        return EducationStage.junior
    if age <= 17:
        return EducationStage.senior_high if rng.random() < 0.6 else EducationStage.secondary_vocational
    if age <= 21 and rng.random() < 0.4:
        return EducationStage.undergraduate if rng.random() < 0.5 else EducationStage.junior_college
    return None


def _money(low: int, high: int, rng: random.Random) -> Decimal:
    return Decimal(rng.randrange(low, high + 1) * 100) if high > 0 else Decimal("0")


def _income(year: int, members: Sequence[DemoPerson], poor: bool, rng: random.Random) -> IncomeRow:
    workers = sum(1 for m in members if m.labour_ability is LabourAbility.normal)
    weak = sum(1 for m in members if m.labour_ability is LabourAbility.weak)
    elderly = sum(1 for m in members if (date(year, 12, 31) - m.birth_date).days >= 60 * 365)
    scale = 0.3 if poor else 1.0
    wage = Decimal(int(sum(rng.randrange(90, 360) for _ in range(workers)) * 100 * scale))
    wage += Decimal(int(sum(rng.randrange(20, 80) for _ in range(weak)) * 100 * scale))
    business = _money(0, 120, rng) if rng.random() < 0.4 else Decimal("0")
    property_income = _money(0, 20, rng) if rng.random() < 0.2 else Decimal("0")
    # pensions and subsidies for the old, and what children working elsewhere send home
    transfer = Decimal(elderly * 12 * rng.randrange(150, 320)) + _money(0, 10, rng)
    if elderly and not poor:
        transfer += _money(30, 80, rng)
    costs = min(business, _money(0, 50, rng)) + _money(0, 15, rng)
    return IncomeRow(
        year,
        wage.quantize(Decimal("0.01")),
        business.quantize(Decimal("0.01")),
        property_income.quantize(Decimal("0.01")),
        transfer.quantize(Decimal("0.01")),
        costs.quantize(Decimal("0.01")),
    )


def generate_households(
    count: int,
    *,
    seed: int = 1,
    start: int = 0,
    today: date | None = None,
    villages: Sequence[str] = DEMO_VILLAGES,
    taken_ids: set[str] | None = None,
) -> Iterator[DemoHousehold]:
    """`count` demo households (about 3.3 members each), numbered from `start`. Deterministic per seed."""
    rng = random.Random(seed)
    day = today or date.today()  # noqa: DTZ011 - demo data, the local date is right
    people = _People(rng, day, taken_ids)
    year = day.year - 1
    for n in range(start, start + count):
        village = villages[n % len(villages)]
        surname = rng.choice(_SURNAMES)
        spouse_surname = rng.choice(_SURNAMES)
        kind = rng.random()
        members: list[DemoPerson] = []
        head_sex = Sex.male if rng.random() < 0.85 else Sex.female
        other = Sex.female if head_sex is Sex.male else Sex.male
        if kind < 0.10:  # an old person living alone
            members.append(people.person(Relation.head, head_sex, rng.randrange(62, 88), surname))
        elif kind < 0.25:  # an old couple
            age = rng.randrange(60, 82)
            members.append(people.person(Relation.head, head_sex, age, surname))
            members.append(people.person(Relation.spouse, other, age + rng.randrange(-4, 4), spouse_surname))
        else:  # a couple with children, perhaps parents, perhaps grandchildren
            age = rng.randrange(28, 58)
            members.append(people.person(Relation.head, head_sex, age, surname))
            if rng.random() < 0.92:
                members.append(people.person(Relation.spouse, other, age + rng.randrange(-5, 5), spouse_surname))
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
                child_age = max(0, age - rng.randrange(20, 34))
                sex = Sex.male if rng.random() < 0.52 else Sex.female
                relation = Relation.son if sex is Sex.male else Relation.daughter
                members.append(people.person(relation, sex, child_age, surname))
            if kind > 0.80:
                members.append(people.person(Relation.mother, Sex.female, age + rng.randrange(22, 32), surname))
                if rng.random() < 0.5:
                    members.append(people.person(Relation.father, Sex.male, age + rng.randrange(24, 34), surname))
        town = _TOWNSHIP_NAMES.get(village[:9], "鹤壁集镇")
        village_name = _VILLAGE_NAMES.get(village, "鹤壁集村")
        for person in members:
            template = _SCHOOLS.get(person.education_stage) if person.education_stage else None
            person.school = template.format(town=town, village=village_name.removesuffix("村")) if template else None
        poor = rng.random() < 0.12
        single_old = len(members) == 1 and (day - members[0].birth_date).days > 60 * 365
        dibao = rng.choice((DibaoClass.A, DibaoClass.B, DibaoClass.C)) if (poor and rng.random() < 0.5) else None
        income = _income(year, members, poor, rng)
        previous = _income(year - 1, members, poor and rng.random() < 0.5, rng)
        yield DemoHousehold(
            number=f"{village}-{n + 1:06d}",
            village_code=village,
            address=f"{town}{village_name}{rng.randrange(1, 9)}组{rng.randrange(1, 80)}号",
            phone=f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if rng.random() < 0.9 else None,
            status=HouseholdStatus.LIFTED_OUT if rng.random() < 0.35 else HouseholdStatus.ORDINARY,
            bank_account=f"622848{rng.randrange(10**13):013d}" if rng.random() < 0.85 else None,
            dibao=dibao,
            tekun=single_old and rng.random() < 0.2,
            insured_year=day.year if rng.random() < 0.6 else None,
            income=income,
            previous_income=previous,
            members=members,
        )


def member_rows(households: Sequence[DemoHousehold], *, today: date | None = None) -> list[MemberRow]:
    """The demo households as validated import rows (what the bulk writer takes): their import file
    (`household_csv_rows`) read by the import's own parser, so a seeded demo holds every column an
    import of the same file would (the register's causes, years, 务工, insurance and 帮扶责任人)."""
    day = today or date.today()  # noqa: DTZ011 - demo data, the local date is right
    parsed = parse_rows(household_csv_rows(households, today=day), today=day)
    if parsed.errors:  # the generator makes valid data only: a problem here is a bug in it
        raise ValueError(f"demo data the import refuses: {parsed.errors[:3]}")
    return parsed.rows


def _zh(value: object) -> str:
    if value is None:
        return ""
    for enum, labels in LABELS_ZH.items():
        if isinstance(value, enum):
            return labels[value]
    return str(value)


# The register's fields in seed 004's proportions (剩余未脱贫户: 因病 41.84%, 因残 42.39%, 缺劳力 8.15%, 因学 3.26%,
# 自身发展动力不足 3.26%, 因灾 1.08% of 184), by a household's number: deterministic, no random state.
_CAUSES_BY_WEIGHT = (("因病", 77), ("因残", 78), ("缺劳力", 15), ("因学", 6), ("自身发展动力不足", 6), ("因灾", 2))
_CAUSE_TABLE = tuple(label for label, weight in _CAUSES_BY_WEIGHT for _ in range(weight))
_WORK = ("省外", "县内", "未务工", "乡镇内", "省内", "未务工")


# 帮扶责任人: every registered (脱贫) household has one ("包村干部包贫困户…户户见干部", seed 004), from
# each village's few cadres: the township's cadres and the county offices' (驻村工作队).
_CADRE_UNITS = (
    ("{town}{office}", "乡镇"),
    ("{town}{office}", "乡镇"),
    ("鹤山区农业农村局", "县直"),
    ("鹤山区乡村振兴局", "县直"),
    ("鹤壁市民政局", "市直"),
)
_CADRES_PER_VILLAGE = 4


def _cadre_cells(h: DemoHousehold, key: int) -> dict[str, str]:
    """The household's responsible cadre: one of its village's, the same person on every household they hold."""
    village = int(h.village_code)
    which = key % _CADRES_PER_VILLAGE
    seed = village * _CADRES_PER_VILLAGE + which
    town = _TOWNSHIP_NAMES.get(h.village_code[:9], "鹤壁集镇")
    unit, affiliation = _CADRE_UNITS[seed % len(_CADRE_UNITS)]
    names = _MALE_GIVEN if seed % 3 else _FEMALE_GIVEN
    given = names[seed // 7 % len(names)]
    return {
        "cadre_name": _SURNAMES[seed % len(_SURNAMES)] + given,
        "cadre_work_unit": unit.format(town=town, office="办事处" if town.endswith("街道") else "人民政府"),
        "cadre_affiliation": affiliation,
        "cadre_phone": f"13{seed % 10}{(seed * 7919) % 10**8:08d}",
        "cadre_start_date": f"{2021 + which % 2}-0{3 + which}-01",
    }


def _register_cells(h: DemoHousehold, p: DemoPerson, first: bool, today: date) -> dict[str, str]:
    """The register's columns of one template row (rules.md §3), filled like a county's data."""
    key = sum(map(ord, h.number))
    cells: dict[str, str] = {}
    if first and h.status is HouseholdStatus.LIFTED_OUT:
        cells.update(
            poverty_cause=_CAUSE_TABLE[key % len(_CAUSE_TABLE)],
            registered_year=str(2014 + key % 3),
            lifted_out_year=str(2016 + key % 5),
        )
        cells.update(_cadre_cells(h, key))
    age = today.year - p.birth_date.year
    working = 18 <= age < 60 and p.labour_ability is not LabourAbility.none
    work = _WORK[(key + age) % len(_WORK)] if working else "未务工"
    cells.update(
        education_level="小学" if age >= 55 else ("初中" if age >= 30 else "高中"),
        employment=work,
        months_worked=str(6 + (key + age) % 7) if work != "未务工" else "0",
        medical_insured_years="是",
        pension_insured_years="是" if age >= 16 else "",
    )
    return cells


def household_csv_rows(
    households: Sequence[DemoHousehold], *, lang: str = "zh", today: date | None = None
) -> Iterator[list[str]]:
    """Import-template rows (header first); household fields on the head's row only, like a merged cell."""
    yield template_headers("zh" if lang == "zh" else "en")
    today = today or date.today()  # noqa: DTZ011 - demo data, the local date is right
    for h in households:
        for i, p in enumerate(h.members):
            first = i == 0
            values = {
                "household_number": h.number,
                "member_name": p.name,
                "national_id": p.national_id,
                "sex": _zh(p.sex),
                "birth_date": p.birth_date.isoformat(),
                "relation": _zh(p.relation),
                "health": _zh(p.health),
                "disability_grade": str(p.disability_grade or ""),
                "labour_ability": _zh(p.labour_ability),
                "education_stage": _zh(p.education_stage),
                "school": p.school or "",
                "join_reason": "",
            }
            if first:
                values.update(
                    {
                        "village_code": h.village_code,
                        "address": h.address,
                        "phone": h.phone or "",
                        "household_status": _zh(h.status),
                        "bank_account": h.bank_account or "",
                        "account_holder": h.account_holder or "",
                        "bank_name": h.bank_name or "",
                        "dibao": _zh(h.dibao) if h.dibao else "",
                        "tekun": "是" if h.tekun else "",
                        "insured_year": str(h.insured_year or ""),
                        "wage_income": str(h.income.wage_income),
                        "business_income": str(h.income.business_income),
                        "property_income": str(h.income.property_income),
                        "transfer_income": str(h.income.transfer_income),
                        "production_costs": str(h.income.production_costs),
                        "income_year": str(h.income.income_year),
                    }
                )
            values.update(_register_cells(h, p, first, today))
            yield [values.get(key, "") for key in COLUMN_KEYS]


def households_csv(households: Sequence[DemoHousehold]) -> bytes:
    rows = household_csv_rows(households)
    return spreadsheets.csv_bytes(next(rows), rows)  # UTF-8 with a BOM


async def seed_regions(session: AsyncSession) -> int:
    count = await RegionRepository(session).upsert_many([region_row(code, name) for code, name in DEMO_REGIONS])
    await session.commit()
    return count


SEED_ACTOR = Principal(sub="fangpin:seed", roles=frozenset({Role.ADMIN}), region="")


async def seed_households(session: AsyncSession, n: int, *, pii: object | None = None) -> int:
    """Add `n` demo households to 鹤山区 (COPY; a second call adds more, numbered after the first)."""
    import asyncio

    from services.registry.config import RegistrySettings
    from shared.pii import PiiCipher

    if n <= 0:
        return 0
    cipher = pii if isinstance(pii, PiiCipher) else RegistrySettings().pii_cipher()
    if cipher is None:
        raise RuntimeError("seeding needs FANGPIN_PII_KEY and FANGPIN_PII_INDEX_KEY")
    await RegionRepository(session).upsert_many([region_row(code, name) for code, name in DEMO_REGIONS])
    start = int(
        (
            await session.execute(
                select(func.count()).select_from(household).where(household.c.county_code == DEMO_COUNTY)
            )
        ).scalar_one()
    )
    repo = HouseholdRepository(session)
    today = date.today()  # noqa: DTZ011 - demo data, the local date is right
    generated = list(generate_households(n, seed=start + 1, start=start, today=today))
    rows = member_rows(generated, today=today)
    indexes = await asyncio.to_thread(bulk.blind_indexes, cipher, [r.national_id for r in rows])
    taken = await repo.active_indexes_among(indexes)
    if taken:  # a person from an earlier seed: leave that household out rather than collide
        clash = {r.household.household_number for r, i in zip(rows, indexes, strict=True) if i in taken}
        keep = [(r, i) for r, i in zip(rows, indexes, strict=True) if r.household.household_number not in clash]
        rows, indexes = [r for r, _ in keep], [i for _, i in keep]
        generated = [h for h in generated if h.number not in clash]
    written = await bulk.write(
        repo,
        rows,
        indexes,
        pii=cipher,
        job_id=None,
        history=bulk.HistoryContext(
            actor=SEED_ACTOR, request_id=None, reason="demo data (演示数据)", on=today, action="household.seed"
        ),
        extra_incomes={h.number: h.previous_income for h in generated},
    )
    await session.commit()
    return written.households

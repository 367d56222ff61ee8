"""The county report (统计报表, rules.md §5): the figures the register holds, for a county, township or
village and a year, as JSON and as an XLSX workbook (numbers as numbers, names beside codes)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.api.schemas import (
    AssistanceFigure,
    CareFigure,
    CodeCount,
    HeadCount,
    MeasureFigure,
    PayoutFigure,
    RegionFigures,
    RegionRef,
    StatisticsRead,
    YearCount,
)
from services.registry.db.regions_repository import RegionRepository
from services.registry.db.statistics_repository import Count, StatisticsRepository
from services.registry.domain.model import LABELS_ZH, DibaoClass, PovertyCause, RiskType
from services.registry.domain.statistics import Rounding, share
from shared.auth import Principal
from shared.contracts.assistance import CARE_GROUP_LABELS, MEASURE_TYPE_LABELS, PLACEMENT_LABELS
from shared.contracts.vocabulary import HouseholdStatus
from shared.errors import FieldError, NotFound, Unprocessable
from shared.spreadsheets import Sheet, xlsx_bytes

LEVELS = {6: "county", 9: "township", 12: "village"}
CLAIM_CATEGORIES = {
    "illness": "因病",
    "disaster_accident": "因灾因意外",
    "school_entry": "因学(入学)",
    "in_school": "因学(在校)",
    "income_drop": "收入骤减",
    "industry_loss": "产业损失",
}
NOT_HELD = [
    "防贫保险 premiums and the loss ratio (赔付率): the premiums are not in claims' read contract; "
    "the payouts by category are (claims_paid)",
]


def _label(enum: type, code: str | None) -> str:
    if code is None:
        return "未填"
    return LABELS_ZH[enum].get(code, code)


def _table(enum: type, counts: Sequence[Count], rounding: Rounding, *, shares: bool = True) -> list[CodeCount]:
    total = sum(c.households for c in counts)
    return [
        CodeCount(
            code=c.key,
            label=_label(enum, c.key) if c.key != "tekun" else "特困供养",
            households=c.households,
            people=c.people,
            share=share(c.households, total, rounding) if shares else None,
        )
        for c in counts
    ]


class StatisticsService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.repo = StatisticsRepository(session)

    async def figures(self, code: str, year: int, rounding: Rounding = Rounding.down) -> StatisticsRead:
        if not re.fullmatch(r"[0-9]{6}|[0-9]{9}|[0-9]{12}", code):
            raise Unprocessable(
                "give one of county (6 digits), township (9) or village (12)",
                code="invalid_region_code",
                errors=[FieldError(field="query.county", message="a 6, 9 or 12-digit division code")],
            )
        if not self.principal.can_see(code):
            # a region the caller does not cover (or covers only part of): as if it did not exist
            raise NotFound("no such region", code="region_not_found")
        names = await RegionRepository(self.session).names([code.ljust(12, "0")])
        region = RegionRef(code=code, name=names.get(code.ljust(12, "0")), level=LEVELS[len(code)])
        totals = await self.repo.totals(code, year)
        rural, registered, remaining = totals["rural"], totals["registered"], totals["remaining"]
        children = [] if len(code) == 12 else await self.repo.by_child_region(code, year, 9 if len(code) == 6 else 12)
        payouts = await self.repo.payouts(code, year)
        measures = await self.repo.measures_in_effect(code, year)
        care = await self.repo.care_subjects(code)
        return StatisticsRead(
            region=region,
            year=year,
            rounding=rounding.value,
            rural=HeadCount(households=rural.households, people=rural.people),
            registered=HeadCount(households=registered.households, people=registered.people),
            remaining=HeadCount(households=remaining.households, people=remaining.people),
            poverty_incidence=share(remaining.people, rural.people, rounding),
            lifted_out_by_year=[
                YearCount(year=int(c.key or 0), households=c.households, people=c.people)
                for c in await self.repo.lifted_out_by_year(code, year)
            ],
            remaining_by_cause=_table(PovertyCause, await self.repo.remaining_by_cause(code, year), rounding),
            monitored_by_type=_table(HouseholdStatus, await self.repo.monitored_by_type(code, year), rounding),
            monitored_by_risk=_table(RiskType, await self.repo.monitored_by_risk(code, year), rounding, shares=False),
            dibao_tekun=_table(DibaoClass, await self.repo.dibao_tekun(code, year), rounding, shares=False),
            by_region=[
                RegionFigures(
                    code=r.code,
                    name=r.name,
                    rural=HeadCount(households=r.rural_households, people=r.rural_people),
                    registered=HeadCount(households=r.registered_households, people=r.registered_people),
                    remaining=HeadCount(households=r.remaining_households, people=r.remaining_people),
                    poverty_incidence=share(r.remaining_people, r.rural_people, rounding),
                )
                for r in children
            ],
            claims_paid=None
            if payouts is None
            else [
                PayoutFigure(
                    category=p.category,
                    label=CLAIM_CATEGORIES.get(p.category, p.category),
                    claims=p.claims,
                    households=p.households,
                    amount=p.amount,
                )
                for p in payouts
            ],
            assistance_paid=[
                AssistanceFigure(
                    measure_type=a.measure_type,
                    label=MEASURE_TYPE_LABELS.get(a.measure_type, a.measure_type),
                    payments=a.payments,
                    households=a.households,
                    amount=a.amount,
                )
                for a in await self.repo.assistance_paid(code, year)
            ],
            measures_by_type=None
            if measures is None
            else [
                MeasureFigure(
                    measure_type=m.measure_type,
                    label=MEASURE_TYPE_LABELS.get(m.measure_type, m.measure_type),
                    measures=m.measures,
                    households=m.households,
                )
                for m in measures
            ],
            care_by_group=None
            if care is None
            else [
                CareFigure(
                    care_group=c.care_group,
                    group_label=CARE_GROUP_LABELS.get(c.care_group, c.care_group),
                    placement=c.placement,
                    placement_label="待安置" if c.placement is None else PLACEMENT_LABELS.get(c.placement, c.placement),
                    people=c.people,
                    households=c.households,
                )
                for c in care
            ],
            not_held=NOT_HELD,
        )


def report_sheets(report: StatisticsRead) -> list[Sheet]:
    """The report as worksheets: counts and amounts as numbers, shares as numbers (percent, 2 places),
    the region's name beside its code on every sheet."""
    where = f"{report.region.name or ''}（{report.region.code}）"
    summary_rows: list[list[object]] = [
        ["地区", where, None, None],
        ["年度", report.year, None, None],
        ["农村登记户数/人数", report.rural.households, report.rural.people, None],
        ["建档立卡户数/人数", report.registered.households, report.registered.people, None],
        ["未脱贫户数/人数", report.remaining.households, report.remaining.people, None],
        ["贫困发生率(%)", None, None, report.poverty_incidence],
    ]
    summary_rows += [[f"{y.year}年脱贫户数/人数", y.households, y.people, None] for y in report.lifted_out_by_year]

    def rows(table: Sequence[CodeCount]) -> list[list[object]]:
        return [[where, c.label, c.code or "", c.households, c.people, c.share] for c in table]

    header = ["地区", "类别", "代码", "户数", "人数", "占比(%)"]
    sheets = [
        Sheet("汇总", ["指标", "户数/值", "人数", "比率(%)"], summary_rows),
        Sheet("致贫原因", header, rows(report.remaining_by_cause)),
        Sheet("监测对象类型", header, rows(report.monitored_by_type)),
        Sheet("风险类型", header, rows(report.monitored_by_risk)),
        Sheet("低保特困", header, rows(report.dibao_tekun)),
        Sheet(
            "分地区",
            [
                "区划代码",
                "名称",
                "农村户数",
                "农村人数",
                "建档立卡户数",
                "建档立卡人数",
                "未脱贫户数",
                "未脱贫人数",
                "贫困发生率(%)",
            ],
            [
                [
                    r.code,
                    r.name or "",
                    r.rural.households,
                    r.rural.people,
                    r.registered.households,
                    r.registered.people,
                    r.remaining.households,
                    r.remaining.people,
                    r.poverty_incidence,
                ]
                for r in report.by_region
            ],
        ),
    ]
    sheets.append(
        Sheet(
            "帮扶资金",
            ["地区", "措施类型", "代码", "笔数", "户数", "金额(元)"],
            [[where, a.label, a.measure_type, a.payments, a.households, a.amount] for a in report.assistance_paid],
        )
    )
    if report.measures_by_type is not None:
        sheets.append(
            Sheet(
                "帮扶措施",
                ["地区", "措施类型", "代码", "措施数", "户数"],
                [[where, m.label, m.measure_type, m.measures, m.households] for m in report.measures_by_type],
            )
        )
    if report.care_by_group is not None:
        sheets.append(
            Sheet(
                "兜底保障",
                ["地区", "兜底对象类别", "代码", "安置方式", "人数", "户数"],
                [
                    [where, c.group_label, c.care_group, c.placement_label, c.people, c.households]
                    for c in report.care_by_group
                ],
            )
        )
    if report.claims_paid is not None:
        sheets.append(
            Sheet(
                "防贫保险赔付",
                ["地区", "类别", "代码", "赔付件数", "户数", "金额(元)"],
                [[where, p.label, p.category, p.claims, p.households, p.amount] for p in report.claims_paid],
            )
        )
    return sheets


def report_xlsx(report: StatisticsRead) -> bytes:
    return xlsx_bytes(report_sheets(report))

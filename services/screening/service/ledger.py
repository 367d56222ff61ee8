"""The monitoring ledger (台账, rules.md §1.5) and its XLSX / CSV export with Chinese headers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.cases_repository import CaseRepository, OverdueOn
from services.screening.db.ledger_repository import LedgerHousehold, LedgerRepository
from services.screening.domain.assistance import MEASURE_TYPE_LABELS as ASSISTANCE_LABELS
from services.screening.domain.calendar import parse_period, screening_window
from services.screening.domain.risk import RISK_LABELS, RiskCode
from services.screening.service.common import SERVICE, Context, require_county_read
from shared import spreadsheets
from shared.audit import Auditor
from shared.auth import Principal
from shared.errors import Unprocessable

ExportFormat = Literal["xlsx", "csv"]

MONITORING_TYPE_LABELS = {"unstable": "脱贫不稳定户", "marginal": "边缘易致贫户", "sudden_hardship": "突发严重困难户"}
ELIMINATION_LABELS = {"assisted": "帮扶消除", "natural": "自然消除"}
CLAIM_CATEGORY_LABELS = {
    "disaster_accident": "灾害意外",
    "illness": "因病",
    "school_entry": "入学",
    "in_school": "就学",
    "income_drop": "收入骤减",
    "industry_loss": "产业损失",
}
SOURCE_LABELS = {"screening": "筛查预警", "self_report": "农户自主申报", "cadre_visit": "基层干部排查"}
MEASURE_LABELS = {
    "industry": "产业帮扶",
    "employment": "就业帮扶",
    "health": "健康帮扶",
    "education": "教育帮扶",
    "housing_safety": "住房安全保障",
    "drinking_water": "饮水安全保障",
    "social_assistance": "综合保障",
    "insurance": "防贫保险",
    "other": "其他",
}
STATE_LABELS = {
    "lead": "待核实",
    "verifying": "入户核实中",
    "verified": "已核实",
    "village_reviewed": "村级评议",
    "notice": "公示中",
    "township_reviewed": "乡镇审核",
    "confirmed": "县级确认",
    "monitoring": "监测中",
    "elimination_proposed": "拟消除风险",
    "elimination_village_reviewed": "消除村级评议",
    "elimination_notice": "消除公示中",
    "elimination_township_reviewed": "消除乡镇审核",
    "eliminated": "风险已消除",
    "rejected": "不予认定",
}

HOUSEHOLD_HEADERS: tuple[tuple[str, str], ...] = (
    ("household_number", "户编号"),
    ("township_code", "乡镇代码"),
    ("township_name", "乡镇名称"),
    ("village_code", "村代码"),
    ("village_name", "村名称"),
    ("monitoring_type", "监测对象类型"),
    ("risk_codes", "风险类型"),
    ("source", "识别来源"),
    ("confirmed_on", "认定日期"),
    ("state", "当前状态"),
    ("measures_delivered", "已落实帮扶措施数"),
    ("eliminated_on", "风险消除日期"),
    ("elimination_kind", "消除方式"),
    ("case_id", "监测案件编号"),
)


def month_bounds(period: str) -> tuple[date, date]:
    try:
        parse_period(period)
    except ValueError as exc:
        raise Unprocessable(str(exc), code="invalid_period") from exc
    _, last = screening_window(period)
    return last.replace(day=1), last


def label_codes(codes: Sequence[str]) -> str:
    """Risk codes as their Chinese labels, joined with 、 (an unknown code as itself)."""
    labels = []
    for code in codes:
        try:
            labels.append(RISK_LABELS[RiskCode(code)])
        except ValueError:
            labels.append(code)
    return "、".join(labels)


def household_cells(row: LedgerHousehold) -> list[object]:
    cells: list[object] = []
    for key, _ in HOUSEHOLD_HEADERS:
        value = getattr(row, key)
        if key == "monitoring_type":
            value = MONITORING_TYPE_LABELS.get(value, value or "")
        elif key == "risk_codes":
            value = label_codes(value or [])
        elif key == "source":
            value = SOURCE_LABELS.get(value, value)
        elif key == "state":
            value = STATE_LABELS.get(value, value)
        elif key == "elimination_kind":
            value = ELIMINATION_LABELS.get(value, value or "")
        elif isinstance(value, date):
            pass  # a date cell in XLSX, YYYY-MM-DD in CSV (shared/spreadsheets.py)
        elif value is None:
            value = ""
        else:
            value = value if isinstance(value, int) else str(value)
        cells.append(value)
    return cells


def summary_rows(county: str, period: str, summary: Mapping[str, Any]) -> list[tuple[str, str, object]]:
    """(指标, 分项, 数值) rows of the summary sheet. The 数值 column holds numbers only (counts as integers,
    amounts as decimals, so SUM works, tests/kernel/test_xlsx_numbers.py); what is text (the county, the
    month, "not screened") goes in 分项 with an empty 数值."""
    rows: list[tuple[str, str, object]] = [("县(区)代码", county, None), ("月份", period, None)]
    rows.append(("监测对象户数(月末)", "合计", summary["monitored_households"]))
    rows += [
        ("监测对象户数(月末)", MONITORING_TYPE_LABELS.get(k, k), v) for k, v in summary["monitored_by_type"].items()
    ]
    rows += [("按风险类型(月末)", label_codes([k]), v) for k, v in summary["monitored_by_risk_code"].items()]
    rows.append(("本月新认定户数", "合计", summary["new_confirmations"]))
    rows += [
        ("本月新认定户数", MONITORING_TYPE_LABELS.get(k, k), v) for k, v in summary["new_confirmations_by_type"].items()
    ]
    rows.append(("本月风险消除户数", "合计", summary["eliminations"]))
    rows += [("本月风险消除户数", ELIMINATION_LABELS.get(k, k), v) for k, v in summary["eliminations_by_kind"].items()]
    rows.append(("本月落实帮扶措施数", "合计", summary["measures_delivered"]))
    rows += [
        ("本月落实帮扶措施数", MEASURE_LABELS.get(k, k), v) for k, v in summary["measures_delivered_by_type"].items()
    ]
    rows += [
        ("本月落实帮扶措施数(帮扶记录)", ASSISTANCE_LABELS.get(k, k), v)
        for k, v in summary["assistance_measures_delivered_by_type"].items()
    ]
    assistance = summary["assistance_paid"]
    rows.append(("本月帮扶资金(元)", "合计", Decimal(assistance["amount"])))
    for k, v in assistance["by_type"].items():
        rows.append(("本月帮扶资金(元)", ASSISTANCE_LABELS.get(k, k), Decimal(v["amount"])))
        rows.append(("本月帮扶资金(笔)", ASSISTANCE_LABELS.get(k, k), v["payments"]))
    rows += [("本月新纳入核实", SOURCE_LABELS.get(k, k), v) for k, v in summary["cases_opened_by_source"].items()]
    rows.append(("超过认定时限(20个工作日)", "", summary["identification_overdue"]))
    run = summary.get("run")
    rows.append(("本月筛查预警线索", "", run["leads"]) if run else ("本月筛查预警线索", "未筛查", None))
    paid = summary["claims_paid"]
    # amounts as numbers (the JSON ledger carries them as decimal strings)
    rows.append(("防贫保险理赔支付(元)", "合计", Decimal(paid["amount"])))
    rows.append(("防贫保险理赔支付(户)", "合计", paid["households"]))
    rows += [
        ("防贫保险理赔支付(元)", CLAIM_CATEGORY_LABELS.get(k, k), Decimal(v)) for k, v in paid["by_category"].items()
    ]
    return rows


class LedgerService:
    def __init__(self, session: AsyncSession, ctx: Context) -> None:
        self.session = session
        self.ctx = ctx
        self.repo = LedgerRepository(session, zone=ctx.clock.zone.key)
        self.cases = CaseRepository(session)

    def _prefix(self, principal: Principal, county_code: str) -> str:
        require_county_read(principal, county_code, "county")
        return principal.region if principal.region.startswith(county_code) else county_code

    async def _figures(self, county_code: str, prefix: str, first: date, last: date) -> dict[str, Any]:
        figures = await self.repo.summary(county_code, prefix, first, last)
        # The overdue identifications are the case list's own query (`GET /v1/cases?overdue=true`), counted
        # as of the month's end, or as of today while the month runs (nothing is overdue in the future).
        as_of = OverdueOn(min(last, self.ctx.today()), self.ctx.clock.zone.key)
        overdue = await self.cases.count_overdue(county_code=county_code, region_prefix=prefix, overdue=as_of)
        run = figures.pop("run")
        assistance = await self.repo.assistance(county_code, prefix, first, last)
        return {**figures, **assistance, "identification_overdue": overdue, "run": run}

    async def summary(self, principal: Principal, county_code: str, period: str) -> dict[str, Any]:
        prefix = self._prefix(principal, county_code)
        first, last = month_bounds(period)
        summary = await self._figures(county_code, prefix, first, last)
        claims_paid = await self.repo.claims_paid(county_code, prefix, first, last)
        return {"county_code": county_code, "period": period, "region": prefix, **summary, "claims_paid": claims_paid}

    async def export(
        self, principal: Principal, county_code: str, period: str, fmt: ExportFormat
    ) -> tuple[bytes, str, str]:
        """(content, media type, file name)."""
        prefix = self._prefix(principal, county_code)
        first, last = month_bounds(period)
        summary = {
            **await self._figures(county_code, prefix, first, last),
            "claims_paid": await self.repo.claims_paid(county_code, prefix, first, last),
        }
        households = await self.repo.households(county_code, prefix, first, last)
        name = f"监测台账_{prefix}_{period}"
        if fmt == "csv":
            content = self._csv(households)
            media, filename = spreadsheets.CSV_MEDIA_TYPE, f"{name}.csv"
        else:
            content = self._xlsx(county_code, period, summary, households)
            media = spreadsheets.XLSX_MEDIA_TYPE
            filename = f"{name}.xlsx"
        await Auditor(self.session, SERVICE, principal).record(
            "screening.ledger.exported",
            "ledger",
            f"{prefix}:{period}",
            {"format": fmt, "households": len(households)},
        )
        await self.session.commit()
        return content, media, filename

    @staticmethod
    def _csv(households: list[LedgerHousehold]) -> bytes:
        # UTF-8 with a BOM, formula-leading text neutralised (shared/spreadsheets.py)
        return spreadsheets.csv_bytes([label for _, label in HOUSEHOLD_HEADERS], map(household_cells, households))

    @staticmethod
    def _xlsx(county: str, period: str, summary: Mapping[str, Any], households: list[LedgerHousehold]) -> bytes:
        return spreadsheets.xlsx_bytes(
            [
                spreadsheets.Sheet("汇总", ["指标", "分项", "数值"], summary_rows(county, period, summary)),
                spreadsheets.Sheet(
                    "监测对象明细", [label for _, label in HOUSEHOLD_HEADERS], map(household_cells, households)
                ),
            ]
        )

"""Statistics (统计报表, rules.md §5): the county report's figures the register holds."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from services.registry.api.deps import StatisticsReader, StatisticsServiceDep
from services.registry.api.schemas import StatisticsRead
from services.registry.domain.statistics import Rounding
from services.registry.service.statistics import report_xlsx
from shared.errors import Unprocessable, problem_responses
from shared.spreadsheets import XLSX_MEDIA_TYPE

router = APIRouter(prefix="/v1/statistics", tags=["statistics"])


@router.get(
    "",
    response_model=StatisticsRead,
    summary="County report figures (统计报表): registered, lifted out, remaining poor, 贫困发生率, causes",
    description="Give exactly one of `county` (6 digits), `township` (9) or `village` (12), inside your region, "
    "and a `year`. Shares have two decimals (`rounding=down` 截位 as the county reports write them, or "
    "`half_up`). `format=xlsx` answers the same figures as a workbook (numbers as numbers, names beside codes).",
    responses={
        **problem_responses(404, 422),
        200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "the figures (JSON, or XLSX with format=xlsx)"},
    },
)
async def statistics(
    service: StatisticsServiceDep,
    _: StatisticsReader,
    year: Annotated[int, Query(ge=2000, le=2100, description="the report's year", examples=[2020])],
    county: Annotated[str | None, Query(pattern=r"^[0-9]{6}$", examples=["410602"])] = None,
    township: Annotated[str | None, Query(pattern=r"^[0-9]{9}$", examples=["410602100"])] = None,
    village: Annotated[str | None, Query(pattern=r"^[0-9]{12}$", examples=["410602100201"])] = None,
    rounding: Rounding = Rounding.down,
    format: Literal["json", "xlsx"] = "json",
) -> StatisticsRead | Response:
    """Computes the county report's figures (统计报表) that the register holds for one region and year:
    建档立卡户数/人数, 脱贫 by 脱贫年度, 未脱贫户数/人数 and 贫困发生率, remaining households by 主要致贫原因 with
    shares, monitored households by type and 风险类型, 低保 by class and 特困, the same main figures per township
    or village, and the claims paid by category (claims' read contract). 404 for a region outside yours.
    """
    given = [c for c in (county, township, village) if c is not None]
    if len(given) != 1:
        raise Unprocessable("give exactly one of county, township or village", code="invalid_region_code")
    report = await service.figures(given[0], year, rounding)
    if format == "xlsx":
        return Response(
            content=report_xlsx(report),
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="statistics-{given[0]}-{year}.xlsx"'},
        )
    return report

"""Screening service (防返贫监测): department feeds, risk screening, monitoring cases."""

from fastapi import FastAPI

from services.screening.api.adjustments import router as adjustments_router
from services.screening.api.assistance import router as assistance_router
from services.screening.api.care import router as care_router
from services.screening.api.cases import router as cases_router
from services.screening.api.dibao import router as dibao_router
from services.screening.api.feeds import router as feeds_router
from services.screening.api.ledger import router as ledger_router
from services.screening.api.public_posts import router as public_posts_router
from services.screening.api.runs import router as runs_router
from services.screening.api.thresholds import router as thresholds_router
from services.screening.api.visits import router as visits_router
from services.screening.config import ScreeningSettings
from services.screening.db.tables import outbox
from services.screening.jobs import jobs
from shared.app import ServiceSpec, build_app

DESCRIPTION = """
Risk screening (防返贫监测预警): monthly department feeds (部门数据), set-based screening runs
that turn them into leads (预警线索), and the monitoring case workflow from home verification
to county confirmation (认定) and risk elimination (风险消除).

All calls need `Authorization: Bearer <JWT>`; every query is limited to the caller's region.
Errors are `application/problem+json` with a stable `code`. Money is a decimal string.
Feed batches and screening runs are jobs: `202 Accepted` and a `Location` to poll.
"""


def create_app(settings: ScreeningSettings | None = None) -> FastAPI:
    spec = ServiceSpec(
        name="screening",
        title="Fangpin Screening (防返贫监测)",
        description=DESCRIPTION,
        routers=[
            thresholds_router,
            feeds_router,
            runs_router,
            cases_router,
            ledger_router,
            assistance_router,
            public_posts_router,
            dibao_router,
            care_router,
            visits_router,
            adjustments_router,
        ],
        outbox=outbox,
        peers=("registry", "claims"),
        hooks=(jobs,),
        openapi_tags=[
            {"name": "thresholds", "description": "监测参数: per county and year, versioned, with sources"},
            {"name": "feeds", "description": "部门数据: department batches (JSON lines / CSV) as jobs"},
            {"name": "runs", "description": "月度筛查: set-based screening runs and their leads"},
            {"name": "cases", "description": "监测对象认定: the case workflow, notices, measures, elimination"},
            {"name": "assistance", "description": "帮扶措施: typed measures, the assistance plan, payments as income"},
            {"name": "public-posts", "description": "公益岗: posts, assignments, attendance and assessment, wages"},
            {"name": "dibao", "description": "低保: the county's standard by class (versioned), monthly payments"},
            {"name": "care", "description": "兜底保障: suggested subjects, confirmation, placement, monthly visits"},
            {
                "name": "adjustments",
                "description": "两类户动态调整: a village's monthly list, township approval, overdue",
            },
            {"name": "visits", "description": "入户走访: home visits, photos (attachments), coverage"},
            {"name": "ledger", "description": "台账: per county and month, XLSX / CSV export"},
        ],
    )
    return build_app(spec, settings or ScreeningSettings())

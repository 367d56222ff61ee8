"""Claims service (防贫保险理赔): the six-category anti-poverty insurance."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.claims.api.claims import router as claims_router
from services.claims.api.notices import router as notices_router
from services.claims.api.payments import router as payments_router
from services.claims.api.schemes import router as schemes_router
from services.claims.api.simulations import router as simulations_router
from services.claims.config import ClaimsSettings
from services.claims.db.tables import outbox
from services.claims.jobs import background_jobs
from services.claims.service.notice_print import FONTS_PATH, font_directory
from shared.app import ServiceSpec, build_app

DESCRIPTION = """
Anti-poverty insurance (防贫保险): disaster/accident 灾害意外, illness 大病, school entry 入学,
in-school education 就学, income drop 收入骤减 and industry loss 产业损失. Versioned schemes,
explainable assessments, review workflow, 10-day public notice (公示) and exactly-once payments.

All calls need `Authorization: Bearer <JWT>`; every query is limited to the caller's region.
Money is a decimal string with two places (`"16000.00"`). Errors are `application/problem+json`
with a stable `code`.
"""

TAGS = [
    {"name": "schemes", "description": "方案: versioned parameters per county and year; a used version never changes"},
    {"name": "assessments", "description": "核算: the payout rules of rules.md §2.2, with a full breakdown"},
    {"name": "enrolments", "description": "参保: enrolled households and premium totals"},
    {"name": "claims", "description": "理赔: intake, review workflow (rules.md §2.4), assessment"},
    {"name": "notices", "description": "公示: per village, objections during the window"},
    {"name": "payments", "description": "支付: batches, bank file, confirmations; exactly one payment per claim"},
    {"name": "simulations", "description": "测算: a draft scheme on a year's claims, loss ratio"},
]


def create_app(settings: ClaimsSettings | None = None) -> FastAPI:
    spec = ServiceSpec(
        name="claims",
        title="Fangpin Claims (防贫保险)",
        description=DESCRIPTION,
        routers=[schemes_router, claims_router, notices_router, payments_router, simulations_router],
        outbox=outbox,
        peers=("registry",),
        hooks=[background_jobs],
        openapi_tags=TAGS,
    )
    app = build_app(spec, settings or ClaimsSettings())
    # the notice's font (Noto Sans SC, SIL OFL) for printed pages; public like the docs assets
    app.mount(FONTS_PATH, StaticFiles(directory=font_directory()), name="fonts")
    return app

"""Claims service (防贫保险理赔): the six-category anti-poverty insurance."""

from fastapi import FastAPI

from services.claims.config import ClaimsSettings
from services.claims.db.tables import outbox
from shared.app import ServiceSpec, build_app

DESCRIPTION = """
Anti-poverty insurance (防贫保险): disaster/accident 灾害意外, illness 大病, school entry 入学,
in-school education 就学, income drop 收入骤减 and industry loss 产业损失. Versioned schemes,
explainable assessments, review workflow, 10-day public notice (公示) and exactly-once payments.
"""


def create_app(settings: ClaimsSettings | None = None) -> FastAPI:
    spec = ServiceSpec(
        name="claims",
        title="Fangpin Claims (防贫保险)",
        description=DESCRIPTION,
        routers=[],
        outbox=outbox,
        peers=("registry",),
    )
    return build_app(spec, settings or ClaimsSettings())

"""Screening service (防返贫监测): department feeds, risk screening, monitoring cases."""

from fastapi import FastAPI

from services.screening.config import ScreeningSettings
from services.screening.db.tables import outbox
from shared.app import ServiceSpec, build_app

DESCRIPTION = """
Risk screening (防返贫监测预警): monthly department feeds (部门数据), set-based screening runs
that turn them into leads (预警线索), and the monitoring case workflow from home verification
to county confirmation (认定) and risk elimination (风险消除).
"""


def create_app(settings: ScreeningSettings | None = None) -> FastAPI:
    spec = ServiceSpec(
        name="screening",
        title="Fangpin Screening (防返贫监测)",
        description=DESCRIPTION,
        routers=[],
        outbox=outbox,
        peers=("registry", "claims"),
    )
    return build_app(spec, settings or ScreeningSettings())

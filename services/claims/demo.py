"""Demo data: the reference scheme of rules.md §2.1, in force for the demo county 鹤山区 (410602).

The demo names an insurer, policy number and contract period (rules.md §2.1: a scheme names its
insurer); the figures are the reference scheme's, verbatim.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.claims.db.scheme_repository import SchemeRepository
from services.claims.domain.reference import reference_scheme_data
from services.claims.domain.scheme import parse_scheme, scheme_to_dict

DEMO_CONTRACT = {
    "insurer": "中国人寿财产保险股份有限公司鹤壁市中心支公司",  # demo value [A]
    "policy_number": "DEMO-410602-2026-001",
    "contract_start": "2026-01-01",
    "contract_end": "2026-12-31",
}


async def seed_schemes(session: AsyncSession) -> int:
    """Store the reference scheme unless it is there already; returns how many schemes were added."""
    scheme = parse_scheme(reference_scheme_data() | DEMO_CONTRACT)
    repo = SchemeRepository(session)
    if await repo.active_code_for(scheme.county_code, scheme.year) is not None:
        return 0
    if not await repo.insert(
        code=scheme.code, county_code=scheme.county_code, year=scheme.year, status="active", created_by="seed"
    ):
        return 0
    await repo.insert_version(code=scheme.code, version=1, body=scheme_to_dict(scheme), created_by="seed")
    await session.commit()
    return 1

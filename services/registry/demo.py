"""Demo data for the demo county 鹤山区 (410602), Hebi, Henan."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.db.regions_repository import RegionRepository
from services.registry.regions import region_row

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


async def seed_regions(session: AsyncSession) -> int:
    count = await RegionRepository(session).upsert_many([region_row(code, name) for code, name in DEMO_REGIONS])
    await session.commit()
    return count

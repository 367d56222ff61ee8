"""Administrative division codes (统计用区划代码), 12 digits::

    41 06 02 001 001
    |  |  |  |   village  (12)
    |  |  |  township     (9)
    |  |  county          (6)
    |  city               (4)
    province              (2)

A code may be written with only its significant digits (``4106``, ``410602001``) or
zero-padded to 6 or 12 digits (``410600`` is the city 4106, as in GB/T 2260;
``410602000000`` is the county 410602). The level is that of the lowest non-zero segment.
The significant prefix is what access scopes compare: a caller scoped to ``410602`` sees
every code that starts with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class RegionLevel(StrEnum):
    province = "province"
    city = "city"
    county = "county"
    township = "township"
    village = "village"

    @property
    def prefix_length(self) -> int:
        return PREFIX_LENGTHS[self]


PREFIX_LENGTHS: Final[dict[RegionLevel, int]] = {
    RegionLevel.province: 2,
    RegionLevel.city: 4,
    RegionLevel.county: 6,
    RegionLevel.township: 9,
    RegionLevel.village: 12,
}
_LEVEL_BY_LENGTH: Final = {length: level for level, length in PREFIX_LENGTHS.items()}
# (level, start, end) of each segment of the 12-digit code, top-down.
_SEGMENTS: Final = (
    (RegionLevel.province, 0, 2),
    (RegionLevel.city, 2, 4),
    (RegionLevel.county, 4, 6),
    (RegionLevel.township, 6, 9),
    (RegionLevel.village, 9, 12),
)
ACCEPTED_LENGTHS: Final = frozenset(PREFIX_LENGTHS.values())


class InvalidRegionCode(ValueError):
    code = "invalid_region_code"


@dataclass(frozen=True, slots=True)
class RegionCode:
    code12: str  # zero-padded to 12 digits
    level: RegionLevel
    prefix: str  # the significant digits: 2, 4, 6, 9 or 12 of them

    @property
    def county_code(self) -> str | None:
        """The 6-digit county this region lies in (None for a province or city)."""
        return self.code12[:6] if len(self.prefix) >= 6 else None

    def contains(self, other: RegionCode) -> bool:
        """Whether ``other`` is this region or lies inside it."""
        return other.code12.startswith(self.prefix)

    def __str__(self) -> str:
        return self.code12


def parse_region_code(code: str) -> RegionCode:
    """Parse a division code given as 2, 4, 6, 9 or 12 digits (zero-padding allowed).

    Raises ``InvalidRegionCode`` for other lengths, non-digits, a zero province, or a non-zero
    segment below a zero one (``410006``: a county under no city).
    """
    if not isinstance(code, str):
        raise InvalidRegionCode("a region code is a string of digits")
    text = code.strip()
    if len(text) not in ACCEPTED_LENGTHS or not (text.isascii() and text.isdigit()):
        raise InvalidRegionCode("a region code has 2, 4, 6, 9 or 12 digits")
    code12 = text.ljust(12, "0")
    level: RegionLevel | None = None
    for segment_level, start, end in _SEGMENTS:
        if code12[start:end].strip("0"):
            if level is not None and PREFIX_LENGTHS[level] != start:
                raise InvalidRegionCode(
                    f"a region code cannot have a {segment_level} segment under an empty higher level"
                )
            level = segment_level
    if level is None or code12[:2] == "00":
        raise InvalidRegionCode("a region code needs a non-zero province (first 2 digits)")
    return RegionCode(code12=code12, level=level, prefix=code12[: PREFIX_LENGTHS[level]])


def region_prefix(code: str) -> str:
    """The significant prefix used for scope checks: ``region_prefix("410602000000") == "410602"``."""
    return parse_region_code(code).prefix


def parent_code(code: str) -> str | None:
    """The 12-digit code of the enclosing region, None for a province.

    ``parent_code("410602001001") == "410602001000"``.
    """
    region = parse_region_code(code)
    if region.level is RegionLevel.province:
        return None
    levels = list(PREFIX_LENGTHS)
    parent_length = PREFIX_LENGTHS[levels[levels.index(region.level) - 1]]
    return region.code12[:parent_length].ljust(12, "0")


def is_within(code: str, scope_prefix: str) -> bool:
    """Whether the region ``code`` lies inside the scope given as a significant prefix or code."""
    return parse_region_code(code).code12.startswith(region_prefix(scope_prefix))


def level_for_prefix_length(length: int) -> RegionLevel:
    try:
        return _LEVEL_BY_LENGTH[length]
    except KeyError:
        raise InvalidRegionCode("a region prefix has 2, 4, 6, 9 or 12 digits") from None

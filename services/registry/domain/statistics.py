"""The county report's arithmetic (统计报表, rules.md §5): shares and the poverty incidence.

Pure: no I/O. Shares are percentages with two decimals, computed in Decimal. The county reports
(seed 004: "因病致贫77户,占比41.84%" of 184, "因灾致贫2户,占比1.08%") cut the third decimal off
(截位): 77/184 = 41.847…% is written 41.84 and 2/184 = 1.086…% is written 1.08. That is the
default (`Rounding.down`); `Rounding.half_up` (41.85, 1.09) is there for offices that round.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal

from shared.contracts.vocabulary import LabelledEnum

__all__ = ["PERCENT", "Rounding", "share"]

PERCENT = Decimal("0.01")
_EXACT = Context(prec=60)


class Rounding(LabelledEnum):
    down = "down", "截位 (舍去第三位小数)"
    half_up = "half_up", "四舍五入"


def share(part: int, whole: int, rounding: Rounding = Rounding.down) -> Decimal | None:
    """`part` as a percentage of `whole`, two decimals (None when `whole` is 0)."""
    if isinstance(part, bool) or isinstance(whole, bool) or not isinstance(part, int) or not isinstance(whole, int):
        raise TypeError("counts must be int")
    if part < 0 or whole < 0:
        raise ValueError("counts must not be negative")
    if whole == 0:
        return None
    exact = _EXACT.divide(_EXACT.multiply(Decimal(part), Decimal(100)), Decimal(whole))
    mode = ROUND_DOWN if rounding is Rounding.down else ROUND_HALF_UP
    return exact.quantize(PERCENT, rounding=mode)

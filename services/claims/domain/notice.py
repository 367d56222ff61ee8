"""What a printed public notice (公示) says, and how names on it are masked.

A notice is read by the villagers it lists: they must recognise who is on it (that is the point
of supervision), but not read a full name or ID. The county chooses the name policy:

- ``first_last`` (the default): first and last character shown, the middle masked:
  ``张三国`` → ``张*国``, ``欧阳小明`` → ``欧**明``; a two-character name keeps its surname: ``李四`` → ``李*``.
- ``surname``: the surname only, the rest masked (``张三国`` → ``张**``), the stricter older form.

IDs stay masked as the registry masks them (``410602********1234``). Pages: ``ROWS_PER_PAGE``
rows on an A4 page; more rows continue on the next page with the header repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

NamePolicy = Literal["first_last", "surname"]
ROWS_PER_PAGE = 20
DEFAULT_NAME_POLICY: NamePolicy = "first_last"


def mask_notice_name(value: str | None, policy: NamePolicy = DEFAULT_NAME_POLICY) -> str | None:
    """A name as the notice prints it under the county's policy (see the module text)."""
    if not value:
        return value
    name = value.strip()
    if len(name) <= 1:
        return name
    if policy == "surname" or len(name) == 2:
        return name[0] + "*" * (len(name) - 1)
    return name[0] + "*" * (len(name) - 2) + name[-1]


@dataclass(frozen=True, slots=True)
class NoticeLine:
    """One printed row: the claim's household head, the person concerned, masked ID, category, payout."""

    number: int
    household_head: str
    person: str
    national_id: str
    category: str
    payout: str


@dataclass(frozen=True, slots=True)
class NoticeDocument:
    """Everything a printed notice shows (HTML and PDF render the same document)."""

    notice_id: str
    county_code: str
    county_name: str
    township_code: str
    township_name: str
    village_code: str
    village_name: str
    published_on: date
    last_day: date
    notice_days: int
    issuing_office: str
    complaint_phone: str
    objection_place: str
    cover_lines: tuple[str, ...]
    lines: tuple[NoticeLine, ...]

    @property
    def title(self) -> str:
        return "防贫保险理赔公示"

    @property
    def place(self) -> str:
        """`县 乡镇 村` by name, the way the notice names the village (its code when no name is known)."""
        return f"{self.county_name}{self.township_name}{self.village_name}" or self.village_code

    @property
    def window(self) -> str:
        return f"{self.published_on.isoformat()} 至 {self.last_day.isoformat()}（{self.notice_days} 天）"

    @property
    def how_to_object(self) -> str:
        return (
            f"公示期内（{self.published_on.isoformat()} 至 {self.last_day.isoformat()}），对公示内容有异议的，"
            f"可实名向{self.objection_place}反映，或拨打投诉电话 {self.complaint_phone}。"
            "异议经核实成立的，该笔理赔退回重新调查；公示期满无异议的，按程序支付。"
        )

    def pages(self) -> list[tuple[NoticeLine, ...]]:
        """The rows page by page, ``ROWS_PER_PAGE`` to a page (one empty page when nothing is listed)."""
        if not self.lines:
            return [()]
        return [self.lines[i : i + ROWS_PER_PAGE] for i in range(0, len(self.lines), ROWS_PER_PAGE)]

    def text(self) -> str:
        """Every character the notice prints (what the embedded font must cover)."""
        rows = "".join(
            f"{line.number}{line.household_head}{line.person}{line.national_id}{line.category}{line.payout}"
            for line in self.lines
        )
        return "".join((self.title, self.place, self.window, self.how_to_object, self.issuing_office, rows))

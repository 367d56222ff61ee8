"""两类户动态调整 (rules.md §4): a village's monthly adjustment list, its XLSX, its settlement
(village submits, township approves or returns) and the overdue list."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.api.schemas import (
    AdjustmentEntryRead,
    AdjustmentListRead,
    AdjustmentSettlementRead,
    OverdueAdjustmentList,
    OverdueAdjustmentRead,
)
from services.screening.db.adjustment_repository import AdjustmentEntry, AdjustmentRepository, Settlement
from services.screening.domain.adjustments import (
    ENTRY_KIND_LABELS,
    SETTLEMENT_LABELS,
    EntryKind,
    Month,
    SettlementAction,
    SettlementRefused,
    SettlementStatus,
    due_date,
    next_status,
)
from services.screening.service.common import SERVICE, Context, require_county_read
from services.screening.service.ledger import ELIMINATION_LABELS, MONITORING_TYPE_LABELS, label_codes
from shared import spreadsheets
from shared.audit import Auditor
from shared.auth import Principal
from shared.concurrency import require_version
from shared.errors import Conflict, FieldError, NotFound, Unprocessable

ENTRY_HEADERS: tuple[str, ...] = (
    "乡镇代码",
    "乡镇名称",
    "村代码",
    "村名称",
    "户编号",
    "调整类别",
    "调整日期",
    "监测对象类型",
    "原监测对象类型",
    "风险类型",
    "消除方式",
    "原因",
    "监测案件编号",
)


def parse_month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError:
        raise Unprocessable(
            f"month must be YYYY-MM (01-12), not {text!r}",
            code="invalid_month",
            errors=[FieldError(field="month", message="YYYY-MM, month 01-12")],
        ) from None


def entry_read(row: AdjustmentEntry) -> AdjustmentEntryRead:
    return AdjustmentEntryRead(
        kind_label=ENTRY_KIND_LABELS[EntryKind(row.kind)],
        **{f.name: getattr(row, f.name) for f in dataclasses.fields(row)},
    )


def settlement_read(row: Settlement) -> AdjustmentSettlementRead:
    return AdjustmentSettlementRead(
        status=row.status,
        entry_count=row.entry_count,
        entries=row.entries,
        submitted_by=row.submitted_by,
        submitted_at=row.submitted_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        return_reason=row.return_reason,
        version=row.version,
    )


def entry_cells(row: AdjustmentEntryRead) -> list[object]:
    return [
        row.township_code,
        row.township_name or "",
        row.village_code,
        row.village_name or "",
        row.household_number or "",
        row.kind_label,
        row.on_date,
        MONITORING_TYPE_LABELS.get(row.monitoring_type or "", row.monitoring_type or ""),
        MONITORING_TYPE_LABELS.get(row.previous_type or "", row.previous_type or ""),
        label_codes(row.risk_codes),
        ELIMINATION_LABELS.get(row.elimination_kind or "", row.elimination_kind or ""),
        row.reason or "",
        str(row.case_id),
    ]


class AdjustmentService:
    def __init__(self, session: AsyncSession, ctx: Context) -> None:
        self.session = session
        self.ctx = ctx
        self.repo = AdjustmentRepository(session, zone=ctx.clock.zone.key)

    @property
    def due_day(self) -> int:
        return self.ctx.settings.adjustment_day

    @staticmethod
    def _village(principal: Principal, village: str) -> None:
        if len(village) != 12 or not village.isdigit():
            raise Unprocessable(
                "village must be a 12-digit village code",
                code="invalid_village",
                errors=[FieldError(field="village", message="a 12-digit village code")],
            )
        if not principal.can_see(village):
            raise NotFound("no such village in your region", code="not_found")

    async def get(self, principal: Principal, village: str, month_text: str) -> AdjustmentListRead:
        self._village(principal, village)
        month = parse_month(month_text)
        return await self._list(village, month)

    async def _list(self, village: str, month: Month) -> AdjustmentListRead:
        county = village[:6]
        entries = await self.repo.entries(county, village, month.first_day, month.last_day)
        names = await self.repo.region_names([village[:9], village])
        settlement = await self.repo.settlement(county, village, str(month))
        return AdjustmentListRead(
            county_code=county,
            township_code=village[:9],
            township_name=names.get(village[:9]),
            village_code=village,
            village_name=names.get(village),
            month=str(month),
            due_date=due_date(month, self.due_day),
            entries=[entry_read(e) for e in entries],
            settlement=settlement_read(settlement) if settlement is not None else None,
        )

    async def export(self, principal: Principal, village: str, month_text: str) -> tuple[bytes, str]:
        """(XLSX content, file name)."""
        listing = await self.get(principal, village, month_text)
        counts = {kind: sum(1 for e in listing.entries if e.kind == kind.value) for kind in EntryKind}
        summary: list[list[object]] = [
            ["乡镇", f"{listing.township_name or ''}({listing.township_code})", None],
            ["村", f"{listing.village_name or ''}({listing.village_code})", None],
            ["月份", listing.month, None],
            ["审核截止日期", listing.due_date.isoformat(), None],
            ["上报状态", _status_label(listing.settlement), None],
            *[["户数", ENTRY_KIND_LABELS[kind], counts[kind]] for kind in EntryKind],
            ["户数", "合计", len(listing.entries)],
        ]
        content = spreadsheets.xlsx_bytes(
            [
                spreadsheets.Sheet("动态调整名单", list(ENTRY_HEADERS), map(entry_cells, listing.entries)),
                spreadsheets.Sheet("汇总", ["项目", "内容", "数值"], summary),
            ]
        )
        await Auditor(self.session, SERVICE, principal).record(
            "screening.adjustment.exported",
            "adjustment",
            f"{village}:{listing.month}",
            {"entries": len(listing.entries)},
        )
        await self.session.commit()
        name = f"两类户动态调整_{listing.village_name or village}_{listing.month}.xlsx"
        return content, name

    # --- settlement ------------------------------------------------------------------------

    async def step(
        self,
        principal: Principal,
        village: str,
        month_text: str,
        action: SettlementAction,
        *,
        if_match: int | None,
        reason: str | None = None,
    ) -> AdjustmentListRead:
        self._village(principal, village)
        month = parse_month(month_text)
        county = village[:6]
        current = await self.repo.settlement(county, village, str(month), for_update=True)
        require_version(
            if_match, current.version if current else 0, what="adjustment list", required=current is not None
        )
        try:
            status = next_status(SettlementStatus(current.status) if current else None, action, month, self.ctx.today())
        except SettlementRefused as exc:
            raise Conflict(exc.message, code=exc.code) from None
        now = self.ctx.now()
        changes: dict[str, Any] = {"status": status.value, "updated_at": now}
        if action is SettlementAction.SUBMIT:
            entries = [
                entry_read(e).model_dump(mode="json")
                for e in await self.repo.entries(county, village, month.first_day, month.last_day)
            ]
            changes.update(
                entries=entries,
                entry_count=len(entries),
                submitted_by=principal.sub,
                submitted_at=now,
                decided_by=None,
                decided_at=None,
            )
        else:
            changes.update(decided_by=principal.sub, decided_at=now)
            if action is SettlementAction.RETURN:
                changes["return_reason"] = reason
        if current is None:
            inserted = await self.repo.insert_settlement(
                {"county_code": county, "village_code": village, "month": str(month), "township_code": village[:9]}
                | changes
            )
            if not inserted:
                raise Conflict(
                    f"the adjustment list of {month} waits for the township", code="adjustment_already_submitted"
                )
            version = 1
        else:
            version = current.version + 1
            await self.repo.update_settlement(county, village, str(month), changes | {"version": version})
        await Auditor(self.session, SERVICE, principal).record(
            f"screening.adjustment.{action.value}",
            "adjustment",
            f"{village}:{month}",
            {"status": status.value, "version": version, **({"reason": reason} if reason else {})},
        )
        await self.session.commit()
        return await self._list(village, month)

    # --- overdue ---------------------------------------------------------------------------

    async def overdue(self, principal: Principal, county_code: str, month_text: str) -> OverdueAdjustmentList:
        require_county_read(principal, county_code, "county")
        month = parse_month(month_text)
        prefix = principal.region if principal.region.startswith(county_code) else county_code
        due = due_date(month, self.due_day)
        today = self.ctx.today()
        rows = await self.repo.overdue(county_code, prefix, str(month), due) if today > due else []
        return OverdueAdjustmentList(
            month=str(month),
            due_date=due,
            today=today,
            items=[
                OverdueAdjustmentRead(
                    township_code=r.township_code,
                    township_name=r.township_name,
                    village_code=r.village_code,
                    village_name=r.village_name,
                    status=r.status,
                )
                for r in rows
            ],
        )


def _status_label(settlement: AdjustmentSettlementRead | None) -> str:
    return SETTLEMENT_LABELS[SettlementStatus(settlement.status) if settlement else None]

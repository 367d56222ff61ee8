"""Public notices (公示): per village, the assessed claims, for the scheme's notice_days.

Objections are taken while the window is open. An upheld objection reopens the claim (back to
`investigating`, its assessment released from the ledger); when the window has ended and no
objection is undecided, the scheduler (or `fangpin advance-notices`) approves the claim.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.claims.api.schemas import (
    AdvanceResult,
    NoticeCreate,
    NoticeEntry,
    NoticeRead,
    NoticeScheme,
    ObjectionCreate,
    ObjectionDecision,
    ObjectionRead,
)
from services.claims.db.claim_repository import ClaimRepository
from services.claims.db.notice_repository import NoticeRepository, NoticeRow, ObjectionRow
from services.claims.db.scheme_repository import SchemeRepository
from services.claims.db.tables import assessment, claim, notice_claim
from services.claims.domain.assessment import CATEGORY_LABELS
from services.claims.domain.notice import NamePolicy, NoticeDocument, NoticeLine, mask_notice_name
from services.claims.domain.workflow import ClaimAction, ClaimState, notice_window_open, take_step
from services.claims.service.claims import ClaimService, StepTaker, snapshot
from services.claims.service.common import SERVICE, Created, Idempotency, Runtime, idempotent
from services.claims.service.notice_print import render_html, render_pdf
from services.claims.service.schemes import stored_scheme
from shared.audit import Auditor
from shared.auth import Principal, Role
from shared.errors import Conflict, NotFound
from shared.logging import get_logger
from shared.pagination import Page, next_cursor, read_cursor
from shared.pii import mask_name, mask_national_id

log = get_logger("fangpin.claims.notices")

SYSTEM = Principal(sub="service:claims-scheduler", roles=frozenset({Role.SERVICE}))


def _people(
    facts: dict[str, Any] | None, member_id: uuid.UUID | None, policy: NamePolicy
) -> tuple[str | None, str | None, str | None]:
    """(masked head name, masked name of the member concerned, masked ID) from frozen facts, names masked
    by the county's notice policy (services/claims/domain/notice.py)."""
    if not facts:
        return None, None, None
    members = facts.get("members") or []
    head = next((m for m in members if (m.get("relation") or "") in ("head", "户主", "self", "本人")), None)
    head = head or (members[0] if members else None)
    person = next((m for m in members if member_id is not None and m.get("member_id") == str(member_id)), None)
    who = person or head
    return (
        mask_notice_name(head.get("name"), policy) if head else None,
        mask_notice_name(person.get("name"), policy) if person else None,
        mask_national_id(who.get("national_id_masked")) if who else None,
    )


def _cover_line(scheme: NoticeScheme) -> str:
    """One printed line per scheme: its code, and insurer, policy number and contract period when known."""
    parts = [f"保险方案：{scheme.code} 第 {scheme.version} 版"]
    if scheme.insurer:
        parts.append(f"承保机构：{scheme.insurer}")
    if scheme.policy_number:
        parts.append(f"保单号：{scheme.policy_number}")
    if scheme.contract_start or scheme.contract_end:
        start = scheme.contract_start.isoformat() if scheme.contract_start else "—"
        end = scheme.contract_end.isoformat() if scheme.contract_end else "—"
        parts.append(f"保险期间：{start} 至 {end}")
    return "　".join(parts)


def _objection_read(row: ObjectionRow) -> ObjectionRead:
    return ObjectionRead(
        id=row.id,
        notice_id=row.notice_id,
        claim_id=row.claim_id,
        objector=row.objector_masked,
        reason=row.reason,
        status=row.status,
        filed_by=row.filed_by,
        filed_at=row.filed_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_comment=row.decision_comment,
    )


class NoticeService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.repo = NoticeRepository(session)
        self.claims = ClaimRepository(session)
        self.claim_service = ClaimService(session, runtime)

    async def _visible(self, principal: Principal, notice_id: uuid.UUID) -> NoticeRow:
        row = await self.repo.get(notice_id)
        if row is None or not principal.can_see(row.village_code):
            raise NotFound(f"no notice {notice_id}", code="notice_not_found")
        return row

    async def _read(self, row: NoticeRow, today: date) -> NoticeRead:
        entries = []
        policy = self.runtime.settings.notice_county(row.county_code).name_policy
        for e in await self.repo.entries(row.id):
            head, person, national_id = _people(e.household_facts, e.member_id, policy)
            entries.append(
                NoticeEntry(
                    claim_id=e.claim_id,
                    status=e.status,
                    claim_state=e.claim_state,
                    category=e.category,
                    household_head=head,
                    person=person,
                    national_id=national_id,
                    payout=e.payout,
                )
            )
        return NoticeRead(
            id=row.id,
            county_code=row.county_code,
            township_code=row.township_code,
            village_code=row.village_code,
            published_on=row.published_on,
            notice_days=row.notice_days,
            last_day=row.last_day,
            window_open=notice_window_open(row.published_on, row.notice_days, today),
            status=row.status,
            entries=entries,
            schemes=await self._schemes(row.id),
            open_objections=await self.repo.open_objections(notice_id=row.id),
            created_at=row.created_at,
        )

    async def _schemes(self, notice_id: uuid.UUID) -> list[NoticeScheme]:
        """The scheme versions of the notice's active assessments, with insurer and contract (rules.md §2.1)."""
        pairs = (
            await self.session.execute(
                select(assessment.c.scheme_code, assessment.c.scheme_version)
                .join(notice_claim, notice_claim.c.claim_id == assessment.c.claim_id)
                .where(notice_claim.c.notice_id == notice_id, assessment.c.status == "active")
                .distinct()
                .order_by(assessment.c.scheme_code, assessment.c.scheme_version)
            )
        ).all()
        schemes = SchemeRepository(self.session)
        shown = []
        for code, version in pairs:
            row = await schemes.get_version(code, version)
            if row is None:
                continue
            scheme = stored_scheme(row)
            shown.append(
                NoticeScheme(
                    code=scheme.code,
                    version=scheme.version,
                    insurer=scheme.insurer,
                    policy_number=scheme.policy_number,
                    contract_start=scheme.contract_start,
                    contract_end=scheme.contract_end,
                )
            )
        return shown

    async def get(self, principal: Principal, notice_id: uuid.UUID) -> NoticeRead:
        return await self._read(await self._visible(principal, notice_id), self.runtime.today())

    async def search(
        self, principal: Principal, *, village_code: str | None, status: str | None, cursor: str | None, limit: int
    ) -> Page[NoticeRead]:
        after = read_cursor(cursor, uuid.UUID)
        after_id = after[0] if after else None
        rows = await self.repo.search(
            region=principal.region, village_code=village_code, status=status, after=after_id, limit=limit + 1
        )
        today = self.runtime.today()
        items = [await self._read(r, today) for r in rows[:limit]]
        return Page[NoticeRead](items=items, next_cursor=next_cursor(rows, limit, lambda r: [str(r.id)]))

    async def publish(self, principal: Principal, body: NoticeCreate, key: str | None) -> Created[NoticeRead]:
        """Put every assessed claim of a village on today's notice (one transaction)."""
        if not principal.can_see(body.village_code):
            raise NotFound(f"no village {body.village_code} in your region", code="out_of_scope")
        guard = Idempotency(principal, "POST /v1/notices", key, body)
        today = self.runtime.today()

        async def work() -> Created[NoticeRead]:
            ids = (
                (
                    await self.session.execute(
                        select(claim.c.id).where(
                            claim.c.village_code == body.village_code, claim.c.state == ClaimState.ASSESSED.value
                        )
                    )
                )
                .scalars()
                .all()
            )
            rows = await self.claims.lock_many(ids)
            rows = [r for r in rows if r.state == ClaimState.ASSESSED.value]
            if not rows:
                raise Conflict("no assessed claim in this village waits for a notice", code="nothing_to_publish")
            steps = StepTaker(self.session, principal)
            for row in rows:
                actor = self.claim_service.authorize_step(principal, row, ClaimAction.PUBLISH_NOTICE)
                await self.claim_service.list_on_notice(principal, row, today)
                await steps.take(take_step(snapshot(row), ClaimAction.PUBLISH_NOTICE, actor))
            listing = await self.repo.listing_of(rows[0].id)
            assert listing is not None
            notice = await self.repo.get(listing.notice_id)
            assert notice is not None
            await Auditor(self.session, SERVICE, principal).record(
                "claims.notice.published",
                "notice",
                notice.id,
                {"village_code": body.village_code, "claims": len(rows)},
            )
            return Created(await self._read(notice, today))

        return await idempotent(self.session, guard, NoticeRead, work)

    async def document(self, principal: Principal, notice_id: uuid.UUID) -> NoticeDocument:
        """What the printed notice shows: the listed claims (withdrawn ones left out), the region names
        from the registry, the county's issuing office, complaint phone and name policy."""
        notice = await self.get(principal, notice_id)
        county = self.runtime.settings.notice_county(notice.county_code)
        registry = self.runtime.registry
        county_name, township_name, village_name = await asyncio.gather(
            registry.region_name(notice.county_code),
            registry.region_name(notice.township_code),
            registry.region_name(notice.village_code),
        )
        county_name = county_name or ""
        lines = tuple(
            NoticeLine(
                number=i,
                household_head=e.household_head or "—",
                person=e.person or "—",
                national_id=e.national_id or "—",
                category=CATEGORY_LABELS.get(e.category, e.category).split(" ")[0],
                payout="—" if e.payout is None else format(e.payout, ",.2f"),
            )
            for i, e in enumerate((x for x in notice.entries if x.status != "withdrawn"), start=1)
        )
        return NoticeDocument(
            notice_id=str(notice.id),
            county_code=notice.county_code,
            county_name=county_name,
            township_code=notice.township_code,
            township_name=township_name or "",
            village_code=notice.village_code,
            village_name=village_name or "",
            published_on=notice.published_on,
            last_day=notice.last_day,
            notice_days=notice.notice_days,
            issuing_office=county.issuing_office or f"{county_name or notice.county_code}防贫保险工作领导小组办公室",
            complaint_phone=county.complaint_phone,
            objection_place=county.objection_place,
            cover_lines=tuple(_cover_line(s) for s in notice.schemes),
            lines=lines,
        )

    async def printable(self, principal: Principal, notice_id: uuid.UUID, *, font_url: str | None = None) -> str:
        """The notice as a printable HTML page (names masked by the county's policy, IDs masked)."""
        document = await self.document(principal, notice_id)
        return await asyncio.to_thread(render_html, document, font_url=font_url)

    async def printable_pdf(self, principal: Principal, notice_id: uuid.UUID) -> bytes:
        """The notice as an A4 PDF, 20 rows to a page, the font's glyphs embedded."""
        document = await self.document(principal, notice_id)
        return await asyncio.to_thread(render_pdf, document)

    # ------------------------------------------------------------ objections

    async def object(
        self, principal: Principal, notice_id: uuid.UUID, body: ObjectionCreate, key: str | None
    ) -> Created[ObjectionRead]:
        notice = await self._visible(principal, notice_id)
        today = self.runtime.today()
        guard = Idempotency(principal, "POST /v1/notices/{notice_id}/objections", key, body, resource=notice_id)
        cipher = self.runtime.cipher() if body.objector else None

        async def work() -> Created[ObjectionRead]:
            if not notice_window_open(notice.published_on, notice.notice_days, today):
                raise Conflict(
                    f"the notice window was {notice.published_on.isoformat()} to {notice.last_day.isoformat()}",
                    code="notice_window_closed",
                )
            listing = await self.repo.listing_of(body.claim_id)
            if listing is None or listing.notice_id != notice_id:
                raise Conflict("the claim is not listed on this notice", code="not_on_notice")
            row = await self.repo.add_objection(
                {
                    "id": uuid.uuid4(),
                    "notice_id": notice_id,
                    "claim_id": body.claim_id,
                    "county_code": notice.county_code,
                    "objector_enc": cipher.encrypt(body.objector, purpose="objector")
                    if cipher and body.objector
                    else None,
                    "objector_masked": mask_name(body.objector) if body.objector else None,
                    "reason": body.reason,
                    "status": "open",
                    "filed_by": principal.sub,
                }
            )
            await Auditor(self.session, SERVICE, principal).record(
                "claims.objection.filed",
                "claim",
                body.claim_id,
                {"objection_id": str(row.id), "notice_id": str(notice_id)},
            )
            return Created(_objection_read(row))

        return await idempotent(self.session, guard, ObjectionRead, work)

    async def objections(self, principal: Principal, notice_id: uuid.UUID) -> list[ObjectionRead]:
        await self._visible(principal, notice_id)
        return [_objection_read(r) for r in await self.repo.objections(notice_id)]

    async def decide(
        self, principal: Principal, notice_id: uuid.UUID, objection_id: uuid.UUID, body: ObjectionDecision
    ) -> ObjectionRead:
        """Uphold (the claim goes back to investigating) or dismiss an objection."""
        await self._visible(principal, notice_id)
        found = await self.repo.objection(objection_id)
        if found is None or found.notice_id != notice_id:
            raise NotFound(f"no objection {objection_id} on this notice", code="objection_not_found")
        claim_row = await self.claims.get(found.claim_id, lock=True)  # claim first, then the objection
        objection = await self.repo.objection(objection_id, lock=True)
        assert claim_row is not None
        assert objection is not None
        if objection.status != "open":
            if objection.status == body.decision:
                await self.session.rollback()
                return _objection_read(objection)
            raise Conflict(f"the objection was already {objection.status}", code="objection_decided")
        # whoever may uphold decides either way: a county officer of the claim's county, while in notice
        actor = self.claim_service.authorize_step(principal, claim_row, ClaimAction.UPHOLD_OBJECTION)
        if body.decision == "upheld":
            await self.claim_service.release_assessment(claim_row)
            listing = await self.repo.listing_of(claim_row.id)
            if listing is not None:
                await self.repo.set_entry_status(listing.notice_id, claim_row.id, "withdrawn")
                await self.repo.close_finished([listing.notice_id])
            step = take_step(
                snapshot(claim_row),
                ClaimAction.UPHOLD_OBJECTION,
                actor,
                comment=body.comment,
                evidence={"objection_id": str(objection_id)},
            )
            await StepTaker(self.session, principal).take(step)
        decided = await self.repo.decide(
            objection_id, status=body.decision, decided_by=principal.sub, comment=body.comment
        )
        await Auditor(self.session, SERVICE, principal).record(
            f"claims.objection.{body.decision}",
            "claim",
            claim_row.id,
            {"objection_id": str(objection_id)},
        )
        await self.session.commit()
        return _objection_read(decided)


async def advance_notices(
    sessionmaker: async_sessionmaker[AsyncSession], runtime: Runtime, today: date, *, batch: int = 200
) -> AdvanceResult:
    """Approve every claim whose notice window ended before `today` with no undecided objection.

    One transaction per claim (each re-checks under the claim's lock), so a crash halfway loses
    nothing and a second run does only what is left.
    """
    approved = 0
    done: set[uuid.UUID] = set()
    while True:
        async with sessionmaker() as session:
            due = [r for r in await NoticeRepository(session).due_for_approval(today, batch) if r.claim_id not in done]
        if not due:
            break
        for entry in due:
            done.add(entry.claim_id)
            async with sessionmaker() as session:
                if await _approve_one(session, runtime, entry.claim_id, today):
                    approved += 1
    async with sessionmaker() as session:
        repo = NoticeRepository(session)
        waiting = await repo.waiting_on_objections(today)
        closed = await repo.close_finished()
        await session.commit()
    if approved or closed:
        log.info("claims.notices.advanced", approved=approved, closed=closed, today=today.isoformat())
    return AdvanceResult(today=today, approved=approved, waiting_on_objections=waiting, notices_closed=closed)


async def _approve_one(session: AsyncSession, runtime: Runtime, claim_id: uuid.UUID, today: date) -> bool:
    claims = ClaimRepository(session)
    row = await claims.get(claim_id, lock=True)
    if row is None or row.state != ClaimState.IN_NOTICE.value:
        await session.rollback()
        return False
    service = ClaimService(session, runtime)
    try:
        actor = service.authorize_step(SYSTEM, row, ClaimAction.APPROVE)
        await service.approve_listing(row, today)
    except Conflict:
        await session.rollback()
        return False
    step = take_step(
        snapshot(row),
        ClaimAction.APPROVE,
        actor,
        comment="notice window ended without an upheld objection",
        audit_detail={"today": today.isoformat()},
    )
    await StepTaker(session, SYSTEM).take(step)
    await session.commit()
    return True

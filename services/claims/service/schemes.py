"""Schemes (防贫保险方案), enrolments (参保) and the preview calculator."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from decimal import Decimal, DecimalException
from typing import Any
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.claims.api.schemas import (
    EnrolmentCreate,
    EnrolmentRead,
    EnrolmentResult,
    EnrolmentSummary,
    PreviewRequest,
    PreviewResponse,
    SchemeRead,
    SchemeRef,
    SchemeSummary,
    SchemeVersionSummary,
    TownshipPremium,
)
from services.claims.db.scheme_repository import EnrolmentRepository, SchemeRepository, SchemeVersionRow
from services.claims.domain.assessment import FactsInvalid, assess, explain, parse_claim_input
from services.claims.domain.scheme import PoolMode, Scheme, SchemeInvalid, parse_scheme, scheme_to_dict
from services.claims.domain.values import ClaimsDomainError
from services.claims.service.common import SERVICE, Created, Idempotency, Runtime, idempotent, invalid, sees_county
from shared.audit import Auditor
from shared.auth import Principal
from shared.concurrency import require_version
from shared.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    Unprocessable,
)
from shared.pagination import Page, next_cursor, read_cursor

SCHEME_STATUSES = ("active", "draft")


def read_scheme_body(body: Mapping[Any, Any], *, prefix: str = "scheme") -> tuple[Scheme, str | None]:
    """Validate a scheme's JSON form; `status` (active | draft) may ride along at the top level.

    The server assigns versions: a `version` in the body is ignored.
    """
    if not isinstance(body, Mapping):
        raise Unprocessable("a scheme is a JSON object", code="invalid_scheme")
    data = dict(body)
    status = data.pop("status", None)
    data.pop("version", None)
    errors: list[FieldError] = []
    if status is not None and status not in SCHEME_STATUSES:
        errors.append(FieldError(field=f"{prefix}.status" if prefix else "status", message="must be active or draft"))
    try:
        parsed = parse_scheme(data)
    except SchemeInvalid as exc:
        err = invalid(exc, prefix, "invalid_scheme", "the scheme is not valid")
        raise Unprocessable(
            "the scheme is not valid; see errors", code="invalid_scheme", errors=errors + (err.errors or [])
        ) from exc
    if errors:
        raise Unprocessable("the scheme is not valid; see errors", code="invalid_scheme", errors=errors)
    return parsed, status


_PARSED: dict[tuple[str, int, object], Scheme] = {}
_PARSED_MAX = 256

# Inline schemes of the preview, parsed, by their canonical JSON text. A calculator's callers send
# the same few schemes over and over, and parsing one (every field checked) cost ~130 us, six
# times the assessment. parse_scheme is a function of the JSON alone and a Scheme is frozen, so a
# remembered result is the result; failures are not remembered (their errors are raised anew).
# Bounded: at most _INLINE_MAX entries of at most _INLINE_KEY_MAX characters each.
_INLINE: dict[str, Scheme] = {}
_INLINE_MAX = 64
_INLINE_KEY_MAX = 32_768


def inline_scheme(body: Mapping[Any, Any]) -> Scheme:
    """``read_scheme_body(body, prefix="scheme")``'s scheme, remembered (see ``_INLINE``)."""
    try:
        key = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        key = None  # not plain JSON (or keys that do not sort): parse it every time
    if key is not None and len(key) <= _INLINE_KEY_MAX:
        scheme = _INLINE.get(key)
        if scheme is None:
            scheme, _ = read_scheme_body(body, prefix="scheme")
            if len(_INLINE) >= _INLINE_MAX:
                _INLINE.clear()
            _INLINE[key] = scheme
        return scheme
    return read_scheme_body(body, prefix="scheme")[0]


def stored_scheme(row: SchemeVersionRow) -> Scheme:
    """A stored version's body, parsed (it was validated when stored).

    Parsed versions are kept by (code, version, created_at): a stored version never changes, and
    the creation time tells apart a version deleted and written again (as tests do).
    """
    key = (row.code, row.version, row.created_at)
    scheme = _PARSED.get(key)
    if scheme is None:
        scheme = parse_scheme(row.body, stored=True)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = scheme
    return scheme


def _scheme_read(row: SchemeVersionRow) -> SchemeRead:
    return SchemeRead(
        code=row.code,
        version=row.version,
        latest_version=row.latest_version,
        status=row.status,
        county_code=row.county_code,
        year=row.year,
        used=row.used,
        scheme=row.body,
        created_at=row.created_at,
    )


class SchemeService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.repo = SchemeRepository(session)

    def _check_writable(self, principal: Principal, county_code: str) -> None:
        if not principal.can_see(county_code):
            raise Forbidden(f"county {county_code} is outside your region", code="out_of_scope")

    async def create(self, principal: Principal, body: dict[str, Any], key: str | None) -> Created[SchemeRead]:
        parsed, status = read_scheme_body(body, prefix="")
        self._check_writable(principal, parsed.county_code)
        status = status or "active"
        guard = Idempotency(principal, "POST /v1/schemes", key, body)

        async def work() -> Created[SchemeRead]:
            if not await self.repo.insert(
                code=parsed.code,
                county_code=parsed.county_code,
                year=parsed.year,
                status=status,
                created_by=principal.sub,
            ):
                raise Conflict(
                    f"scheme {parsed.code} exists; PUT /v1/schemes/{parsed.code} makes a new version",
                    code="scheme_exists",
                )
            await self._check_one_active(parsed, status)
            stored = scheme_to_dict(dataclasses.replace(parsed, version=1))
            await self.repo.insert_version(code=parsed.code, version=1, body=stored, created_by=principal.sub)
            await Auditor(self.session, SERVICE, principal).record(
                "claims.scheme.created", "scheme", f"{parsed.code}@1", {"status": status}
            )
            row = await self.repo.get_version(parsed.code, 1)
            assert row is not None
            return Created(_scheme_read(row))

        return await self._guarded(guard, work)

    async def _guarded(self, guard: Idempotency, work: Any) -> Created[SchemeRead]:
        try:
            return await idempotent(self.session, guard, SchemeRead, work)
        except IntegrityError as exc:
            await self.session.rollback()
            raise Conflict(
                "another scheme is already in force for this county and year (make this one a draft)",
                code="scheme_year_taken",
            ) from exc

    async def _check_one_active(self, parsed: Scheme, status: str) -> None:
        if status != "active":
            return
        other = await self.repo.active_code_for(parsed.county_code, parsed.year)
        if other is not None and other != parsed.code:
            raise Conflict(
                f"scheme {other} is in force for county {parsed.county_code} in {parsed.year}; "
                "one scheme per county and year (send status draft for a draft)",
                code="scheme_year_taken",
                extra={"active_scheme": other},
            )

    async def new_version(
        self, principal: Principal, code: str, body: dict[str, Any], if_match: int | None
    ) -> SchemeRead:
        """An edit makes a new version; versions already used never change."""
        current = await self.repo.get(code, lock=True)
        if current is None or not sees_county(principal, current.county_code):
            raise NotFound(f"no scheme {code}", code="scheme_not_found")
        self._check_writable(principal, current.county_code)
        require_version(if_match, current.latest_version, what=f"scheme {code}")
        parsed, status = read_scheme_body(body, prefix="")
        status = status or current.status
        changed = [
            FieldError(
                field=name, message=f"must stay {getattr(current, name)!r}: a new year or county is a new scheme"
            )
            for name, value in (("code", parsed.code), ("county_code", parsed.county_code), ("year", parsed.year))
            if value != getattr(current, name)
        ]
        if changed:
            raise Unprocessable(
                "a version keeps the scheme's code, county and year", code="invalid_scheme", errors=changed
            )
        if status == "draft" and current.status == "active" and await self.repo.any_used(code):
            raise Conflict("a scheme that assessments used cannot become a draft", code="scheme_in_use")
        await self._check_one_active(parsed, status)
        version = current.latest_version + 1
        stored = scheme_to_dict(dataclasses.replace(parsed, version=version))
        await self.repo.insert_version(code=code, version=version, body=stored, created_by=principal.sub)
        await self.repo.set_latest(code, version, status)
        await Auditor(self.session, SERVICE, principal).record(
            "claims.scheme.versioned", "scheme", f"{code}@{version}", {"status": status}
        )
        row = await self.repo.get_version(code, version)
        assert row is not None
        try:
            await self.session.commit()
        except IntegrityError as exc:
            raise Conflict(
                "another scheme is already in force for this county and year", code="scheme_year_taken"
            ) from exc
        return _scheme_read(row)

    async def get(self, principal: Principal, code: str, version: int | None = None) -> SchemeRead:
        row = await self.repo.get_version(code, version)
        if row is None or not sees_county(principal, row.county_code):
            raise NotFound(f"no scheme {code}" + (f" version {version}" if version else ""), code="scheme_not_found")
        return _scheme_read(row)

    async def search(
        self,
        principal: Principal,
        *,
        county_code: str | None,
        year: int | None,
        status: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page[SchemeSummary]:
        after = read_cursor(cursor, str)
        rows = await self.repo.search(
            region=principal.region,
            county_code=county_code,
            year=year,
            status=status,
            after=after[0] if after else None,
            limit=limit + 1,
        )
        items = [SchemeSummary.model_validate(r, from_attributes=True) for r in rows[:limit]]
        return Page[SchemeSummary](items=items, next_cursor=next_cursor(rows, limit, lambda r: [r.code]))

    async def versions(self, principal: Principal, code: str) -> list[SchemeVersionSummary]:
        current = await self.repo.get(code)
        if current is None or not sees_county(principal, current.county_code):
            raise NotFound(f"no scheme {code}", code="scheme_not_found")
        return [SchemeVersionSummary.model_validate(r, from_attributes=True) for r in await self.repo.versions(code)]

    # ------------------------------------------------------------ preview

    async def preview(self, principal: Principal, body: PreviewRequest) -> PreviewResponse:
        """Compute an assessment without storing anything (a calculator for cadres and other systems)."""
        _check_preview_choice(body)
        if body.scheme is not None:
            return preview_inline(body)
        assert body.scheme_code is not None
        row = await self.repo.get_version(body.scheme_code, body.scheme_version)
        if row is None or not sees_county(principal, row.county_code):
            raise NotFound(f"no scheme {body.scheme_code}", code="scheme_not_found")
        scheme = stored_scheme(row)
        await self.session.rollback()  # nothing to keep: a preview stores nothing
        return _preview_with(scheme, body)


def _check_preview_choice(body: PreviewRequest) -> None:
    """A preview names its scheme one way: inline, or by ``scheme_code`` (+ ``scheme_version``)."""
    if (body.scheme is None) == (body.scheme_code is None):
        raise Unprocessable(
            "send either scheme (inline) or scheme_code",
            code="validation_failed",
            errors=[FieldError(field="scheme", message="send exactly one of scheme and scheme_code")],
        )
    if body.scheme_version is not None and body.scheme_code is None:
        raise Unprocessable(
            "scheme_version goes with scheme_code",
            code="validation_failed",
            errors=[FieldError(field="scheme_version", message="only with scheme_code")],
        )


def preview_inline(body: PreviewRequest) -> PreviewResponse:
    """The preview of a body without ``scheme_code``: the scheme inline, or refused; no database.

    The preview route calls it without opening a session (issue 15: the session's greenlet round
    trips were a tenth of the preview's CPU), ``SchemeService.preview`` for a stored scheme.
    """
    _check_preview_choice(body)
    assert body.scheme is not None
    return _preview_with(inline_scheme(body.scheme), body)


def _preview_with(scheme: Scheme, body: PreviewRequest) -> PreviewResponse:
    try:
        facts, prior = parse_claim_input(body.facts)
    except FactsInvalid as exc:
        raise invalid(exc, "facts", "invalid_facts", "the facts are not valid; see errors") from exc
    try:
        result = assess(scheme, facts, prior)
    except (ClaimsDomainError, DecimalException) as exc:  # pragma: no cover - the bounds make this unreachable
        raise Unprocessable(f"the figures cannot be computed exactly: {exc}", code="not_computable") from exc
    return PreviewResponse(
        eligible=result.eligible,
        payout=result.payout,
        rejection_code=None if result.rejection_code is None else result.rejection_code.value,
        breakdown=result.breakdown,
        explanation=explain(result),
        scheme=SchemeRef(code=scheme.code, version=scheme.version),
    )


class EnrolmentService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.schemes = SchemeRepository(session)
        self.repo = EnrolmentRepository(session)

    async def enrol(self, principal: Principal, body: EnrolmentCreate, key: str | None) -> Created[EnrolmentResult]:
        row = await self.schemes.get_version(body.scheme_code)
        if row is None or not sees_county(principal, row.county_code):
            raise NotFound(f"no scheme {body.scheme_code}", code="scheme_not_found")
        scheme = stored_scheme(row)
        errors: list[FieldError] = []
        seen: set[UUID] = set()
        for i, item in enumerate(body.households):
            if not item.village_code.startswith(scheme.county_code):
                errors.append(
                    FieldError(
                        field=f"households[{i}].village_code",
                        message=f"not in the scheme's county {scheme.county_code}",
                    )
                )
            elif not principal.can_see(item.village_code):
                errors.append(
                    FieldError(
                        field=f"households[{i}].village_code", message="outside your region", code="out_of_scope"
                    )
                )
            if item.household_id in seen:
                errors.append(FieldError(field=f"households[{i}].household_id", message="listed twice"))
            seen.add(item.household_id)
        townships: set[str] = set()
        for i, share in enumerate(body.pool):
            if scheme.pool_mode is not PoolMode.ALL_RURAL:
                errors.append(FieldError(field=f"pool[{i}]", message="a pool share needs an all_rural scheme"))
            elif not share.township_code.startswith(scheme.county_code) or not principal.can_see(share.township_code):
                errors.append(
                    FieldError(field=f"pool[{i}].township_code", message="not in the scheme's county or your region")
                )
            if share.township_code in townships:
                errors.append(FieldError(field=f"pool[{i}].township_code", message="listed twice"))
            townships.add(share.township_code)
        if not body.households and not body.pool:
            errors.append(FieldError(field="households", message="enrol at least one household or pool share"))
        if errors:
            raise Unprocessable("the enrolment is not valid; see errors", code="invalid_enrolment", errors=errors[:200])
        premium = scheme.premium_per_person
        guard = Idempotency(principal, "POST /v1/enrolments", key, body)

        async def work() -> Created[EnrolmentResult]:
            base = {
                "county_code": scheme.county_code,
                "year": scheme.year,
                "scheme_code": scheme.code,
                "created_by": principal.sub,
            }
            new = await self.repo.enrol_households(
                [
                    {
                        **base,
                        "household_id": h.household_id,
                        "township_code": h.village_code[:9],
                        "village_code": h.village_code,
                        "insured_people": h.insured_people,
                        "premium": premium * h.insured_people,
                    }
                    for h in body.households
                ]
            )
            pool = await self.repo.upsert_pool(
                [
                    {
                        **base,
                        "household_id": None,
                        "township_code": s.township_code,
                        "village_code": None,
                        "insured_people": s.insured_people,
                        "premium": premium * s.insured_people,
                    }
                    for s in body.pool
                ]
            )
            await Auditor(self.session, SERVICE, principal).record(
                "claims.enrolment.created",
                "scheme",
                scheme.code,
                {"households": len(body.households), "new": new, "pool_rows": pool},
            )
            return Created(
                EnrolmentResult(
                    scheme_code=scheme.code,
                    year=scheme.year,
                    enrolled=new,
                    already_enrolled=len(body.households) - new,
                    pool_rows=pool,
                )
            )

        return await idempotent(self.session, guard, EnrolmentResult, work)

    async def summary(self, principal: Principal, scheme_code: str) -> EnrolmentSummary:
        row = await self.schemes.get_version(scheme_code)
        if row is None or not sees_county(principal, row.county_code):
            raise NotFound(f"no scheme {scheme_code}", code="scheme_not_found")
        scheme = stored_scheme(row)
        if scheme.pool_mode is PoolMode.ENROLLED:
            # insured in the year = the registry's insured households (one truth): brought in first
            await self.repo.sync_from_registry(
                county_code=scheme.county_code,
                year=scheme.year,
                scheme_code=scheme.code,
                premium=scheme.premium_per_person,
            )
            await self.session.commit()
        rows = await self.repo.township_totals(scheme_code, principal.region)
        townships = [TownshipPremium.model_validate(r, from_attributes=True) for r in rows]
        return EnrolmentSummary(
            scheme_code=scheme.code,
            county_code=scheme.county_code,
            year=scheme.year,
            pool_mode=scheme.pool_mode.value,
            premium_per_person=scheme.premium_per_person,
            townships=townships,
            households=sum(t.households for t in townships),
            insured_people=sum(t.insured_people for t in townships),
            premium=sum((t.premium for t in townships), Decimal("0")),
        )

    async def search(
        self,
        principal: Principal,
        *,
        scheme_code: str | None,
        household_id: UUID | None,
        cursor: str | None,
        limit: int,
    ) -> Page[EnrolmentRead]:
        after = read_cursor(cursor, UUID)
        after_id = after[0] if after else None
        rows = await self.repo.search(
            region=principal.region,
            scheme_code=scheme_code,
            household_id=household_id,
            after=after_id,
            limit=limit + 1,
        )
        items = [EnrolmentRead.model_validate(r, from_attributes=True) for r in rows[:limit]]
        return Page[EnrolmentRead](items=items, next_cursor=next_cursor(rows, limit, lambda r: [str(r.id)]))


async def sync_insured(sessionmaker: async_sessionmaker[AsyncSession], year: int) -> int:
    """Bring the registry's insured households of `year` into the enrolments of every scheme in force
    that year (pool_mode enrolled), one county per transaction; the scheduler runs it each round."""
    async with sessionmaker() as session:
        schemes = [stored_scheme(r) for r in await SchemeRepository(session).active_in_year(year)]
    synced = 0
    for scheme in schemes:
        if scheme.pool_mode is not PoolMode.ENROLLED:
            continue
        async with sessionmaker() as session:
            synced += await EnrolmentRepository(session).sync_from_registry(
                county_code=scheme.county_code,
                year=scheme.year,
                scheme_code=scheme.code,
                premium=scheme.premium_per_person,
            )
            await session.commit()
    return synced

"""Simulation (测算): re-assess a year's stored claim facts under a (draft) scheme.

The result is what a county needs to price next year's cover: total payout by category and
township against the premium pool (premium × insured people), and the loss ratio. The draft is
applied as if it had been in force in the simulated year (its own `year` is replaced), so a
2027 draft can be tried on 2026's claims. Claims are replayed per household in incident order
with an in-memory ledger, exactly as assessment would have run them.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.claims.api.schemas import JobProgress, SimulationCreate, SimulationRead
from services.claims.db.claim_repository import ClaimRepository
from services.claims.db.scheme_repository import EnrolmentRepository, SchemeRepository
from services.claims.db.simulation_repository import SimulationRepository, SimulationRow
from services.claims.domain.assessment import FactsInvalid, YearToDate, assess
from services.claims.domain.scheme import Category, PoolMode, Scheme, parse_scheme, scheme_to_dict
from services.claims.service.claims import engine_facts
from services.claims.service.common import SERVICE, Created, Idempotency, Runtime, idempotent, sees_county
from services.claims.service.schemes import read_scheme_body, stored_scheme
from shared.audit import Auditor
from shared.auth import Principal
from shared.errors import FieldError, NotFound, Unprocessable
from shared.logging import get_logger, log_failure
from shared.metrics import JOB_ROWS

log = get_logger("fangpin.claims.simulations")
ZERO = Decimal("0")
PROGRESS_EVERY = 1000


def simulation_read(row: SimulationRow) -> SimulationRead:
    return SimulationRead(
        id=row.id,
        status=row.status,
        county_code=row.county_code,
        year=row.year,
        progress=JobProgress(done=row.progress_done, total=row.progress_total),
        errors=row.errors,
        result=row.result,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


class _Totals:
    def __init__(self) -> None:
        self.claims = 0
        self.eligible = 0
        self.payout = ZERO

    def add(self, eligible: bool, payout: Decimal) -> None:
        self.claims += 1
        self.eligible += int(eligible)
        self.payout += payout

    def as_dict(self) -> dict[str, Any]:
        return {"claims": self.claims, "eligible": self.eligible, "payout": _money(self.payout)}


class SimulationService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime

    async def create(self, principal: Principal, body: SimulationCreate, key: str | None) -> Created[SimulationRead]:
        if not principal.can_see(body.county_code):
            raise NotFound(f"county {body.county_code} is outside your region", code="out_of_scope")
        if (body.scheme is None) == (body.scheme_code is None):
            raise Unprocessable(
                "send either scheme (a draft inline) or scheme_code",
                code="validation_failed",
                errors=[FieldError(field="scheme", message="send exactly one of scheme and scheme_code")],
            )
        if body.scheme is not None:
            scheme, _ = read_scheme_body(body.scheme, prefix="scheme")
        else:
            assert body.scheme_code is not None
            row = await SchemeRepository(self.session).get_version(body.scheme_code, body.scheme_version)
            if row is None or not sees_county(principal, row.county_code):
                raise NotFound(f"no scheme {body.scheme_code}", code="scheme_not_found")
            scheme = stored_scheme(row)
        if scheme.county_code != body.county_code:
            raise Unprocessable(
                "the scheme is another county's",
                code="validation_failed",
                errors=[FieldError(field="scheme.county_code", message=f"must be {body.county_code}")],
            )
        guard = Idempotency(principal, "POST /v1/simulations", key, body)

        async def work() -> Created[SimulationRead]:
            job_id = uuid.uuid4()
            row = await SimulationRepository(self.session).insert(
                job_id=job_id,
                county_code=body.county_code,
                year=body.year,
                scheme=scheme_to_dict(scheme),
                created_by=principal.sub,
            )
            await Auditor(self.session, SERVICE, principal).record(
                "claims.simulation.created",
                "simulation",
                job_id,
                {"scheme": f"{scheme.code}@{scheme.version}", "year": body.year},
            )
            return Created(simulation_read(row))

        return await idempotent(self.session, guard, SimulationRead, work)

    async def get(self, principal: Principal, job_id: uuid.UUID) -> SimulationRead:
        row = await SimulationRepository(self.session).get(job_id)
        if row is None or not principal.can_see(row.county_code):
            raise NotFound(f"no simulation {job_id}", code="simulation_not_found")
        return simulation_read(row)


async def run_simulation(sessionmaker: async_sessionmaker[AsyncSession], job_id: uuid.UUID) -> None:
    """Run one queued simulation to the end (the job runner's work; failures are recorded on the job)."""
    async with sessionmaker() as session:
        job = await SimulationRepository(session).claim_queued(job_id)
        await session.commit()
    if job is None:
        return
    try:
        async with sessionmaker() as session:
            result = await _simulate(session, job)
            await SimulationRepository(session).succeed(job_id, result)
            await session.commit()
        JOB_ROWS.labels("claims", "simulation", "assessed").inc(result["claims"])
        log.info("claims.simulation.succeeded", job_id=str(job_id), claims=result["claims"])
    except Exception as exc:
        log_failure(log, "claims.simulation.failed", exc, job_id=str(job_id))
        async with sessionmaker() as session:
            await SimulationRepository(session).fail(job_id, [f"{type(exc).__name__}: the simulation could not finish"])
            await session.commit()


async def _simulate(session: AsyncSession, job: SimulationRow) -> dict[str, Any]:
    county, year = job.county_code, job.year
    jobs = SimulationRepository(session)
    scheme: Scheme = dataclasses.replace(parse_scheme(job.scheme, stored=True), year=year)
    claims = await ClaimRepository(session).for_simulation(county, year)
    enrolments = EnrolmentRepository(session)
    in_force = await SchemeRepository(session).active_for(county, year)
    if in_force is not None:
        # the year's insured households are the registry's (one truth), brought in before counting
        stored = stored_scheme(in_force)
        if stored.pool_mode is PoolMode.ENROLLED:
            await enrolments.sync_from_registry(
                county_code=county, year=year, scheme_code=stored.code, premium=stored.premium_per_person
            )
    enrolled = await enrolments.enrolled_households(county, year)
    insured_people = await enrolments.insured_people(county, year)
    current = await jobs.current_payout(county, year)
    await jobs.set_progress(job.id, total=len(claims))
    await session.commit()

    total = _Totals()
    by_category: dict[str, _Totals] = defaultdict(_Totals)
    by_township: dict[str, _Totals] = defaultdict(_Totals)
    rejections: dict[str, int] = defaultdict(int)
    skipped: list[str] = []
    ledger: dict[tuple[uuid.UUID, str], tuple[Decimal, Decimal]] = {}
    household_paid: dict[uuid.UUID, Decimal] = defaultdict(lambda: ZERO)
    students_paid: set[tuple[str, str]] = set()
    for index, row in enumerate(claims, start=1):
        household, category = row.household_id, row.category
        base, paid = ledger.get((household, category), (ZERO, ZERO))
        student = (str(row.expense.get("student_member_id")), str(row.expense.get("level")))
        try:
            facts = engine_facts(
                row, household in enrolled or year in ((row.household_facts or {}).get("insured_years") or [])
            )
        except FactsInvalid:
            skipped.append(str(row.id))
            continue
        prior = YearToDate(
            category_base=base,
            category_paid=paid,
            household_paid=household_paid[household],
            same_student_level_paid=category == Category.SCHOOL_ENTRY.value and student in students_paid,
        )
        outcome = assess(scheme, facts, prior)
        ledger[(household, category)] = (outcome.new_category_base, outcome.new_category_paid)
        household_paid[household] = outcome.new_household_paid
        if outcome.eligible and category == Category.SCHOOL_ENTRY.value:
            students_paid.add(student)
        for bucket in (total, by_category[category], by_township[row.township_code]):
            bucket.add(outcome.eligible, outcome.payout)
        if outcome.rejection_code is not None:
            rejections[outcome.rejection_code.value] += 1
        if index % PROGRESS_EVERY == 0:
            await jobs.set_progress(job.id, done=index)
            await session.commit()
    await jobs.set_progress(job.id, done=len(claims))
    pool = scheme.premium_per_person * insured_people
    loss_ratio = (total.payout / pool).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if pool > 0 else None
    return {
        "scheme": {
            "code": scheme.code,
            "version": scheme.version,
            "applied_as_year": year,
            **scheme.contract_info(),
            "protection_line": _money(scheme.protection_line),
            "poverty_standard": None if scheme.poverty_standard is None else _money(scheme.poverty_standard),
            "protection_line_multiplier": None
            if scheme.protection_line_multiplier is None
            else format(scheme.protection_line_multiplier, "f"),
        },
        "claims": total.claims,
        "eligible": total.eligible,
        "payout": _money(total.payout),
        "current_payout": _money(current),
        "by_category": {k: v.as_dict() for k, v in sorted(by_category.items())},
        "by_township": {k: v.as_dict() for k, v in sorted(by_township.items())},
        "rejections": dict(sorted(rejections.items())),
        "skipped_claims": skipped[:100],
        "insured_people": insured_people,
        "premium_per_person": _money(scheme.premium_per_person),
        "premium_pool": _money(pool),
        "loss_ratio": None if loss_ratio is None else format(loss_ratio, "f"),
    }

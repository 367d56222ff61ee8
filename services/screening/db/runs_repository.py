"""Screening runs and leads: every query of `screening.run`, `lead`, `lead_evidence`, and the
monthly screening itself (rules.md §1.3) as a few set-based statements.

The run of one county and period is:

1. ``screening_run_eval``: one ``CREATE TEMP TABLE … AS`` that joins the registry's
   ``household_snapshot_v1`` (evaluated first, as a whole) to the window sums of the county's feed
   records (M, E, Dz, Ac, Id and the event flags: one streaming, household-ordered pass) and
   evaluates every code and the lead decision with exact ``numeric`` comparisons (``I / n < line``
   as ``I < line × n``); only the households the run records (≈ a tenth) carry their figures, the
   others are a few bytes each, there to be counted;
2. one ``INSERT … SELECT`` of the leads from it, ranked, with the figures behind each code,
   routing households with an open case or a monitored status to their case instead;
3. one ``INSERT … SELECT`` for the lineage (``lead_evidence``: which feed records and batches
   each code rests on), and one for the income-drop claim leads.

No row is brought into Python. The statements run in the job's transaction with a raised
``work_mem`` so the aggregations stay in memory at a million households; the small temporary
tables are analysed so that the later statements get plans for their real size.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.claim_lead_repository import ClaimLeadRepository
from services.screening.db.tables import HOUSEHOLD_INCOME, SNAPSHOT, lead, lead_evidence, row_as, run
from services.screening.domain.cases import OPEN_STATES
from services.screening.domain.thresholds import Thresholds

L = lead


# --- rows -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    """A screening run job (`thresholds`, `result`, `errors` are the stored documents)."""

    id: uuid.UUID
    county_code: str
    period: str
    version: int
    status: str
    trigger: str
    threshold_version_id: uuid.UUID | None
    thresholds: dict[str, Any] | None
    window_start: date
    window_end: date
    progress_done: int
    progress_total: int
    result: dict[str, Any] | None
    errors: list[dict[str, Any]]
    superseded_by: uuid.UUID | None
    superseded_at: datetime | None
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Lead:
    """A household a run recorded: a new lead, or new evidence for its open case (`routing`)."""

    id: uuid.UUID
    run_id: uuid.UUID
    county_code: str
    township_code: str
    village_code: str
    household_id: uuid.UUID
    household_number: str | None
    household_status: str
    members: int
    labour_count: int
    income_year: int | None
    income: Decimal | None
    income_prev: Decimal | None
    window_total: Decimal
    adjusted_income: Decimal | None
    per_capita_income: Decimal | None
    adjusted_per_capita: Decimal | None
    codes: list[str]
    figures: dict[str, Any]
    lead_basis: list[str]
    is_lead: bool
    suggested_type: str | None
    insured_this_year: bool
    routing: str
    case_id: uuid.UUID | None
    rank: int | None
    township_rank: int | None
    state: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LeadEvidenceLink:
    """Which feed record (and batch) a lead's code rests on."""

    lead_id: uuid.UUID
    code: str
    feed_record_id: uuid.UUID
    batch_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class CaseFinding:
    """A lead routed to a case, with its run's period and whether that run was superseded."""

    lead: Lead
    period: str
    superseded_by: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class DataQualityEntry:
    """A household a run listed apart (rules.md §1.3: no income on file)."""

    issue: str
    township_code: str
    village_code: str
    household_id: uuid.UUID
    household_number: str | None


@dataclass(frozen=True, slots=True)
class RunStats:
    """The counts of one evaluation (STATS_SQL); the `by_*` are jsonb objects of counts."""

    households: int
    no_members: int
    no_income: int
    no_income_by_village: dict[str, int]
    leads: int
    case_evidence: int
    by_township: dict[str, int]
    by_code: dict[str, int]


_OPEN_STATES_SQL = ", ".join(f"'{s.value}'" for s in sorted(OPEN_STATES))
_MONITORED_SQL = "'unstable', 'marginal', 'sudden_hardship'"

#: The feed kinds each code rests on (domain.risk.CODE_SOURCE_KINDS), as SQL rows.
_CODE_KINDS_SQL = """(VALUES ('illness', 'medical_expense'), ('education', 'education_expense'),
    ('disaster', 'disaster_loss'), ('accident', 'accident'), ('industry_failure', 'industry_loss'),
    ('unstable_employment', 'job_loss'), ('disability', 'disability_new'), ('housing', 'housing_unsafe'),
    ('water', 'water_unsafe')) AS k(code, kind)"""

#: Delivered measures that end a housing / water risk (a record is open until one is delivered).
RESOLVING_MEASURE = {"housing_unsafe": "housing_safety", "water_unsafe": "drinking_water"}

#: The window sums and event flags per household (M, E, Dz, Ac, Id …), one streaming pass over the
#: county's records of the 12 months in household order (an index-only scan of ix_feed_record_household).
FEED_WINDOW_SQL = """
SELECT f.household_id,
       coalesce(sum(f.amount) FILTER (WHERE f.kind = 'medical_expense'), 0)   AS m,
       coalesce(sum(f.amount) FILTER (WHERE f.kind = 'education_expense'), 0) AS e,
       coalesce(sum(f.amount) FILTER (WHERE f.kind = 'disaster_loss'), 0)     AS dz,
       coalesce(sum(f.amount) FILTER (WHERE f.kind = 'accident'), 0)          AS ac,
       coalesce(sum(f.amount) FILTER (WHERE f.kind = 'industry_loss'), 0)     AS idl,
       bool_or(f.kind = 'job_loss')                                          AS job_loss,
       min(f.grade) FILTER (WHERE f.kind = 'disability_new')                 AS disability_grade,
       bool_or(f.kind = 'housing_unsafe' AND NOT EXISTS (
           SELECT 1 FROM screening.measure ms
            WHERE ms.county_code = f.county_code AND ms.household_id = f.household_id
              AND ms.measure_type = 'housing_safety'
              AND ms.delivered_date BETWEEN f.event_date AND :window_end))   AS housing,
       bool_or(f.kind = 'water_unsafe' AND NOT EXISTS (
           SELECT 1 FROM screening.measure ms
            WHERE ms.county_code = f.county_code AND ms.household_id = f.household_id
              AND ms.measure_type = 'drinking_water'
              AND ms.delivered_date BETWEEN f.event_date AND :window_end))   AS water
  FROM screening.feed_record f
 WHERE f.county_code = :county
   AND f.household_id IS NOT NULL
   AND f.event_date BETWEEN :window_start AND :window_end
   AND f.matched_at <= CAST(:feeds_as_of AS timestamptz)
   AND f.kind IN ('medical_expense', 'education_expense', 'disaster_loss', 'accident', 'industry_loss',
                  'job_loss', 'disability_new', 'housing_unsafe', 'water_unsafe')
 GROUP BY f.household_id
"""

#: I and I_prev as of the run (rules.md §1.3 "Precisely"): the latest income year ≤ P's year among
#: the values the registry held at `registry_as_of`, and the year just before that one (absent when
#: the household has no income for it). One pass over the county's income versions in household
#: order; `lead()` looks at the next older year.
INCOME_AS_OF_SQL = f"""
SELECT v.household_id, v.year, v.net_income,
       CASE WHEN lead(v.year) OVER w = v.year - 1 THEN lead(v.net_income) OVER w END AS prev_income,
       row_number() OVER w AS nth
  FROM {HOUSEHOLD_INCOME} v
 WHERE v.county_code = :county
   AND v.year <= CAST(:year AS integer)
   AND v.valid_from <= CAST(:registry_as_of AS timestamptz)
   AND (v.valid_to IS NULL OR v.valid_to > CAST(:registry_as_of AS timestamptz))
WINDOW w AS (PARTITION BY v.household_id ORDER BY v.year DESC)
"""

#: The evaluation of every household (rules.md §1.3) into a temporary table: the inputs, each code
#: as a boolean, the lead decision and the routing; only the households the run records are kept
#: (plus one row that carries the counts). A CREATE TABLE AS, so the write is a bulk one.
EVALUATE_SQL = f"""
CREATE TEMP TABLE screening_run_eval ON COMMIT DROP AS
WITH t AS (
    SELECT CAST(:monitoring_line AS numeric)        AS line,
           CAST(:medical_warning_line AS numeric)   AS med,
           CAST(:education_warning_line AS numeric) AS edu,
           CAST(:disaster_warning_line AS numeric)  AS dis,
           CAST(:accident_warning_line AS numeric)  AS acc,
           CAST(:industry_warning_line AS numeric)  AS ind,
           CAST(:income_drop_ratio AS numeric)      AS ratio,
           CAST(:illness_income_share AS numeric)   AS share,
           CAST(:employment_line_factor AS numeric) AS factor
), hh AS (
    SELECT s.household_id, s.household_number, s.township_code, s.village_code, s.status,
           s.member_count AS n, s.labour_count AS labour, inc.year AS income_year,
           inc.net_income AS i, inc.prev_income AS ip,
           coalesce(CAST(:year AS integer) = ANY (s.insured_years), false) AS insured,
           coalesce(f.m, 0) AS m, coalesce(f.e, 0) AS e, coalesce(f.dz, 0) AS dz, coalesce(f.ac, 0) AS ac,
           coalesce(f.idl, 0) AS idl, coalesce(f.job_loss, false) AS job_loss, f.disability_grade,
           coalesce(f.housing, false) AS housing, coalesce(f.water, false) AS water
      FROM (SELECT household_id, household_number, township_code, village_code, status, member_count,
                   labour_count, insured_years
              FROM {SNAPSHOT} WHERE county_code = :county OFFSET 0) s  -- the view first, as a whole
      LEFT JOIN ({INCOME_AS_OF_SQL}) inc ON inc.household_id = s.household_id AND inc.nth = 1
      LEFT JOIN ({FEED_WINDOW_SQL}) f ON f.household_id = s.household_id
), fired AS (
    SELECT hh.*, t.*,
           hh.n > 0                                                                     AS evaluated,
           hh.i - hh.m - hh.e - hh.dz - hh.ac - hh.idl                                  AS adj,
           -- no income on file (i null): the income-based codes and the I_adj condition are not
           -- evaluated (false), every other code is
           coalesce(hh.i < t.line * hh.n, false)                                        AS c_income_low,
           coalesce(hh.ip > 0 AND hh.ip - hh.i >= t.ratio * hh.ip, false)              AS c_income_drop,
           hh.m >= t.med OR coalesce(hh.m > 0 AND hh.m >= t.share * hh.i, false)        AS c_illness,
           hh.e >= t.edu                                                                AS c_education,
           hh.dz >= t.dis                                                               AS c_disaster,
           hh.ac >= t.acc                                                               AS c_accident,
           hh.idl >= t.ind                                                              AS c_industry,
           coalesce(hh.job_loss AND hh.i < t.factor * t.line * hh.n, false)             AS c_employment,
           coalesce(hh.disability_grade <= 2, false)                                    AS c_disability,
           hh.labour = 0                                                                AS c_labour
      FROM hh CROSS JOIN t
    OFFSET 0  -- a fence: each flag is computed once per household, not once per use
), judged AS (
    SELECT fired.*, oc.id AS case_id,
           coalesce(fired.adj < fired.line * fired.n, false) OR fired.housing OR fired.water AS is_lead,
           oc.id IS NOT NULL OR fired.status IN ({_MONITORED_SQL})                       AS to_case,
           c_income_low OR c_income_drop OR c_illness OR c_education OR c_disaster OR c_accident OR c_industry
               OR c_employment OR c_disability OR c_labour OR housing OR water            AS any_code
      FROM fired
      LEFT JOIN screening.monitoring_case oc
        ON oc.county_code = :county AND oc.household_id = fired.household_id AND oc.state IN ({_OPEN_STATES_SQL})
)
-- One row per household, but only the recorded ones carry their figures: the others are a few
-- bytes each, there to be counted.
SELECT chosen, evaluated, coalesce(n, 0) <= 0 AS no_members, no_income,
       CASE WHEN chosen THEN gen_random_uuid() END AS lead_id,
       CASE WHEN chosen OR no_income THEN household_id END AS household_id,
       CASE WHEN chosen OR no_income THEN household_number END AS household_number,
       CASE WHEN chosen OR no_income THEN township_code END AS township_code,
       CASE WHEN chosen OR no_income THEN village_code END AS village_code,
       CASE WHEN chosen THEN status END AS status,
       CASE WHEN chosen THEN n END AS n,
       CASE WHEN chosen THEN labour END AS labour,
       CASE WHEN chosen THEN income_year END AS income_year,
       CASE WHEN chosen THEN i END AS i,
       CASE WHEN chosen THEN ip END AS ip,
       CASE WHEN chosen THEN m END AS m,
       CASE WHEN chosen THEN e END AS e,
       CASE WHEN chosen THEN dz END AS dz,
       CASE WHEN chosen THEN ac END AS ac,
       CASE WHEN chosen THEN idl END AS idl,
       CASE WHEN chosen THEN adj END AS adj,
       CASE WHEN chosen THEN disability_grade END AS disability_grade,
       CASE WHEN chosen THEN case_id END AS case_id,
       chosen AND insured AS insured, chosen AND housing AS housing, chosen AND water AS water,
       chosen AND is_lead AS is_lead, chosen AND to_case AS to_case,
       chosen AND c_income_low AS c_income_low, chosen AND c_income_drop AS c_income_drop,
       chosen AND c_illness AS c_illness, chosen AND c_education AS c_education,
       chosen AND c_disaster AS c_disaster, chosen AND c_accident AS c_accident,
       chosen AND c_industry AS c_industry, chosen AND c_employment AS c_employment,
       chosen AND c_disability AS c_disability, chosen AND c_labour AS c_labour,
       CASE WHEN chosen THEN CAST(floor(i * 100 / n) / 100 AS numeric(16, 2)) END        AS pc,
       CASE WHEN chosen THEN CAST(floor(adj * 100 / n) / 100 AS numeric(16, 2)) END      AS adj_pc,
       CASE WHEN chosen THEN array_remove(ARRAY[
           CASE WHEN c_income_low THEN 'income_low' END,
           CASE WHEN c_income_drop THEN 'income_drop' END,
           CASE WHEN c_illness THEN 'illness' END,
           CASE WHEN c_education THEN 'education' END,
           CASE WHEN c_disaster THEN 'disaster' END,
           CASE WHEN c_accident THEN 'accident' END,
           CASE WHEN c_industry THEN 'industry_failure' END,
           CASE WHEN c_employment THEN 'unstable_employment' END,
           CASE WHEN c_disability THEN 'disability' END,
           CASE WHEN c_labour THEN 'lack_of_labour' END,
           CASE WHEN housing THEN 'housing' END,
           CASE WHEN water THEN 'water' END], NULL) END                                   AS codes
  FROM (SELECT judged.*, coalesce(n, 0) > 0 AND i IS NULL AS no_income,
               evaluated AND ((NOT to_case AND is_lead) OR (to_case AND (is_lead OR any_code))) AS chosen
          FROM judged
        OFFSET 0) j  -- a fence: `chosen` is computed once per row, not once per use
"""

STATS_SQL = """
SELECT (SELECT count(*) FROM screening_run_eval)                                       AS households,
       (SELECT count(*) FROM screening_run_eval WHERE no_members)                      AS no_members,
       (SELECT count(*) FROM screening_run_eval WHERE no_income)                       AS no_income,
       (SELECT coalesce(jsonb_object_agg(village_code, c), '{}'::jsonb)
          FROM (SELECT village_code, count(*) AS c FROM screening_run_eval
                 WHERE no_income GROUP BY village_code) v)                             AS no_income_by_village,
       (SELECT count(*) FROM screening_run_eval WHERE chosen AND NOT to_case)          AS leads,
       (SELECT count(*) FROM screening_run_eval WHERE chosen AND to_case)              AS case_evidence,
       (SELECT coalesce(jsonb_object_agg(township_code, c), '{}'::jsonb)
          FROM (SELECT township_code, count(*) AS c FROM screening_run_eval
                 WHERE chosen AND NOT to_case GROUP BY township_code) x)               AS by_township,
       (SELECT coalesce(jsonb_object_agg(code, c), '{}'::jsonb)
          FROM (SELECT code, count(*) AS c FROM screening_run_eval, unnest(codes) AS code
                 WHERE chosen AND NOT to_case GROUP BY code) y)                        AS by_code
"""

INSERT_LEADS_SQL = """
INSERT INTO screening.lead (
    id, run_id, county_code, township_code, village_code, household_id, household_number, household_status,
    members, labour_count, income_year, income, income_prev, window_total, adjusted_income, per_capita_income,
    adjusted_per_capita, codes, figures, lead_basis, is_lead, suggested_type, insured_this_year, routing,
    case_id, rank, township_rank)
SELECT lead_id, CAST(:run_id AS uuid), CAST(:county AS varchar), township_code, village_code,
       household_id, household_number, status, n, labour, income_year, i, ip, m + e + dz + ac + idl, adj, pc,
       adj_pc, codes,
       jsonb_strip_nulls(jsonb_build_object(
           'income_low', CASE WHEN c_income_low THEN jsonb_build_object(
               'income', i::text, 'members', n, 'per_capita_income', pc::text, 'monitoring_line', line::text) END,
           'income_drop', CASE WHEN c_income_drop THEN jsonb_build_object(
               'income', i::text, 'income_prev', ip::text, 'drop_ratio', trunc((ip - i) / ip, 4)::text,
               'income_drop_ratio', ratio::text) END,
           'illness', CASE WHEN c_illness THEN jsonb_build_object(
               'medical_self_pay', m::text, 'medical_warning_line', med::text, 'income', i::text,
               'illness_income_share', share::text, 'income_share_amount', (share * i)::text,
               'by_warning_line', m >= med, 'by_income_share', m > 0 AND m >= share * i) END,
           'education', CASE WHEN c_education THEN jsonb_build_object(
               'education_self_pay', e::text, 'education_warning_line', edu::text) END,
           'disaster', CASE WHEN c_disaster THEN jsonb_build_object(
               'disaster_loss', dz::text, 'disaster_warning_line', dis::text) END,
           'accident', CASE WHEN c_accident THEN jsonb_build_object(
               'accident_loss', ac::text, 'accident_warning_line', acc::text) END,
           'industry_failure', CASE WHEN c_industry THEN jsonb_build_object(
               'industry_loss', idl::text, 'industry_warning_line', ind::text) END,
           'unstable_employment', CASE WHEN c_employment THEN jsonb_build_object(
               'job_loss', true, 'income', i::text, 'members', n, 'per_capita_income', pc::text,
               'employment_line', (factor * line)::text) END,
           'disability', CASE WHEN c_disability THEN
               jsonb_build_object('new_disability_grade', disability_grade) END,
           'lack_of_labour', CASE WHEN c_labour THEN jsonb_build_object('labour_count', labour, 'members', n) END,
           'housing', CASE WHEN housing THEN jsonb_build_object('housing_unsafe', true) END,
           'water', CASE WHEN water THEN jsonb_build_object('water_unsafe', true) END,
           'lead', jsonb_build_object(
               'adjusted_income', adj::text, 'members', n, 'adjusted_per_capita', adj_pc::text,
               'monitoring_line', line::text, 'window_total', (m + e + dz + ac + idl)::text,
               'income_on_file', i IS NOT NULL))),
       array_remove(ARRAY[
           CASE WHEN adj < line * n THEN 'adjusted_income_below_line' END,
           CASE WHEN housing THEN 'housing' END,
           CASE WHEN water THEN 'water' END], NULL),
       is_lead,
       CASE WHEN is_lead THEN
           CASE WHEN status = 'lifted_out' THEN 'unstable'
                WHEN i < line * n THEN 'marginal'
                ELSE 'sudden_hardship' END END,
       insured,
       CASE WHEN to_case THEN 'case_evidence' ELSE 'new_lead' END,
       case_id,
       CASE WHEN NOT to_case THEN
           row_number() OVER (PARTITION BY to_case ORDER BY cardinality(codes) DESC, adj / n, household_id) END,
       CASE WHEN NOT to_case THEN
           row_number() OVER (PARTITION BY to_case, township_code
                              ORDER BY cardinality(codes) DESC, adj / n, household_id) END
  FROM screening_run_eval,
       (SELECT CAST(:monitoring_line AS numeric) AS line, CAST(:medical_warning_line AS numeric) AS med,
               CAST(:education_warning_line AS numeric) AS edu, CAST(:disaster_warning_line AS numeric) AS dis,
               CAST(:accident_warning_line AS numeric) AS acc, CAST(:industry_warning_line AS numeric) AS ind,
               CAST(:income_drop_ratio AS numeric) AS ratio, CAST(:illness_income_share AS numeric) AS share,
               CAST(:employment_line_factor AS numeric) AS factor) t
 WHERE chosen
"""

EVIDENCE_SQL = f"""
INSERT INTO screening.lead_evidence (lead_id, county_code, code, feed_record_id, batch_id)
SELECT e.lead_id, f.county_code, k.code, f.id, f.batch_id
  FROM screening_run_eval e
  JOIN {_CODE_KINDS_SQL} ON k.code = ANY (e.codes)
  JOIN screening.feed_record f
    ON f.county_code = :county AND f.household_id = e.household_id AND f.kind = k.kind
   AND f.event_date BETWEEN :window_start AND :window_end
   AND f.matched_at <= CAST(:feeds_as_of AS timestamptz)
   AND f.kind IN ('medical_expense', 'education_expense', 'disaster_loss', 'accident', 'industry_loss',
                  'job_loss', 'disability_new', 'housing_unsafe', 'water_unsafe')
 WHERE e.chosen
   AND (e.c_illness OR e.c_education OR e.c_disaster OR e.c_accident OR e.c_industry OR e.c_employment
        OR e.c_disability OR e.housing OR e.water)  -- income_low, income_drop, lack_of_labour rest on the registry
   AND (k.code <> 'disability' OR f.grade <= 2)
"""

#: Income-drop claim leads: the households of this run with the code, insured in the period's year,
#: that have had none this year (claim_lead_repository.py writes the rows and the contract's JSON);
#: runs of a county are serialised, so the NOT EXISTS is the dedup, the index the guard.
INCOME_DROP_CLAIMS_SQL = """
SELECT 'screening_run' AS source, 'run:' || CAST(:run_id AS text) || ':' || e.household_id AS source_record_id,
       e.household_id, CAST(NULL AS uuid) AS member_id, CAST(:county AS varchar) AS county_code, e.village_code,
       'income_drop' AS category, CAST(:window_end AS date) AS incident_date, CAST(:today AS date) AS reported_date,
       '{}'::jsonb AS expense,
       CAST(NULL AS text) AS evidence_department, CAST(NULL AS uuid) AS evidence_batch_id,
       CAST(NULL AS uuid) AS evidence_feed_record_id, CAST(:run_id AS uuid) AS evidence_run_id,
       'income_drop' AS evidence_kind,
       CAST(:year AS integer) AS incident_year, CAST(NULL AS uuid) AS feed_record_id, CAST(:run_id AS uuid) AS run_id
  FROM screening_run_eval e
 WHERE e.chosen AND e.insured AND e.c_income_drop
   AND NOT EXISTS (SELECT 1 FROM screening.claim_lead cl
                    WHERE cl.county_code = :county AND cl.household_id = e.household_id
                      AND cl.category = 'income_drop' AND cl.incident_year = CAST(:year AS integer))
"""


class RunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- runs ------------------------------------------------------------------------------

    async def lock_county(self, county_code: str) -> None:
        """Runs of one county one at a time (versions and superseding stay in order)."""
        key = func.hashtextextended(f"screening-run:{county_code}", 0)
        await self.session.execute(select(func.pg_advisory_xact_lock(key)))

    async def try_lock_schedule(self, county_code: str, period: str) -> bool:
        """One scheduler replica per county and period; the others skip it."""
        key = func.hashtextextended(f"screening-schedule:{county_code}:{period}", 0)
        return bool((await self.session.execute(select(func.pg_try_advisory_xact_lock(key)))).scalar())

    async def next_version(self, county_code: str, period: str) -> int:
        current = (
            await self.session.execute(
                select(func.max(run.c.version)).where(run.c.county_code == county_code, run.c.period == period)
            )
        ).scalar()
        return int(current or 0) + 1

    async def insert_run(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(run).values(**values))

    async def get(self, run_id: uuid.UUID) -> Run | None:
        row = (await self.session.execute(select(run).where(run.c.id == run_id))).mappings().one_or_none()
        return row_as(Run, row) if row is not None else None

    async def update_run(self, run_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(update(run).where(run.c.id == run_id).values(**values))

    async def list_runs(
        self,
        *,
        county_code: str | None,
        county_prefix: str,
        period: str | None,
        after: Sequence[Any] | None,
        limit: int,
    ) -> list[Run]:
        query = select(run).where(run.c.county_code.startswith(county_prefix, autoescape=True))
        if county_code:
            query = query.where(run.c.county_code == county_code)
        if period:
            query = query.where(run.c.period == period)
        if after:
            stamp, last_id = after  # (created_at, id) of the last row of the page before
            query = query.where((run.c.created_at < stamp) | ((run.c.created_at == stamp) & (run.c.id < last_id)))
        rows = await self.session.execute(query.order_by(run.c.created_at.desc(), run.c.id.desc()).limit(limit))
        return [row_as(Run, r) for r in rows.mappings()]

    async def has_run(self, county_code: str, period: str, trigger: str | None = None) -> bool:
        query = (
            select(func.count())
            .select_from(run)
            .where(run.c.county_code == county_code, run.c.period == period, run.c.status != "failed")
        )
        if trigger:
            query = query.where(run.c.trigger == trigger)
        return bool((await self.session.execute(query)).scalar())

    async def failed_runs(self, county_code: str, period: str, trigger: str) -> int:
        query = (
            select(func.count())
            .select_from(run)
            .where(
                run.c.county_code == county_code,
                run.c.period == period,
                run.c.status == "failed",
                run.c.trigger == trigger,
            )
        )
        return int((await self.session.execute(query)).scalar_one())

    async def supersede(self, county_code: str, period: str, run_id: uuid.UUID, now: datetime) -> list[uuid.UUID]:
        result = await self.session.execute(
            update(run)
            .where(
                run.c.county_code == county_code,
                run.c.period == period,
                run.c.id != run_id,
                run.c.status == "succeeded",
                run.c.superseded_by.is_(None),
            )
            .values(superseded_by=run_id, superseded_at=now)
            .returning(run.c.id)
        )
        return list(result.scalars())

    # --- the screening ---------------------------------------------------------------------

    async def set_work_mem(self, work_mem: str) -> None:
        # validated by the settings pattern; SET takes no bind parameters
        await self.session.execute(text(f"SET LOCAL work_mem = '{work_mem}'"))

    @staticmethod
    def _threshold_params(t: Thresholds) -> dict[str, Any]:
        return {
            "monitoring_line": t.monitoring_line,
            "medical_warning_line": t.medical_warning_line,
            "education_warning_line": t.education_warning_line,
            "disaster_warning_line": t.disaster_warning_line,
            "accident_warning_line": t.accident_warning_line,
            "industry_warning_line": t.industry_warning_line,
            "income_drop_ratio": t.income_drop_ratio,
            "illness_income_share": t.illness_income_share,
            "employment_line_factor": t.employment_line_factor,
        }

    async def database_now(self) -> datetime:
        """The database clock now (the registry's income versions are stamped with it): clock_timestamp(),
        not the start of the run's transaction, so that rows committed before the evaluation are in it."""
        return (await self.session.execute(text("SELECT clock_timestamp()"))).scalar_one()

    async def first_data_as_of(self, county_code: str, period: str) -> dict[str, Any] | None:
        """`result.data_as_of` of the period's first succeeded run (the data every re-run sees)."""
        query = (
            select(run.c.result["data_as_of"])
            .where(run.c.county_code == county_code, run.c.period == period, run.c.status == "succeeded")
            .order_by(run.c.version)
            .limit(1)
        )
        value = (await self.session.execute(query)).scalar()
        return value if isinstance(value, dict) else None

    async def evaluate(
        self,
        county_code: str,
        window_start: date,
        window_end: date,
        year: int,
        t: Thresholds,
        *,
        registry_as_of: datetime,
        feeds_as_of: datetime,
    ) -> None:
        await self.drop_work_tables()
        params = {
            "county": county_code,
            "year": year,
            "window_start": window_start,
            "window_end": window_end,
            "registry_as_of": registry_as_of,
            "feeds_as_of": feeds_as_of,
            **self._threshold_params(t),
        }
        await self.session.execute(text(EVALUATE_SQL), params)
        await self.session.execute(text("ANALYZE pg_temp.screening_run_eval"))

    async def write_leads(self, run_id: uuid.UUID, county_code: str, t: Thresholds) -> RunStats:
        params = {"run_id": run_id, "county": county_code, **self._threshold_params(t)}
        await self.session.execute(text(INSERT_LEADS_SQL), params)
        row = (await self.session.execute(text(STATS_SQL))).mappings().one()
        return RunStats(
            households=int(row["households"] or 0),
            no_members=int(row["no_members"] or 0),
            no_income=int(row["no_income"] or 0),
            no_income_by_village=row["no_income_by_village"],
            leads=int(row["leads"] or 0),
            case_evidence=int(row["case_evidence"] or 0),
            by_township=row["by_township"],
            by_code=row["by_code"],
        )

    async def record_evidence(
        self, county_code: str, window_start: date, window_end: date, *, feeds_as_of: datetime
    ) -> int:
        result = await self.session.execute(
            text(EVIDENCE_SQL),
            {
                "county": county_code,
                "window_start": window_start,
                "window_end": window_end,
                "feeds_as_of": feeds_as_of,
            },
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def record_data_quality(self, run_id: uuid.UUID, county_code: str) -> int:
        """The households listed apart: "no income on file" (rules.md §1.3), per village."""
        result = await self.session.execute(
            text(
                """INSERT INTO screening.run_data_quality (run_id, county_code, issue, township_code, village_code,
                                                          household_id, household_number)
                   SELECT CAST(:run_id AS uuid), CAST(:county AS varchar), 'no_income_on_file', township_code,
                          village_code, household_id, household_number
                     FROM screening_run_eval WHERE no_income"""
            ),
            {"run_id": run_id, "county": county_code},
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def data_quality(
        self,
        run_id: uuid.UUID,
        issue: str,
        *,
        region_prefix: str,
        village_code: str | None,
        after: Sequence[Any] | None,
        limit: int,
    ) -> list[DataQualityEntry]:
        """A run's data-quality list in village, household order (cursor: village, household id)."""
        where = ["run_id = :run", "issue = :issue", "starts_with(village_code, :prefix)"]
        params: dict[str, Any] = {"run": run_id, "issue": issue, "prefix": region_prefix, "limit": limit}
        if village_code:
            where.append("village_code = :village")
            params["village"] = village_code
        if after:
            where.append("(village_code, household_id) > (:after_village, :after_household)")
            params["after_village"], params["after_household"] = str(after[0]), uuid.UUID(str(after[1]))
        query = (
            "SELECT issue, township_code, village_code, household_id, household_number "
            f"FROM screening.run_data_quality WHERE {' AND '.join(where)} "
            "ORDER BY village_code, household_id LIMIT :limit"
        )
        return [row_as(DataQualityEntry, r) for r in (await self.session.execute(text(query), params)).mappings()]

    async def enqueue_income_drop_claims(
        self, run_id: uuid.UUID, county_code: str, year: int, window_end: date, today: date, request_id: str | None
    ) -> int:
        return await ClaimLeadRepository(self.session).enqueue(
            INCOME_DROP_CLAIMS_SQL,
            {"run_id": str(run_id), "county": county_code, "year": year, "window_end": window_end, "today": today},
            request_id=request_id,
        )

    async def drop_work_tables(self) -> None:
        # ON COMMIT DROP ends them with the run's transaction; dropped here too for a caller whose
        # commit only releases a savepoint
        await self.session.execute(text("DROP TABLE IF EXISTS pg_temp.screening_run_eval"))

    # --- leads -----------------------------------------------------------------------------

    async def leads(
        self,
        run_id: uuid.UUID,
        *,
        region_prefix: str,
        township_code: str | None,
        village_code: str | None,
        code: str | None,
        routing: str,
        after: Sequence[Any] | None,
        limit: int,
    ) -> list[Lead]:
        """Grouped by township, best-ranked first inside each (stable cursor: township, rank, id)."""
        query = select(L).where(L.c.run_id == run_id, L.c.routing == routing)
        if region_prefix:
            query = query.where(L.c.village_code.startswith(region_prefix, autoescape=True))
        if township_code:
            query = query.where(L.c.township_code == township_code)
        if village_code:
            query = query.where(L.c.village_code == village_code)
        if code:
            query = query.where(L.c.codes.contains([code]))
        rank = func.coalesce(L.c.township_rank, 0)
        if after:
            t_code, t_rank, lead_id = after  # (township, rank, id) of the last row of the page before
            query = query.where(
                (L.c.township_code > t_code)
                | ((L.c.township_code == t_code) & (rank > t_rank))
                | ((L.c.township_code == t_code) & (rank == t_rank) & (L.c.id > lead_id))
            )
        query = query.order_by(L.c.township_code, rank, L.c.id).limit(limit)
        return [row_as(Lead, r) for r in (await self.session.execute(query)).mappings()]

    async def lead(self, lead_id: uuid.UUID, *, for_update: bool = False) -> Lead | None:
        query = select(L).where(L.c.id == lead_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().one_or_none()
        return row_as(Lead, row) if row is not None else None

    async def evidence(self, lead_ids: Sequence[uuid.UUID]) -> list[LeadEvidenceLink]:
        if not lead_ids:
            return []
        rows = await self.session.execute(
            select(lead_evidence)
            .where(lead_evidence.c.lead_id.in_(lead_ids))
            .order_by(lead_evidence.c.lead_id, lead_evidence.c.code, lead_evidence.c.feed_record_id)
        )
        return [row_as(LeadEvidenceLink, r) for r in rows.mappings()]

    async def update_lead(self, lead_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(update(L).where(L.c.id == lead_id).values(**values))

    async def case_evidence(self, case_id: uuid.UUID, household_id: uuid.UUID, county_code: str) -> list[CaseFinding]:
        """Screening findings for a household since its case was open: rows routed to the case."""
        query = (
            select(L, run.c.period, run.c.superseded_by)
            .join(run, run.c.id == L.c.run_id)
            .where(
                L.c.county_code == county_code,
                L.c.household_id == household_id,
                L.c.case_id == case_id,
                L.c.routing == "case_evidence",
            )
            .order_by(run.c.period.desc(), run.c.version.desc())
        )
        return [
            CaseFinding(lead=row_as(Lead, r), period=r["period"], superseded_by=r["superseded_by"])
            for r in (await self.session.execute(query)).mappings()
        ]

    async def recent_lead_periods(self, county_code: str, household_id: uuid.UUID, runs: int) -> list[str]:
        """Periods among the county's last `runs` monthly runs in which the household evaluated as a lead."""
        if runs <= 0:
            return []
        periods = (
            select(run.c.period)
            .where(run.c.county_code == county_code, run.c.status == "succeeded", run.c.superseded_by.is_(None))
            .group_by(run.c.period)
            .order_by(run.c.period.desc())
            .limit(runs)
            .subquery()
        )
        query = (
            select(run.c.period)
            .distinct()
            .join(L, L.c.run_id == run.c.id)
            .where(
                run.c.county_code == county_code,
                run.c.status == "succeeded",
                run.c.superseded_by.is_(None),
                run.c.period.in_(select(periods.c.period)),
                L.c.household_id == household_id,
                L.c.is_lead.is_(True),
            )
        )
        return sorted(str(p) for p in (await self.session.execute(query)).scalars())

"""Claim leads (理赔线索, rules §2.4): the `screening.claim_lead` rows and their outbox messages to
the claims service, written set-based (a feed batch or a screening run sends thousands at once).

One place builds the message body, from the contract model itself: `claim_lead_body_sql()`
walks the fields of `shared.contracts.claims.ClaimLead` (and of its nested `LeadEvidence`) and
makes the `jsonb_build_object` that names each of them, so the JSON the SQL writes is exactly the
model's JSON (`ClaimLead.model_dump(mode="json")`: every field, nulls included). A field added to
the contract is a column every source must give, or the statement fails, never a body that
silently lacks it. The outbox row is the one `shared.outbox.enqueue` writes for a message,
idempotency key, ordering key (none), county and request id, for a whole set in one statement.

A source is a `SELECT` (the feed records of a batch, the households of a run) giving one column
per body field (`SOURCE_COLUMNS`: `evidence_<field>` for the evidence's fields) and the claim-lead
row's own `incident_year`, `feed_record_id`, `run_id`.
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.claims import ClaimLead

#: The claims service's endpoint for a claim lead (shared/contracts/claims.py).
TARGET, METHOD, PATH = "claims", "POST", "/v1/claims/leads"

#: Columns of the claim-lead row a source gives besides the body fields.
ROW_COLUMNS = ("incident_year", "feed_record_id", "run_id")


def _nested(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model of a field (``LeadEvidence``, ``LeadEvidence | None``), else None."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _columns(model: type[BaseModel], prefix: str = "") -> list[str]:
    names: list[str] = []
    for name, info in model.model_fields.items():
        nested = _nested(info.annotation)
        names += _columns(nested, f"{prefix}{name}_") if nested is not None else [f"{prefix}{name}"]
    return names


def _object_sql(model: type[BaseModel], alias: str, prefix: str = "") -> str:
    pairs = []
    for name, info in model.model_fields.items():
        nested = _nested(info.annotation)
        value = _object_sql(nested, alias, f"{prefix}{name}_") if nested is not None else f"{alias}.{prefix}{name}"
        pairs.append(f"'{name}', {value}")
    return "jsonb_build_object(" + ", ".join(pairs) + ")"


#: The columns a source SELECT gives for the body, one per field of the contract model.
SOURCE_COLUMNS: tuple[str, ...] = tuple(_columns(ClaimLead))


def claim_lead_body_sql(alias: str = "c") -> str:
    """The ClaimLead JSON of a row of `alias` (its columns named as SOURCE_COLUMNS)."""
    return _object_sql(ClaimLead, alias)


ENQUEUE_SQL = """
WITH c AS MATERIALIZED (
    SELECT s.*, gen_random_uuid() AS message_id FROM ({source}) s
), claim AS (
    INSERT INTO screening.claim_lead (id, county_code, source, source_record_id, household_id, category,
                                      incident_year, feed_record_id, run_id, outbox_message_id)
    SELECT gen_random_uuid(), c.county_code, c.source, c.source_record_id, c.household_id, c.category,
           c.incident_year, c.feed_record_id, c.run_id, c.message_id
      FROM c
    ON CONFLICT DO NOTHING
)
INSERT INTO screening.outbox_message (id, target, method, path, body, idempotency_key, ordering_key, county_code,
                                      request_id)
SELECT c.message_id, '{target}', '{method}', '{path}', {body},
       'claim-lead:' || c.county_code || ':' || c.source_record_id, NULL, c.county_code,
       CAST(:request_id AS varchar)
  FROM c
"""


class ClaimLeadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(self, source_sql: str, params: dict[str, Any], *, request_id: str | None) -> int:
        """One claim-lead row and one outbox message per row of `source_sql`; how many messages.

        Both come from one materialised set (no join back to what was inserted, whose size the
        planner cannot know). The source excludes what was sent before; should two jobs race on
        one lead, the unique index keeps one claim-lead row and the claims service, idempotent by
        source record id, one claim.
        """
        statement = ENQUEUE_SQL.format(
            source=source_sql, target=TARGET, method=METHOD, path=PATH, body=claim_lead_body_sql("c")
        )
        result = await self.session.execute(text(statement), {**params, "request_id": request_id})
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

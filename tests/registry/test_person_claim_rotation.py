"""`fangpin rotate-pii-key` with a new blind-index key keeps the one-household rule (issue 15).

registry.person_claim is keyed by the national-ID blind index (migration 0007). When the index key
changes, the members' indexes are recomputed by the rotation and every claim must follow its
member's new index; a claim left under the old index would let the same person be added to a
second household. Run on a database of its own: the rotation rewrites every member it finds.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.cli.database import rewrite_person_claims
from services.registry.db.tables import ENCRYPTED_COLUMNS
from shared.pii import PiiCipher
from shared.pii_rotation import rotate
from shared.settings import async_database_url
from tests.support.database import migrated_database
from tests.support.tokens import PII_INDEX_KEY, PII_KEY

PEOPLE = [f"41060219800101{i:03d}X" if i % 5 == 0 else f"41060219800102{i:04d}" for i in range(1, 41)]


@pytest.fixture
def rotation_url(pg_server: str) -> Iterator[str]:
    with migrated_database(pg_server, "rotation") as url:
        yield url


@pytest.fixture
async def engine(rotation_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(async_database_url(rotation_url))
    yield eng
    await eng.dispose()


async def _fill(engine: AsyncEngine, cipher: PiiCipher) -> None:
    async with engine.begin() as conn:
        for n, national_id in enumerate(PEOPLE):
            household, member = uuid.uuid4(), uuid.uuid4()
            index = cipher.blind_index(national_id, purpose="national_id")
            await conn.execute(
                text(
                    "INSERT INTO registry.household (id, county_code, township_code, village_code, household_number, "
                    "status, base_status) VALUES (:id, '410602', '410602001', '410602001001', :number, 'ordinary', "
                    "'ordinary')"
                ),
                {"id": household, "number": f"R{n:08d}"},
            )
            await conn.execute(
                text(
                    "INSERT INTO registry.member (id, household_id, county_code, name, national_id_enc, "
                    "national_id_index, national_id_masked, sex, birth_date, relation, health, labour_ability, "
                    "join_reason) VALUES (:id, :household, '410602', '测试', :enc, :index, '410602********0000', "
                    "'male', date '1980-01-01', 'head', 'healthy', 'normal', 'registration')"
                ),
                {
                    "id": member,
                    "household": household,
                    "enc": cipher.encrypt(national_id, purpose="national_id"),
                    "index": index,
                },
            )
            await conn.execute(
                text(
                    "INSERT INTO registry.person_claim (national_id_index, member_id, household_id, county_code) "
                    "VALUES (:index, :member, :household, '410602')"
                ),
                {"index": index, "member": member, "household": household},
            )


async def _claims(engine: AsyncEngine) -> dict[uuid.UUID, tuple[bytes, bytes]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT m.id, m.national_id_index AS member_index, pc.national_id_index AS claim_index "
                    "FROM registry.member m JOIN registry.person_claim pc ON pc.member_id = m.id"
                )
            )
        ).all()
    return {r.id: (bytes(r.member_index), bytes(r.claim_index)) for r in rows}


async def test_claims_follow_the_members_new_index(engine: AsyncEngine) -> None:
    old = PiiCipher(PII_KEY, PII_INDEX_KEY)
    await _fill(engine, old)
    new_index_key = base64.b64encode(os.urandom(32)).decode()
    new = PiiCipher(PII_KEY, new_index_key)
    members = [c for c in ENCRYPTED_COLUMNS if c.table == "member"]

    done = await rotate(engine, new, members, reindex=True)
    assert done["registry.member.national_id_index"] == len(PEOPLE)
    # the members moved to the new index; the claims have not yet
    before = await _claims(engine)
    assert all(member != claim for member, claim in before.values())

    assert await rewrite_person_claims(engine) == len(PEOPLE)
    after = await _claims(engine)
    expected = {new.blind_index(p, purpose="national_id") for p in PEOPLE}
    # every claim is under its member's new index: the registry's person check (which looks the new
    # index up) finds each person's one household, so a second household is still refused
    assert {claim for _, claim in after.values()} == expected
    assert all(member == claim for member, claim in after.values())
    # re-runnable: nothing left to rewrite
    assert await rewrite_person_claims(engine) == 0

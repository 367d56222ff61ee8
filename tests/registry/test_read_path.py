"""Issue 15: the registry's one-statement reads run on the pool's connection, outside a transaction.

The household read, the list page and the search each send one statement; through an ORM session they
paid BEGIN/ROLLBACK round trips and the session's transaction machinery (half the CPU of the database
part of a read). `shared.db.read_connection` takes the connection straight from the pool. Against a
committed database (no test transaction around the app), counted with the engine's own events: no
transaction begins, and each read checks out one connection.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import event

from tests.registry.conftest import household_body
from tests.registry.test_concurrency import _cleanup
from tests.support.tokens import DEMO_VILLAGE, auth

OFFICER = auth("county_officer")


async def test_household_reads_begin_no_transaction(
    committed_registry: tuple[Any, httpx.AsyncClient], committed_url: str
) -> None:
    app, client = committed_registry
    created = (await client.post("/v1/households", json=household_body(), headers=OFFICER)).json()
    engine = app.state.engine.sync_engine
    begun: list[object] = []
    checkouts: list[object] = []

    def on_begin(connection: object) -> None:
        begun.append(connection)

    def on_checkout(*_: object) -> None:
        checkouts.append(1)

    event.listen(engine, "begin", on_begin)
    event.listen(engine.pool, "checkout", on_checkout)
    try:
        reads = [
            await client.get(f"/v1/households/{created['id']}", headers=OFFICER),
            await client.get("/v1/households", params={"region": DEMO_VILLAGE, "limit": 20}, headers=OFFICER),
            await client.post("/v1/households:search", json={"region": DEMO_VILLAGE, "limit": 20}, headers=OFFICER),
        ]
        assert [r.status_code for r in reads] == [200, 200, 200], [r.text for r in reads]
        assert reads[0].json()["id"] == created["id"]
        assert created["id"] in {item["id"] for item in reads[1].json()["items"]}
        assert begun == []  # no ORM transaction, no BEGIN
        assert len(checkouts) == 3  # one connection a read
    finally:
        event.remove(engine, "begin", on_begin)
        event.remove(engine.pool, "checkout", on_checkout)
        await _cleanup(committed_url, [created["id"]])

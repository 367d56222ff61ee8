"""Issue 9: an import's upload is a spooled file that the job closes when it ends, however it ends."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

import shared.limits
from tests.conftest import AppHarness
from tests.registry.test_imports import OFFICER, _import, template_rows, to_csv

pytestmark = pytest.mark.usefixtures("demo_regions")


async def test_every_spooled_upload_is_closed_after_its_job(
    registry_client: httpx.AsyncClient, app_harness: AppHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[shared.limits.Upload] = []
    spool = shared.limits.spool_upload

    async def recording(*args: Any, **kwargs: Any) -> shared.limits.Upload:
        upload = await spool(*args, **kwargs)
        made.append(upload)
        return upload

    monkeypatch.setattr("services.registry.api.imports.spool_upload", recording)
    app = await app_harness.get("registry")
    good = to_csv(template_rows(10))
    outcomes = []
    for data, params in (
        (good, {"wait": "false"}),  # background job, succeeds
        (b"\xff\xfe not text", {"wait": "false"}),  # background job, fails
        (good, {"key": "spool-replay"}),  # waited for
        (good, {"key": "spool-replay"}),  # replay: no job
        (b"   \r\n", {}),  # refused before a job: 422
    ):
        outcomes.append(await _import(registry_client, data, **params))
        await app.state.jobs.drain()  # the harness shares one connection: one job at a time
    assert [r.status_code for r in outcomes] == [202, 202, 200, 200, 422]
    assert len(made) == 5
    assert all(u.closed for u in made)
    first = await registry_client.get(outcomes[0].headers["Location"], headers=OFFICER)
    assert first.json()["status"] == "succeeded"
    assert first.json()["file_sha256"] == hashlib.sha256(good).hexdigest()  # hashed while it streamed in
    failed = await registry_client.get(outcomes[1].headers["Location"], headers=OFFICER)
    assert failed.json()["status"] == "failed"

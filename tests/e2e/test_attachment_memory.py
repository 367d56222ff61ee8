"""Issue 13, acceptance 5: a 20 MB visit photo through screening as a real process, in bounded memory.

The photo is uploaded as a raw body streamed from a small buffer (the test holds no 20 MB either)
and downloaded as a stream; the service spools the upload to disk, writes it to the database in
256 KiB chunks and streams it back chunk by chunk (shared/attachments.py). The service's RSS,
sampled every 20 ms while the bytes move, stays within 10 MB of where it was after a warm-up; the
bytes come back with their SHA-256; an oversize photo is 413 and a PDF 415 in the same process,
also without growing; a caller of another village gets 404 for the photo.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from shared.embedded_pg import free_port
from tests.support.processes import ServiceProcess
from tests.support.tokens import auth, service_env

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024
RSS_SLACK = 10 * MiB
VILLAGE = "410602100201"
CADRE = auth("village_cadre", VILLAGE)
OUTSIDER = auth("village_cadre", "410602101201")
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
BLOCK = bytes(range(256)) * 1024  # 256 KiB of varied bytes


def photo_chunks(size: int, head: bytes = JPEG_HEAD) -> Iterator[bytes]:
    """`size` bytes: the JPEG signature, then the block repeated (cut to size)."""
    yield head
    left = size - len(head)
    while left > 0:
        piece = BLOCK[: min(left, len(BLOCK))]
        left -= len(piece)
        yield piece


def expected_digest(size: int, head: bytes = JPEG_HEAD) -> str:
    digest = hashlib.sha256()
    for piece in photo_chunks(size, head):
        digest.update(piece)
    return digest.hexdigest()


class PeakRss:
    """The process's largest RSS while the block runs, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


async def _household(url: str) -> uuid.UUID:
    household_id = uuid.uuid4()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(
            "INSERT INTO registry.household (id, county_code, township_code, village_code, household_number, "
            "status, base_status) VALUES ($1, '410602', '410602100', $2, $3, 'ordinary', 'ordinary')",
            household_id,
            VILLAGE,
            f"PHOTO{household_id.hex[:12]}",
        )
    finally:
        await conn.close()
    return household_id


def test_a_20_mb_photo_goes_in_and_out_in_bounded_memory(e2e_database_url: str, tmp_path: Path) -> None:
    household_id = asyncio.run(_household(e2e_database_url))
    proc = ServiceProcess("screening", free_port(), service_env(e2e_database_url), tmp_path / "screening.log")
    proc.start(timeout=30)
    try:
        assert proc.proc is not None
        with httpx.Client(base_url=proc.url, timeout=120) as client:
            visit = client.post(
                "/v1/visits",
                json={
                    "household_id": str(household_id),
                    "visit_date": "2026-04-01",
                    "visitors": ["村支书"],
                    "findings": {"living": "difficult", "income_change": "decreased", "risks": []},
                },
                headers=CADRE,
            )
            assert visit.status_code == 201, visit.text
            photos = f"/v1/visits/{visit.json()['id']}/photos"
            jpeg = {**CADRE, "Content-Type": "image/jpeg"}

            # warm-up: the same paths once with a small photo, so the baseline has the code loaded
            small = client.post(photos, content=photo_chunks(300 * 1024), headers=jpeg)
            assert small.status_code == 201, small.text
            assert len(client.get(f"{photos}/{small.json()['id']}", headers=CADRE).content) == 300 * 1024
            baseline = psutil.Process(proc.proc.pid).memory_info().rss

            size = 20 * MiB
            with PeakRss(proc.proc.pid) as upload:
                up = client.post(photos, content=photo_chunks(size), headers=jpeg)
            assert up.status_code == 201, up.text
            assert up.json()["size_bytes"] == size
            assert up.json()["sha256"] == expected_digest(size)

            digest, received = hashlib.sha256(), 0
            with (
                PeakRss(proc.proc.pid) as download,
                client.stream("GET", f"{photos}/{up.json()['id']}", headers=CADRE) as got,
            ):
                assert got.status_code == 200
                assert got.headers["content-type"] == "image/jpeg"
                for piece in got.iter_bytes():
                    digest.update(piece)
                    received += len(piece)
            assert received == size
            assert digest.hexdigest() == up.json()["sha256"]

            with PeakRss(proc.proc.pid) as refused:
                oversize = client.post(photos, content=photo_chunks(26 * MiB), headers=jpeg)
                pdf = client.post(
                    photos,
                    content=photo_chunks(2 * MiB, b"%PDF-1.7\n"),
                    headers={**CADRE, "Content-Type": "image/jpeg"},
                )
            assert oversize.status_code == 413, oversize.text
            assert pdf.status_code == 415, pdf.text
            assert client.get(f"{photos}/{up.json()['id']}", headers=OUTSIDER).status_code == 404

        for name, sampled in (("upload", upload), ("download", download), ("refusals", refused)):
            grown = sampled.peak - baseline
            assert grown < RSS_SLACK, f"{name}: RSS grew {grown / MiB:.1f} MiB over {baseline / MiB:.0f} MiB"
        print(
            f"baseline {baseline / MiB:.0f} MiB; peak growth upload {(upload.peak - baseline) / MiB:.1f}, "
            f"download {(download.peak - baseline) / MiB:.1f}, refusals {(refused.peak - baseline) / MiB:.1f} MiB"
        )
    finally:
        proc.stop()

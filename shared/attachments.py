"""Attachments (附件): files a service keeps beside its records — visit photos, case evidence,
claim receipts — in the owning service's own schema.

- **Streamed both ways.** The route spools the body with `shared.limits.spool_upload` (bounded by
  the route's `body_limit` setting: 413 above it); `AttachmentStore.save` copies the spool file into
  `<schema>.attachment_chunk` one `CHUNK` at a time and `AttachmentStore.stream` reads it back one
  chunk per query, on its own connection, so neither direction holds a file whole in memory.
- **Type by content.** `sniff` reads the magic bytes (JPEG, PNG, WebP, GIF, HEIC, PDF); the name and
  the declared `Content-Type` are ignored. A type the caller did not admit is 415
  `unsupported_media_type`.
- **SHA-256** of the bytes as stored (computed by the spool) is kept and answered as the ETag.
- **Scope.** Every attachment carries the village of what owns it; a reader outside that village's
  region gets 404 (`visible`), the same as a missing one.
- **Never logged.** Nothing here logs the bytes, the file name or the owner; the file name is not
  even stored.

Tables: `attachment_tables(metadata)` in `shared/kernel_tables.py` (DDL in the service's migration,
primary keys (id, county_code) so the tables distribute by county like the records they belong to).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import Principal
from shared.errors import NotFound, ServiceError
from shared.limits import UPLOAD_CHUNK, Upload

CHUNK = UPLOAD_CHUNK  # 256 KiB a row

JPEG, PNG, WEBP, GIF, HEIC, PDF = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "image/heic",
    "application/pdf",
)
IMAGES = frozenset({JPEG, PNG, WEBP, GIF, HEIC})
DOCUMENTS = frozenset({*IMAGES, PDF})
SNIFF_BYTES = 16


class UnsupportedMediaType(ServiceError):
    status_code = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


def sniff(head: bytes) -> str | None:
    """The content type the first bytes of a file show, or None when they show none we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
        return HEIC
    if head.startswith(b"%PDF-"):
        return PDF
    return None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A row of `<schema>.attachment` (the bytes are in `attachment_chunk`)."""

    id: uuid.UUID
    county_code: str
    village_code: str
    owner_type: str
    owner_id: uuid.UUID
    content_type: str
    size_bytes: int
    sha256: bytes
    chunks: int
    created_by: str | None
    created_at: datetime

    @property
    def sha256_hex(self) -> str:
        return self.sha256.hex()


def _of(row: object) -> Attachment:
    return Attachment(**{f.name: getattr(row, f.name) for f in fields(Attachment)})


def visible(principal: Principal, row: Attachment | None) -> Attachment:
    """The attachment if the caller's region covers its village; 404 otherwise (as for a missing one)."""
    if row is None or not principal.can_see(row.village_code):
        raise NotFound("no such attachment", code="attachment_not_found")
    return row


class AttachmentStore:
    """Save, find and stream the attachments of one service schema."""

    def __init__(self, session: AsyncSession, attachment: Table, chunk: Table) -> None:
        self.session = session
        self.attachment = attachment
        self.chunk = chunk

    async def save(
        self,
        upload: Upload,
        *,
        county_code: str,
        village_code: str,
        owner_type: str,
        owner_id: uuid.UUID,
        created_by: str | None,
        accept: Iterable[str] = IMAGES,
    ) -> Attachment:
        """Store the spooled upload (in the caller's transaction; the caller commits)."""
        if upload.size <= 0:
            raise UnsupportedMediaType("the file is empty")
        kind = sniff(upload.head(SNIFF_BYTES))
        allowed = frozenset(accept)
        if kind is None or kind not in allowed:
            raise UnsupportedMediaType(
                "the file's content is not one of the accepted types",
                extra={"accepted": sorted(allowed)},
            )
        attachment_id = uuid.uuid4()
        await self.session.execute(
            self.attachment.insert().values(
                id=attachment_id,
                county_code=county_code,
                village_code=village_code,
                owner_type=owner_type,
                owner_id=owner_id,
                content_type=kind,
                size_bytes=upload.size,
                sha256=bytes.fromhex(upload.sha256),
                chunks=0,
                created_by=created_by,
            )
        )
        seq = 0
        for data in upload.chunks(CHUNK):
            await self.session.execute(
                self.chunk.insert().values(attachment_id=attachment_id, county_code=county_code, seq=seq, data=data)
            )
            seq += 1
        await self.session.execute(
            self.attachment.update().where(self.attachment.c.id == attachment_id).values(chunks=seq)
        )
        found = await self.get(attachment_id)
        assert found is not None
        return found

    async def get(self, attachment_id: uuid.UUID) -> Attachment | None:
        row = (
            await self.session.execute(select(self.attachment).where(self.attachment.c.id == attachment_id))
        ).one_or_none()
        return _of(row) if row is not None else None

    async def of_owner(self, owner_type: str, owner_id: uuid.UUID) -> list[Attachment]:
        query = (
            select(self.attachment)
            .where(self.attachment.c.owner_type == owner_type, self.attachment.c.owner_id == owner_id)
            .order_by(self.attachment.c.created_at, self.attachment.c.id)
        )
        return [_of(r) for r in await self.session.execute(query)]

    async def count_of(self, owner_type: str, owner_id: uuid.UUID) -> int:
        query = select(func.count()).where(
            self.attachment.c.owner_type == owner_type, self.attachment.c.owner_id == owner_id
        )
        return int((await self.session.execute(query)).scalar_one())


async def stream(sessionmaker: async_sessionmaker[AsyncSession], chunk: Table, row: Attachment) -> AsyncIterator[bytes]:
    """The attachment's bytes, one chunk per query in a session of its own (the request's session
    may be gone by the time a streaming response is sent)."""
    async with sessionmaker() as session:
        for seq in range(row.chunks):
            data = (
                await session.execute(
                    select(chunk.c.data).where(
                        chunk.c.attachment_id == row.id, chunk.c.county_code == row.county_code, chunk.c.seq == seq
                    )
                )
            ).scalar_one()
            yield bytes(data)

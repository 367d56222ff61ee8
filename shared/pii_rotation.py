"""Re-encrypt stored personal data under the current PII key and algorithm (`fangpin rotate-pii-key`).

Each service lists its encrypted columns as `ENCRYPTED_COLUMNS` in its `db/tables.py` (the CLI,
`services/cli/database.py`, collects them: the kernel imports no service); a column
with a blind index names it (`index_column`). Two passes per column:

1. Ciphertext. Rows whose first five bytes (version byte = algorithm, key id) are not the current
   ones are re-encrypted in batches, each batch its own short transaction (`FOR UPDATE SKIP
   LOCKED`), so this pass can run beside live traffic and again after an interruption. Their
   blind index is recomputed in the same update.
2. Blind index. The index carries no algorithm marker, so a change of the index key or index
   algorithm alone is found by recomputing the index of the last rows (by key) and comparing;
   if any differs (or `reindex=True`), every row is visited in key order and its index rewritten
   where it differs. A change of index is an offline step (docs/operations.md): while old and
   new indexes are mixed, a lookup under the new one does not find a row still under the old.

Re-running after a completed rotation changes nothing and reports zeros.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.pii import PiiCipher

_SAMPLE = 20


@dataclass(frozen=True)
class EncryptedColumn:
    schema: str
    table: str
    key_column: str
    column: str
    purpose: str
    index_column: str | None = None  # the keyed blind index computed from this column's plaintext

    @property
    def qualified(self) -> str:
        return f'"{self.schema}"."{self.table}"'

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.table}.{self.column}"

    @property
    def index_label(self) -> str:
        return f"{self.schema}.{self.table}.{self.index_column}"


class RotationError(RuntimeError):
    """A stored value this configuration cannot read (its key is not in FANGPIN_PII_OLD_KEYS)."""


def _plain(cipher: PiiCipher, col: EncryptedColumn, key: Any, blob: bytes) -> str:
    try:
        return cipher.decrypt(bytes(blob), purpose=col.purpose)
    except Exception as exc:  # a missing key or a damaged row: name it, do not half-rotate silently
        raise RotationError(
            f"{col.label} row {key!r}: {exc}; add its key to FANGPIN_PII_OLD_KEYS and run again"
        ) from exc


async def _re_encrypt(
    engine: AsyncEngine,
    cipher: PiiCipher,
    col: EncryptedColumn,
    batch_size: int,
    progress: Callable[[EncryptedColumn, int], None] | None,
) -> tuple[int, int]:
    index = f', "{col.index_column}" AS i' if col.index_column else ""
    select_stale = text(
        f'SELECT "{col.key_column}" AS k, "{col.column}" AS v{index} FROM {col.qualified} '
        f'WHERE "{col.column}" IS NOT NULL AND substring("{col.column}" FROM 1 FOR 5) <> :head '
        f"LIMIT :n FOR UPDATE SKIP LOCKED"
    )
    set_index = f', "{col.index_column}" = :i' if col.index_column else ""
    update = text(f'UPDATE {col.qualified} SET "{col.column}" = :v{set_index} WHERE "{col.key_column}" = :k')
    count = reindexed = 0
    while True:
        async with engine.begin() as conn:
            rows = (await conn.execute(select_stale, {"head": cipher.current_head, "n": batch_size})).all()
            if not rows:
                break
            fresh = []
            for row in rows:
                plain = _plain(cipher, col, row.k, row.v)
                values = {"k": row.k, "v": cipher.encrypt(plain, purpose=col.purpose)}
                if col.index_column:
                    values["i"] = cipher.blind_index(plain, purpose=col.purpose)
                    reindexed += row.i is None or bytes(row.i) != values["i"]
                fresh.append(values)
            await conn.execute(update, fresh)
        count += len(rows)
        if progress is not None:
            progress(col, count)
    return count, reindexed


async def _index_is_stale(conn: AsyncConnection, cipher: PiiCipher, col: EncryptedColumn) -> bool:
    rows = (
        await conn.execute(
            text(
                f'SELECT "{col.key_column}" AS k, "{col.column}" AS v, "{col.index_column}" AS i '
                f'FROM {col.qualified} WHERE "{col.column}" IS NOT NULL '
                f'ORDER BY "{col.key_column}" DESC LIMIT {_SAMPLE}'
            )
        )
    ).all()
    return any(
        row.i is None or bytes(row.i) != cipher.blind_index(_plain(cipher, col, row.k, row.v), purpose=col.purpose)
        for row in rows
    )


async def _reindex(
    engine: AsyncEngine,
    cipher: PiiCipher,
    col: EncryptedColumn,
    batch_size: int,
    progress: Callable[[EncryptedColumn, int], None] | None,
) -> int:
    columns = f'"{col.key_column}" AS k, "{col.column}" AS v, "{col.index_column}" AS i'
    where = f'"{col.column}" IS NOT NULL'
    first = text(f'SELECT {columns} FROM {col.qualified} WHERE {where} ORDER BY "{col.key_column}" LIMIT :n FOR UPDATE')
    after = text(
        f'SELECT {columns} FROM {col.qualified} WHERE {where} AND "{col.key_column}" > :after '
        f'ORDER BY "{col.key_column}" LIMIT :n FOR UPDATE'
    )
    update = text(f'UPDATE {col.qualified} SET "{col.index_column}" = :i WHERE "{col.key_column}" = :k')
    last: Any = None
    changed = 0
    while True:
        async with engine.begin() as conn:
            if last is None:
                rows = (await conn.execute(first, {"n": batch_size})).all()
            else:
                rows = (await conn.execute(after, {"after": last, "n": batch_size})).all()
            if not rows:
                break
            fresh = []
            for row in rows:
                index = cipher.blind_index(_plain(cipher, col, row.k, row.v), purpose=col.purpose)
                if row.i is None or bytes(row.i) != index:
                    fresh.append({"k": row.k, "i": index})
            if fresh:
                await conn.execute(update, fresh)
        changed += len(fresh)
        last = rows[-1].k
        if progress is not None and fresh:
            progress(col, changed)
    return changed


async def rotate(
    engine: AsyncEngine,
    cipher: PiiCipher,
    columns: Iterable[EncryptedColumn],
    *,
    batch_size: int = 500,
    reindex: bool | None = None,
    progress: Callable[[EncryptedColumn, int], None] | None = None,
) -> dict[str, int]:
    """Rows re-encrypted per column and, for indexed columns, blind indexes rewritten.

    `reindex=None` recomputes the blind indexes when a sample shows they are stale; True always
    visits every row; False never does (the ciphertext pass still rewrites indexes of the rows it
    re-encrypts).
    """
    done: dict[str, int] = {}
    for col in columns:
        count, reindexed = await _re_encrypt(engine, cipher, col, batch_size, progress)
        done[col.label] = count
        if col.index_column is None:
            continue
        if reindex is None:
            async with engine.connect() as conn:
                needed = await _index_is_stale(conn, cipher, col)
        else:
            needed = reindex
        if needed:
            reindexed += await _reindex(engine, cipher, col, batch_size, progress)
        done[col.index_label] = reindexed
    return done

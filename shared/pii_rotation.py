"""Re-encrypt stored personal data under the current PII key (`fangpin rotate-pii-key`).

Each service lists its encrypted columns as `ENCRYPTED_COLUMNS` in its `db/tables.py`. Rows
whose ciphertext names another key id are re-encrypted in batches, each batch its own short
transaction (`FOR UPDATE SKIP LOCKED`), so the command can run beside live traffic and be run
again after an interruption. Blind indexes do not change: they use the separate index key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.pii import PiiCipher


@dataclass(frozen=True)
class EncryptedColumn:
    schema: str
    table: str
    key_column: str
    column: str
    purpose: str

    @property
    def qualified(self) -> str:
        return f'"{self.schema}"."{self.table}"'


async def rotate(
    engine: AsyncEngine,
    cipher: PiiCipher,
    columns: Iterable[EncryptedColumn],
    *,
    batch_size: int = 500,
    progress: Callable[[EncryptedColumn, int], None] | None = None,
) -> dict[str, int]:
    done: dict[str, int] = {}
    for col in columns:
        count = 0
        select_stale = text(
            f'SELECT "{col.key_column}" AS k, "{col.column}" AS v FROM {col.qualified} '
            f'WHERE "{col.column}" IS NOT NULL AND substring("{col.column}" FROM 2 FOR 4) <> :kid '
            f"LIMIT :n FOR UPDATE SKIP LOCKED"
        )
        update = text(f'UPDATE {col.qualified} SET "{col.column}" = :v WHERE "{col.key_column}" = :k')
        while True:
            async with engine.begin() as conn:
                rows = (await conn.execute(select_stale, {"kid": cipher.current_key_id, "n": batch_size})).all()
                if not rows:
                    break
                fresh = [
                    {"k": row.k, "v": cipher.encrypt(cipher.decrypt(row.v, purpose=col.purpose), purpose=col.purpose)}
                    for row in rows
                ]
                await conn.execute(update, fresh)
            count += len(rows)
            if progress is not None:
                progress(col, count)
        done[f"{col.schema}.{col.table}.{col.column}"] = count
    return done


def service_columns() -> list[EncryptedColumn]:
    """Every service's declared encrypted columns."""
    columns: list[EncryptedColumn] = []
    for service in ("registry", "screening", "claims"):
        module = __import__(f"services.{service}.db.tables", fromlist=["ENCRYPTED_COLUMNS"])
        columns += list(getattr(module, "ENCRYPTED_COLUMNS", []))
    return columns

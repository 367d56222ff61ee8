"""Tables of schema `claims`."""

from shared.db import make_metadata
from shared.kernel_tables import idempotency_table, outbox_table

metadata = make_metadata("claims")

outbox = outbox_table(metadata)
idempotency = idempotency_table(metadata)

"""Tables of schema `screening`."""

from shared.db import make_metadata
from shared.kernel_tables import idempotency_table, outbox_table

metadata = make_metadata("screening")

outbox = outbox_table(metadata)
idempotency = idempotency_table(metadata)

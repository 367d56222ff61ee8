"""The personal-data cipher the apps under test use, for tests that build their own.

`make_settings` leaves `pii_algorithm` to the environment, so `FANGPIN_PII_ALGORITHM=sm4`
(`make test-sm4`) switches every app and service process to SM4-GCM / HMAC-SM3; a test that
computes a blind index or seeds encrypted rows itself must follow, or its digests would not
match the apps'.
"""

from __future__ import annotations

from shared.pii import PiiCipher
from shared.settings import ServiceSettings
from tests.support.tokens import PII_INDEX_KEY, PII_KEY


def suite_cipher() -> PiiCipher:
    cipher = ServiceSettings(pii_key=PII_KEY, pii_index_key=PII_INDEX_KEY).pii_cipher()
    assert cipher is not None
    return cipher

from __future__ import annotations

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag

from shared.pii import PiiCipher, generate_key, mask_bank_account, mask_name, mask_national_id, mask_phone
from tests.support.tokens import PII_INDEX_KEY, PII_KEY

ID = "410602199001011234"


def test_round_trip_and_fresh_nonce() -> None:
    cipher = PiiCipher(PII_KEY, PII_INDEX_KEY)
    first = cipher.encrypt(ID, purpose="national_id")
    second = cipher.encrypt(ID, purpose="national_id")
    assert first != second  # a fresh nonce every time: equal IDs do not look equal at rest
    assert ID.encode() not in first
    assert cipher.decrypt(first, purpose="national_id") == ID
    assert cipher.decrypt(second, purpose="national_id") == ID


def test_purpose_is_bound() -> None:
    cipher = PiiCipher(PII_KEY, PII_INDEX_KEY)
    blob = cipher.encrypt(ID, purpose="national_id")
    with pytest.raises(InvalidTag):
        cipher.decrypt(blob, purpose="bank_account")


def test_tampering_is_detected() -> None:
    cipher = PiiCipher(PII_KEY, PII_INDEX_KEY)
    blob = bytearray(cipher.encrypt(ID, purpose="national_id"))
    blob[-1] ^= 1
    with pytest.raises(InvalidTag):
        cipher.decrypt(bytes(blob), purpose="national_id")


def test_blind_index_is_stable_across_restarts_and_normalises() -> None:
    one = PiiCipher(PII_KEY, PII_INDEX_KEY).blind_index(ID, purpose="national_id")
    two = PiiCipher(PII_KEY, PII_INDEX_KEY).blind_index(" 410602199001011234 ", purpose="national_id")
    assert one == two
    assert len(one) == 32
    x_lower = PiiCipher(PII_KEY, PII_INDEX_KEY).blind_index("41060219900101123x", purpose="national_id")
    x_upper = PiiCipher(PII_KEY, PII_INDEX_KEY).blind_index("41060219900101123X", purpose="national_id")
    assert x_lower == x_upper
    other_key = PiiCipher(PII_KEY, generate_key()).blind_index(ID, purpose="national_id")
    assert other_key != one
    assert PiiCipher(PII_KEY, PII_INDEX_KEY).blind_index(ID, purpose="bank_account") != one


def test_rotation_reads_old_and_writes_new() -> None:
    old_key = PII_KEY
    new_key = base64.b64encode(os.urandom(32)).decode()
    old = PiiCipher(old_key, PII_INDEX_KEY)
    blob = old.encrypt(ID, purpose="national_id")
    rotated = PiiCipher(new_key, PII_INDEX_KEY, [old_key])
    assert rotated.decrypt(blob, purpose="national_id") == ID
    assert rotated.needs_rotation(blob)
    fresh = rotated.encrypt(ID, purpose="national_id")
    assert not rotated.needs_rotation(fresh)
    with pytest.raises(ValueError, match="key"):
        PiiCipher(new_key, PII_INDEX_KEY).decrypt(blob, purpose="national_id")


def test_bad_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        PiiCipher(base64.b64encode(b"short").decode(), PII_INDEX_KEY)


@pytest.mark.parametrize(
    ("fn", "value", "masked"),
    [
        (mask_national_id, "410602199001011234", "410602********1234"),
        (mask_national_id, "41060219900101123X", "410602********123X"),
        (mask_bank_account, "6222021234567890123", "***************0123"),
        (mask_phone, "13812345678", "138****5678"),
        (mask_name, "张三丰", "张**"),
        (mask_name, "李四", "李*"),
        (mask_national_id, None, None),
    ],
)
def test_masking(fn, value, masked) -> None:  # type: ignore[no-untyped-def]
    assert fn(value) == masked


def test_batch_encryption_and_blind_indexes_match_the_single_ones() -> None:
    cipher = PiiCipher(generate_key(), generate_key())
    values = ["410602199001011234", "41060219900101123x", " 410602200012310021 ", "６２２２"]
    assert cipher.blind_index_many(values, purpose="national_id") == [
        cipher.blind_index(v, purpose="national_id") for v in values
    ]
    sealed = cipher.encrypt_many(values, purpose="national_id")
    assert [cipher.decrypt(b, purpose="national_id") for b in sealed] == values
    assert len({b[5:17] for b in sealed}) == len(values)  # a fresh nonce each
    assert cipher.encrypt_many([], purpose="x") == []
    assert cipher.blind_index_many([], purpose="x") == []

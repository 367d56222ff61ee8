from __future__ import annotations

import base64
import hashlib
import hmac
import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from shared import pii
from shared.pii import (
    SM4GCM,
    VERSION_AES_GCM,
    VERSION_SM4_GCM,
    PiiCipher,
    generate_key,
    mask_bank_account,
    mask_name,
    mask_national_id,
    mask_phone,
    sm4_key,
)
from tests.support.tokens import PII_INDEX_KEY, PII_KEY

ID = "410602199001011234"
SUITES = pytest.mark.parametrize("algorithm", ["aes", "sm4"])


@SUITES
def test_round_trip_and_fresh_nonce(algorithm: str) -> None:
    cipher = PiiCipher(PII_KEY, PII_INDEX_KEY, algorithm=algorithm)
    first = cipher.encrypt(ID, purpose="national_id")
    second = cipher.encrypt(ID, purpose="national_id")
    assert first != second  # a fresh nonce every time: equal IDs do not look equal at rest
    assert ID.encode() not in first
    assert cipher.decrypt(first, purpose="national_id") == ID
    assert cipher.decrypt(second, purpose="national_id") == ID


@SUITES
def test_purpose_is_bound(algorithm: str) -> None:
    cipher = PiiCipher(PII_KEY, PII_INDEX_KEY, algorithm=algorithm)
    blob = cipher.encrypt(ID, purpose="national_id")
    with pytest.raises(InvalidTag):
        cipher.decrypt(blob, purpose="bank_account")


@SUITES
def test_tampering_is_detected(algorithm: str) -> None:
    cipher = PiiCipher(PII_KEY, PII_INDEX_KEY, algorithm=algorithm)
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


@SUITES
def test_batch_encryption_and_blind_indexes_match_the_single_ones(algorithm: str) -> None:
    cipher = PiiCipher(generate_key(), generate_key(), algorithm=algorithm)
    values = ["410602199001011234", "41060219900101123x", " 410602200012310021 ", "６２２２"]
    assert cipher.blind_index_many(values, purpose="national_id") == [
        cipher.blind_index(v, purpose="national_id") for v in values
    ]
    sealed = cipher.encrypt_many(values, purpose="national_id")
    assert [cipher.decrypt(b, purpose="national_id") for b in sealed] == values
    assert len({b[5:17] for b in sealed}) == len(values)  # a fresh nonce each
    assert cipher.encrypt_many([], purpose="x") == []
    assert cipher.blind_index_many([], purpose="x") == []


# --- commercial cryptography (国密): SM4-GCM and HMAC-SM3 -------------------------------------


def test_sm4_gcm_matches_the_rfc_8998_vector() -> None:
    """RFC 8998 appendix A.1: proves the wheel's OpenSSL really does SM4-GCM, tag included."""
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plain = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    sealed = SM4GCM(key).encrypt(nonce, plain, aad)
    assert sealed[:-16].hex().upper() == (
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
    )
    assert sealed[-16:].hex().upper() == "83DE3541E4C2B58177E065A9BF7B62EC"
    assert SM4GCM(key).decrypt(nonce, sealed, aad) == plain
    with pytest.raises(InvalidTag):
        SM4GCM(key).decrypt(nonce, sealed, aad + b"x")
    with pytest.raises(InvalidTag):
        SM4GCM(key).decrypt(nonce, sealed[:10], aad)


def test_the_version_byte_names_the_algorithm_and_every_key_reads_both() -> None:
    aes = PiiCipher(PII_KEY, PII_INDEX_KEY)
    sm4 = PiiCipher(PII_KEY, PII_INDEX_KEY, algorithm="sm4")
    old, new = aes.encrypt(ID, purpose="national_id"), sm4.encrypt(ID, purpose="national_id")
    assert old[:1] == VERSION_AES_GCM == b"\x01"
    assert new[:1] == VERSION_SM4_GCM == b"\x02"
    assert sm4.current_head == new[:5]
    assert aes.current_head == old[:5]
    assert old[1:5] != new[1:5]  # the SM4 key is derived, not the AES key reused: its own id
    # during and after a migration either suite reads both versions
    assert sm4.decrypt(old, purpose="national_id") == ID
    assert aes.decrypt(new, purpose="national_id") == ID
    assert sm4.needs_rotation(old)
    assert not sm4.needs_rotation(new)
    assert aes.needs_rotation(new)
    assert not aes.needs_rotation(old)
    # the SM4 key is HKDF-SM3 of the configured material, and the AES-256 key is never used raw for SM4
    derived = sm4_key(base64.b64decode(PII_KEY))
    assert len(derived) == 16
    assert derived != base64.b64decode(PII_KEY)[:16]
    assert SM4GCM(derived).decrypt(new[5:17], new[17:], b"national_id") == ID.encode()
    with pytest.raises(ValueError, match="version"):
        sm4.decrypt(b"\x03" + new[1:], purpose="national_id")


def test_an_old_key_reads_under_either_algorithm() -> None:
    new_key = generate_key()
    written = PiiCipher(PII_KEY, PII_INDEX_KEY, algorithm="sm4").encrypt(ID, purpose="national_id")
    rotated = PiiCipher(new_key, PII_INDEX_KEY, [PII_KEY], algorithm="aes")
    assert rotated.decrypt(written, purpose="national_id") == ID
    assert rotated.needs_rotation(written)
    with pytest.raises(ValueError, match="key"):
        PiiCipher(new_key, PII_INDEX_KEY, algorithm="sm4").decrypt(written, purpose="national_id")


def test_blind_index_algorithm_follows_the_suite_unless_set() -> None:
    key = base64.b64decode(PII_INDEX_KEY)
    message = f"national_id:{ID}".encode()
    expected_sm3 = crypto_hmac.HMAC(key, hashes.SM3())
    expected_sm3.update(message)
    sm3 = expected_sm3.finalize()
    sha = hmac.new(key, message, hashlib.sha256).digest()

    sm4 = PiiCipher(PII_KEY, PII_INDEX_KEY, algorithm="sm4")
    assert sm4.index_algorithm == "hmac-sm3"
    assert sm4.blind_index(ID, purpose="national_id") == sm3
    assert PiiCipher(PII_KEY, PII_INDEX_KEY).blind_index(ID, purpose="national_id") == sha
    split = PiiCipher(PII_KEY, PII_INDEX_KEY, algorithm="sm4", index_algorithm="hmac-sha256")
    assert split.blind_index(ID, purpose="national_id") == sha
    assert sm3 != sha
    assert len(sm3) == 32


def test_hmac_sm3_without_sm3_in_hashlib_gives_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    values = [ID, " 41060219900101123x "]
    native = PiiCipher(PII_KEY, PII_INDEX_KEY, algorithm="sm4")
    monkeypatch.setattr(pii.hashlib, "algorithms_available", set())
    fallback = PiiCipher(PII_KEY, PII_INDEX_KEY, algorithm="sm4")
    assert fallback.blind_index_many(values, purpose="national_id") == native.blind_index_many(
        values, purpose="national_id"
    )
    assert [fallback.blind_index(v, purpose="national_id") for v in values] == native.blind_index_many(
        values, purpose="national_id"
    )


def test_unknown_algorithms_are_refused() -> None:
    with pytest.raises(ValueError, match="PII algorithm"):
        PiiCipher(PII_KEY, PII_INDEX_KEY, algorithm="des")
    with pytest.raises(ValueError, match="blind-index"):
        PiiCipher(PII_KEY, PII_INDEX_KEY, index_algorithm="md5")


def test_settings_choose_the_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from shared.settings import ServiceSettings

    monkeypatch.setenv("FANGPIN_PII_ALGORITHM", "SM4")
    monkeypatch.delenv("FANGPIN_PII_INDEX_ALGORITHM", raising=False)
    cipher = ServiceSettings(pii_key=PII_KEY, pii_index_key=PII_INDEX_KEY).pii_cipher()
    assert cipher is not None
    assert (cipher.algorithm, cipher.index_algorithm) == ("sm4", "hmac-sm3")
    assert cipher.encrypt(ID, purpose="national_id")[:1] == VERSION_SM4_GCM
    monkeypatch.setenv("FANGPIN_PII_INDEX_ALGORITHM", "hmac-sha256")
    cipher = ServiceSettings(pii_key=PII_KEY, pii_index_key=PII_INDEX_KEY).pii_cipher()
    assert cipher is not None
    assert cipher.index_algorithm == "hmac-sha256"
    monkeypatch.setenv("FANGPIN_PII_ALGORITHM", "")
    monkeypatch.delenv("FANGPIN_PII_INDEX_ALGORITHM")
    cipher = ServiceSettings(pii_key=PII_KEY, pii_index_key=PII_INDEX_KEY).pii_cipher()
    assert cipher is not None
    assert (cipher.algorithm, cipher.index_algorithm) == ("aes", "hmac-sha256")
    monkeypatch.setenv("FANGPIN_PII_ALGORITHM", "des")
    with pytest.raises(ValidationError, match="pii_algorithm"):
        ServiceSettings()

"""Personal data at rest (PIPL): AES-GCM encryption, HMAC blind index, masking.

Ciphertext layout: version byte 0x01 | 4-byte key id | 12-byte nonce | AES-GCM ciphertext+tag.
The key id lets old rows be read after a key rotation while new writes use the current key.
The field's purpose (`national_id`, `bank_account`) is bound as associated data, so a value
copied from one column into another does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"


def generate_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _decode_key(value: str) -> bytes:
    raw = base64.b64decode(value.strip(), validate=True)
    if len(raw) != 32:
        raise ValueError("PII keys must be 32 bytes, base64-encoded")
    return raw


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"fangpin-key-id" + key).digest()[:4]


def normalize(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().upper().replace(" ", "")


class PiiCipher:
    def __init__(self, key: str, index_key: str, old_keys: list[str] | None = None) -> None:
        current = _decode_key(key)
        self._current_id = _key_id(current)
        self._keys = {self._current_id: AESGCM(current)}
        for old in old_keys or []:
            raw = _decode_key(old)
            self._keys.setdefault(_key_id(raw), AESGCM(raw))
        self._index_key = _decode_key(index_key)

    def encrypt(self, plaintext: str, *, purpose: str) -> bytes:
        nonce = os.urandom(12)
        sealed = self._keys[self._current_id].encrypt(nonce, plaintext.encode(), purpose.encode())
        return _VERSION + self._current_id + nonce + sealed

    def decrypt(self, blob: bytes, *, purpose: str) -> str:
        if not blob or blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        key = self._keys.get(bytes(blob[1:5]))
        if key is None:
            raise ValueError("ciphertext was written with a key this service does not hold")
        return key.decrypt(bytes(blob[5:17]), bytes(blob[17:]), purpose.encode()).decode()

    @property
    def current_key_id(self) -> bytes:
        return self._current_id

    def needs_rotation(self, blob: bytes) -> bool:
        return bytes(blob[1:5]) != self._current_id

    def blind_index(self, value: str, *, purpose: str) -> bytes:
        """Deterministic keyed digest for exact-match lookup; stable across restarts and key rotations."""
        return hmac.new(self._index_key, f"{purpose}:{normalize(value)}".encode(), hashlib.sha256).digest()

    def encrypt_many(self, plaintexts: Sequence[str], *, purpose: str) -> list[bytes]:
        """`encrypt` for a batch (bulk imports): one draw of random nonces, one key lookup."""
        aead = self._keys[self._current_id]
        head = _VERSION + self._current_id
        associated = purpose.encode()
        nonces = os.urandom(12 * len(plaintexts))
        seal = aead.encrypt
        out = []
        for i, plaintext in enumerate(plaintexts):
            nonce = nonces[12 * i : 12 * i + 12]
            out.append(head + nonce + seal(nonce, plaintext.encode(), associated))
        return out

    def blind_index_many(self, values: Sequence[str], *, purpose: str) -> list[bytes]:
        """`blind_index` for a batch: the keyed hash state after the purpose prefix is computed once."""
        prefixed = hmac.new(self._index_key, f"{purpose}:".encode(), hashlib.sha256)
        out = []
        for value in values:
            digest = prefixed.copy()
            digest.update(normalize(value).encode())
            out.append(digest.digest())
        return out


def mask_national_id(value: str | None) -> str | None:
    """`410602199001011234` → `410602********1234`."""
    if not value:
        return value
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_bank_account(value: str | None) -> str | None:
    """Keep the last four digits: `6222021234567890123` → `***************0123`."""
    if not value:
        return value
    return "*" * max(len(value) - 4, 0) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    """`13812345678` → `138****5678`."""
    if not value:
        return value
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str | None:
    """Public-notice form: keep the surname, `张三丰` → `张**`, `李四` → `李*`."""
    if not value:
        return value
    return value[0] + "*" * (len(value) - 1)

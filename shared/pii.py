"""Personal data at rest (PIPL): authenticated encryption, keyed blind index, masking.

Two cipher suites, chosen by `FANGPIN_PII_ALGORITHM` (docs/operations.md, "Commercial cryptography"):

- `aes` (default): AES-256-GCM, blind index HMAC-SHA256;
- `sm4` (国密, GB/T 32907 / GB/T 32905): SM4-GCM, blind index HMAC-SM3.

The blind-index algorithm follows the suite unless `FANGPIN_PII_INDEX_ALGORITHM` overrides it
(a migration can move the cipher first, online, and the index later, offline).

Ciphertext layout: version byte | 4-byte key id | 12-byte nonce | ciphertext + 16-byte tag, where
the version byte names the algorithm: 0x01 = AES-256-GCM, 0x02 = SM4-GCM. Every configured key
(current and old) can read both versions, so rows written before a switch of algorithm or key
stay readable until `fangpin rotate-pii-key` has re-encrypted them.

Keys are always 32 random bytes, base64-encoded, for both suites: AES-256 uses them as they are;
the 128-bit SM4 key is derived from them with HKDF-SM3 (info `fangpin-pii-sm4-gcm`), so the same
secret format, generation and storage serve both and a key is never used raw by two algorithms.
The field's purpose (`national_id`, `bank_account`) is bound as associated data, so a value
copied from one column into another does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
from collections.abc import Callable, Sequence
from typing import Literal, Protocol, cast, get_args

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Masking moved to the shared vocabulary (pure, importable by domain code); re-exported here.
from shared.contracts.vocabulary import mask_bank_account as mask_bank_account
from shared.contracts.vocabulary import mask_household_number as mask_household_number
from shared.contracts.vocabulary import mask_name as mask_name
from shared.contracts.vocabulary import mask_national_id as mask_national_id
from shared.contracts.vocabulary import mask_phone as mask_phone

Algorithm = Literal["aes", "sm4"]
IndexAlgorithm = Literal["hmac-sha256", "hmac-sm3"]
ALGORITHMS: tuple[str, ...] = get_args(Algorithm)
INDEX_ALGORITHMS: tuple[str, ...] = get_args(IndexAlgorithm)
DEFAULT_INDEX_ALGORITHM: dict[str, IndexAlgorithm] = {"aes": "hmac-sha256", "sm4": "hmac-sm3"}

VERSION_AES_GCM = b"\x01"
VERSION_SM4_GCM = b"\x02"
_VERSION = {"aes": VERSION_AES_GCM, "sm4": VERSION_SM4_GCM}
_TAG = 16


def generate_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _decode_key(value: str) -> bytes:
    raw = base64.b64decode(value.strip(), validate=True)
    if len(raw) != 32:
        raise ValueError("PII keys must be 32 bytes, base64-encoded")
    return raw


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"fangpin-key-id" + key).digest()[:4]


def sm4_key(material: bytes) -> bytes:
    """The 128-bit SM4 key derived from 32 bytes of configured key material (HKDF-SM3)."""
    return HKDF(algorithm=hashes.SM3(), length=16, salt=None, info=b"fangpin-pii-sm4-gcm").derive(material)


def normalize(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().upper().replace(" ", "")


class _Aead(Protocol):
    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...
    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...


class SM4GCM:
    """SM4-GCM with the AESGCM calling convention (`cryptography` has no SM4 AEAD class): ciphertext + tag."""

    def __init__(self, key: bytes) -> None:
        self._algorithm = algorithms.SM4(key)

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        encryptor = Cipher(self._algorithm, modes.GCM(nonce)).encryptor()
        if associated_data:
            encryptor.authenticate_additional_data(associated_data)
        sealed = encryptor.update(data) + encryptor.finalize()
        return sealed + encryptor.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        if len(data) < _TAG:
            raise InvalidTag()
        decryptor = Cipher(self._algorithm, modes.GCM(nonce, data[-_TAG:])).decryptor()
        if associated_data:
            decryptor.authenticate_additional_data(associated_data)
        return decryptor.update(data[:-_TAG]) + decryptor.finalize()


class _Mac(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def copy(self) -> _Mac: ...
    def digest(self) -> bytes: ...


class _CryptographyMac:
    """HMAC-SM3 through `cryptography` when the interpreter's hashlib has no SM3."""

    def __init__(self, mac: crypto_hmac.HMAC) -> None:
        self._mac = mac

    def update(self, data: bytes, /) -> None:
        self._mac.update(data)

    def copy(self) -> _CryptographyMac:
        return _CryptographyMac(self._mac.copy())

    def digest(self) -> bytes:
        return self._mac.finalize()


def _mac_factory(algorithm: IndexAlgorithm, key: bytes) -> Callable[[bytes], _Mac]:
    if algorithm == "hmac-sha256":
        return lambda prefix: hmac.new(key, prefix, hashlib.sha256)
    if algorithm != "hmac-sm3":
        raise ValueError(f"unknown blind-index algorithm {algorithm!r}; one of {', '.join(INDEX_ALGORITHMS)}")
    if "sm3" in hashlib.algorithms_available:  # the interpreter's OpenSSL: faster, same bytes
        try:
            hmac.new(key, b"", "sm3")
            return lambda prefix: hmac.new(key, prefix, "sm3")
        except ValueError:  # pragma: no cover - listed but disabled by the OpenSSL policy
            pass

    def cryptography_mac(prefix: bytes) -> _Mac:
        mac = crypto_hmac.HMAC(key, hashes.SM3())
        mac.update(prefix)
        return _CryptographyMac(mac)

    return cryptography_mac


class PiiCipher:
    def __init__(
        self,
        key: str,
        index_key: str,
        old_keys: list[str] | None = None,
        *,
        algorithm: str = "aes",
        index_algorithm: str | None = None,
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unknown PII algorithm {algorithm!r}; one of {', '.join(ALGORITHMS)}")
        index_algorithm = index_algorithm or DEFAULT_INDEX_ALGORITHM[algorithm]
        if index_algorithm not in INDEX_ALGORITHMS:
            raise ValueError(f"unknown blind-index algorithm {index_algorithm!r}; one of {', '.join(INDEX_ALGORITHMS)}")
        self.algorithm = cast(Algorithm, algorithm)
        self.index_algorithm = cast(IndexAlgorithm, index_algorithm)
        self._keys: dict[bytes, _Aead] = {}  # version byte + key id -> cipher
        current = self._register(_decode_key(key))
        self._current_head = current[self.algorithm]
        for old in old_keys or []:
            self._register(_decode_key(old))
        self._index_key = _decode_key(index_key)
        self._new_mac = _mac_factory(self.index_algorithm, self._index_key)

    def _register(self, material: bytes) -> dict[str, bytes]:
        """Readers for both versions under this key material; returns the head each writes."""
        sm4 = sm4_key(material)
        heads = {"aes": VERSION_AES_GCM + _key_id(material), "sm4": VERSION_SM4_GCM + _key_id(sm4)}
        self._keys.setdefault(heads["aes"], AESGCM(material))
        self._keys.setdefault(heads["sm4"], SM4GCM(sm4))
        return heads

    @property
    def current_head(self) -> bytes:
        """Version byte and key id every new ciphertext starts with."""
        return self._current_head

    @property
    def current_key_id(self) -> bytes:
        return self._current_head[1:5]

    def needs_rotation(self, blob: bytes) -> bool:
        return bytes(blob[:5]) != self._current_head

    def encrypt(self, plaintext: str, *, purpose: str) -> bytes:
        nonce = os.urandom(12)
        sealed = self._keys[self._current_head].encrypt(nonce, plaintext.encode(), purpose.encode())
        return self._current_head + nonce + sealed

    def decrypt(self, blob: bytes, *, purpose: str) -> str:
        if not blob or bytes(blob[:1]) not in (VERSION_AES_GCM, VERSION_SM4_GCM):
            raise ValueError("unknown ciphertext version")
        key = self._keys.get(bytes(blob[:5]))
        if key is None:
            raise ValueError("ciphertext was written with a key this service does not hold")
        return key.decrypt(bytes(blob[5:17]), bytes(blob[17:]), purpose.encode()).decode()

    def blind_index(self, value: str, *, purpose: str) -> bytes:
        """Deterministic keyed digest for exact-match lookup; stable across restarts and cipher-key rotations.

        It changes with the index key or the index algorithm: then `rotate-pii-key` recomputes it.
        """
        mac = self._new_mac(f"{purpose}:{normalize(value)}".encode())
        return mac.digest()

    def encrypt_many(self, plaintexts: Sequence[str], *, purpose: str) -> list[bytes]:
        """`encrypt` for a batch (bulk imports): one draw of random nonces, one key lookup."""
        aead = self._keys[self._current_head]
        head = self._current_head
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
        prefixed = self._new_mac(f"{purpose}:".encode())
        out = []
        for value in values:
            digest = prefixed.copy()
            digest.update(normalize(value).encode())
            out.append(digest.digest())
        return out

"""Ed25519 keys, key ids, event signatures, and private keys sealed at rest.

Formats (DESIGN.md "Interfaces"):
- key id: lowercase hex of the first 8 bytes of SHA-256 over the raw 32-byte public key;
- event signature: Ed25519 over b"farmtrace/event/v1\\n" + the 32 raw hash bytes, base64 (padded).
Private keys are sealed with AES-256-GCM under a key-encryption key derived (HKDF-SHA256) from
the instance secret; the key id and org are the associated data, so a sealed blob moved to
another key or org does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from farmtrace.ledger.errors import KeyStateError

EVENT_CONTEXT = b"farmtrace/event/v1\n"
_RAW = serialization.Encoding.Raw


def public_bytes(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(_RAW, serialization.PublicFormat.Raw)


def key_id(public_raw: bytes) -> str:
    """Key id: hex of the first 8 bytes of SHA-256 over the raw public key."""
    return hashlib.sha256(public_raw).digest()[:8].hex()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, *, length: int | None = None) -> bytes:
    """Strict standard base64 (padded); raise ValueError on anything else."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError) as err:
        raise ValueError("not valid base64") from err
    if base64.b64encode(data).decode("ascii") != text:
        raise ValueError("not canonical base64 (stray bits or padding)")
    if length is not None and len(data) != length:
        raise ValueError(f"expected {length} bytes, got {len(data)}")
    return data


def event_message(hash_hex: str) -> bytes:
    return EVENT_CONTEXT + bytes.fromhex(hash_hex)


def sign_event_hash(private: Ed25519PrivateKey, hash_hex: str) -> str:
    """Sign an event hash; returns the base64 signature."""
    return b64(private.sign(event_message(hash_hex)))


def verify_event_signature(public_raw: bytes, hash_hex: str, signature_b64: str) -> bool:
    """True when `signature_b64` is a valid signature of the event hash by `public_raw`."""
    try:
        sig = unb64(signature_b64, length=64)
        Ed25519PublicKey.from_public_bytes(public_raw).verify(sig, event_message(hash_hex))
    except (ValueError, InvalidSignature):
        return False
    return True


class KeySealer:
    """Seals and unseals Ed25519 private keys with AES-256-GCM under the instance's KEK."""

    def __init__(self, instance_secret: str) -> None:
        self._kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"farmtrace/kek/salt/v1",
                         info=b"farmtrace/kek/v1").derive(instance_secret.encode("utf-8"))

    @staticmethod
    def _aad(kid: str, org: str | None) -> bytes:
        return f"farmtrace/sealed-key/v1\n{kid}\n{org or ''}".encode()

    def seal(self, private: Ed25519PrivateKey, kid: str, org: str | None) -> bytes:
        raw = private.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        nonce = os.urandom(12)
        return nonce + AESGCM(self._kek).encrypt(nonce, raw, self._aad(kid, org))

    def unseal(self, blob: bytes, kid: str, org: str | None) -> Ed25519PrivateKey:
        try:
            raw = AESGCM(self._kek).decrypt(blob[:12], blob[12:], self._aad(kid, org))
        except InvalidTag as err:
            raise KeyStateError(f"the private key {kid} does not unseal (wrong instance secret or moved blob)") from err
        return Ed25519PrivateKey.from_private_bytes(raw)

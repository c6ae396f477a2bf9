"""C2SP signed notes (c2sp.org/signed-note) and tlog checkpoints (c2sp.org/tlog-checkpoint), Ed25519 only.

A signed note is UTF-8 text ending in a newline, a blank line, then one or more lines
``— <key name> base64(key ID || signature)``. The key ID is the first four bytes of
SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key); a verifier key is written
``<name>+<key ID in 8 hex digits>+base64(0x01 || public key)``.

Rules `open_note` enforces:
- the note is valid UTF-8 with no ASCII control characters other than newline (so no CR, no tab);
- text and signatures are split at the last blank line; the text ends in a newline;
- every signature line is ``— name base64`` with a valid key name (non-empty, no Unicode spaces,
  no ``+``) and canonical standard base64 of at least 5 bytes; at most 100 signature lines;
- signatures whose (name, key ID) is not a known key are ignored; a signature from a known key
  that does not verify rejects the whole note; a note no known key has signed is rejected.

A checkpoint body is ``origin\\nsize\\nbase64(root)\\n`` plus optional non-empty extension lines;
`Checkpoint.from_body` accepts only a non-empty origin, a decimal size without leading zeros and
a 32-byte root in canonical base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Union

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from farmtrace.ledger.errors import CheckpointError

__all__ = [
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "Checkpoint",
    "Verifiers",
    "add_signature",
    "key_hash",
    "open_note",
    "parse_verifier_key",
    "sign_note",
    "verifier_key",
]

ALG_ED25519 = 0x01
MAX_SIGNATURES = 100
ROOT_SIZE = 32
MAX_TREE_SIZE = 2**64 - 1

_SIG_PREFIX = "\u2014 "  # em dash, space
_DECIMAL = re.compile(r"0|[1-9][0-9]*", re.ASCII)

Verifiers = Union[
    Mapping[str, Ed25519PublicKey],
    Mapping[tuple[str, bytes], Ed25519PublicKey],
    Iterable[str],
]
"""Trusted keys: name -> key, (name, key ID) -> key, or verifier key strings ``name+hash+key``."""


# ---- keys --------------------------------------------------------------------------------------


def _raw_public(public_key: bytes | Ed25519PublicKey) -> bytes:
    if isinstance(public_key, Ed25519PublicKey):
        return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    if len(public_key) != 32:
        raise CheckpointError(f"an Ed25519 public key has 32 bytes, got {len(public_key)}", field="public_key")
    return bytes(public_key)


def _is_valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(
        ch.isspace() or ord(ch) < 0x20 or unicodedata.category(ch) == "Zs" for ch in name)


def _require_name(name: str) -> None:
    if not _is_valid_name(name):
        raise CheckpointError(f"key name {name!r} must be non-empty, without spaces, '+' or control characters",
                              field="name")


def key_hash(name: str, public_key: bytes | Ed25519PublicKey) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4] (signed-note, Ed25519)."""
    _require_name(name)
    raw = _raw_public(public_key)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + raw).digest()[:4]


def verifier_key(name: str, public_key: bytes | Ed25519PublicKey) -> str:
    """The verifier key string ``name+hex8+base64(0x01 || public key)``."""
    raw = _raw_public(public_key)
    return f"{name}+{key_hash(name, raw).hex()}+{_b64(bytes([ALG_ED25519]) + raw)}"


def parse_verifier_key(text: str) -> tuple[str, bytes, bytes]:
    """Parse ``name+hex8+base64(0x01 || key)`` into (name, 4-byte key ID, 32-byte public key).

    Raises:
        CheckpointError: malformed, not Ed25519, or the key ID does not match name and key.
    """
    try:
        text.encode("utf-8")
    except (UnicodeEncodeError, AttributeError) as err:
        raise CheckpointError("a verifier key must be valid UTF-8 text", field="vkey") from err
    name, plus1, rest = text.partition("+")
    hash_hex, plus2, key_b64 = rest.partition("+")
    if not (plus1 and plus2):
        raise CheckpointError("a verifier key has the form name+hash+key", field="vkey")
    _require_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", hash_hex, re.ASCII):
        raise CheckpointError(f"verifier key hash {hash_hex!r} is not 8 lowercase hex digits", field="vkey")
    key = _unb64(key_b64)
    if key is None or len(key) != 33 or key[0] != ALG_ED25519:
        raise CheckpointError("verifier key is not base64 of 0x01 and a 32-byte Ed25519 public key", field="vkey")
    public = key[1:]
    if key_hash(name, public) != bytes.fromhex(hash_hex):
        raise CheckpointError(f"verifier key hash {hash_hex} does not match its name and key", field="vkey")
    return name, bytes.fromhex(hash_hex), public


def _known_keys(verifiers: Verifiers) -> dict[tuple[str, bytes], Ed25519PublicKey]:
    known: dict[tuple[str, bytes], Ed25519PublicKey] = {}
    if isinstance(verifiers, str):
        verifiers = [verifiers]
    if isinstance(verifiers, Mapping):
        for ref, public in verifiers.items():
            name, kid = ref if isinstance(ref, tuple) else (ref, key_hash(ref, public))
            if key_hash(name, public) != kid:
                raise CheckpointError(f"key ID {kid.hex()} given for {name!r} does not match its key", field="vkey")
            known[(name, kid)] = public
        return known
    for vkey in verifiers:
        name, kid, raw = parse_verifier_key(vkey)
        known[(name, kid)] = Ed25519PublicKey.from_public_bytes(raw)
    return known


# ---- notes -------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes | None:
    """Canonical standard base64 (padded, no stray bits), or None."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None
    return data if _b64(data) == text else None


def _decode_text(data: bytes, what: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CheckpointError(f"{what} is not valid UTF-8", field="note") from err
    for ch in text:
        if ord(ch) < 0x20 and ch != "\n":
            raise CheckpointError(f"{what} contains control character U+{ord(ch):04X}", field="note")
    return text


def _require_body(body: bytes) -> str:
    text = _decode_text(body, "note text")
    if not text.endswith("\n"):
        raise CheckpointError("note text must end in a newline", field="body")
    return text


def _split_note(note: bytes) -> tuple[bytes, list[tuple[str, str, bytes, bytes]]]:
    """Split a note into its text and (line, name, key ID, signature) per signature line."""
    text = _decode_text(note, "note")
    split = text.rfind("\n\n")
    if split < 0:
        raise CheckpointError("note has no blank line before its signatures", field="note")
    body, sig_block = text[:split + 1], text[split + 2:]
    if not sig_block.endswith("\n"):
        raise CheckpointError("note has no signature lines, or they do not end in a newline", field="signature")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"note has {len(lines)} signatures, more than {MAX_SIGNATURES}", field="signature")
    sigs = []
    for line in lines:
        if not line.startswith(_SIG_PREFIX):
            raise CheckpointError(f"signature line {line!r} does not start with an em dash and a space",
                                  field="signature")
        name, space, encoded = line[len(_SIG_PREFIX):].partition(" ")
        blob = _unb64(encoded)
        if not space or not _is_valid_name(name) or blob is None or len(blob) < 5:
            raise CheckpointError(f"signature line {line!r} is not '— name base64(key ID || signature)'",
                                  field="signature")
        sigs.append((line, name, blob[:4], blob[4:]))
    return body.encode("utf-8"), sigs


def _signature_line(body: bytes, name: str, private_key: Ed25519PrivateKey) -> str:
    kid = key_hash(name, private_key.public_key())
    return f"{_SIG_PREFIX}{name} {_b64(kid + private_key.sign(body))}\n"


def sign_note(body: bytes, name: str, private_key: Ed25519PrivateKey) -> bytes:
    """The signed note: `body`, a blank line, and ``— name base64(key ID || Ed25519 signature)``.

    Raises:
        CheckpointError: `body` is not UTF-8 text ending in a newline without control characters,
            or `name` is not a valid key name.
    """
    _require_body(body)
    return body + b"\n" + _signature_line(body, name, private_key).encode("utf-8")


def add_signature(note: bytes, name: str, private_key: Ed25519PrivateKey) -> bytes:
    """Cosign: append a signature by `private_key` to `note` (unchanged if that key already signed).

    The existing signatures are parsed but not verified.

    Raises:
        CheckpointError: the note is malformed or would exceed the signature limit.
    """
    body, sigs = _split_note(note)
    line = _signature_line(body, name, private_key)
    if line[:-1] in {existing for existing, _, _, _ in sigs}:
        return note
    if len(sigs) >= MAX_SIGNATURES:
        raise CheckpointError(f"note already has {MAX_SIGNATURES} signatures", field="signature")
    return note + line.encode("utf-8")


def open_note(note: bytes, verifiers: Verifiers) -> tuple[bytes, list[str]]:
    """Verify a signed note; return its text and the names of the known keys that signed it.

    Raises:
        CheckpointError: the note is malformed, a known key's signature fails, or no known key signed.
    """
    known = _known_keys(verifiers)
    body, sigs = _split_note(note)
    signers: list[str] = []
    for line, name, kid, signature in sigs:
        public = known.get((name, kid))
        if public is None:
            continue  # unknown key: ignored, as the spec requires
        try:
            public.verify(signature, body)
        except InvalidSignature as err:
            raise CheckpointError(f"signature by {name} ({kid.hex()}) does not verify", field="signature") from err
        if name not in signers:
            signers.append(name)
    if not signers:
        raise CheckpointError("no signature on the note is from a known key", field="signature")
    return body, signers


# ---- checkpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A tlog checkpoint: the log's origin, tree size and RFC 6962 root, plus optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for what, line in [("origin", self.origin), *(("extension", ext) for ext in self.extensions)]:
            if not line or any(ord(ch) < 0x20 for ch in line):
                raise CheckpointError(f"checkpoint {what} line {line!r} must be non-empty, with no control "
                                      "characters or newlines", field=what)
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"checkpoint size {self.size!r} is not a tree size", field="size")
        if len(self.root) != ROOT_SIZE:
            raise CheckpointError(f"checkpoint root has {len(self.root)} bytes, expected {ROOT_SIZE}", field="root")

    def body(self) -> bytes:
        """The note text: origin, size, base64 root, extension lines, each ending in a newline."""
        lines = [self.origin, str(self.size), _b64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines).encode("utf-8")

    @classmethod
    def from_body(cls, body: bytes) -> Checkpoint:
        """Parse a checkpoint note text strictly (tlog-checkpoint "Note text").

        Raises:
            CheckpointError: fewer than three lines, an empty line, a size that is not plain
                decimal without leading zeros, or a root that is not canonical base64 of 32 bytes.
        """
        text = _require_body(body)
        lines = text[:-1].split("\n")
        if len(lines) < 3 or not all(lines):
            raise CheckpointError("a checkpoint is at least three non-empty lines: origin, size, root", field="body")
        origin, size, root, *extensions = lines
        if not _DECIMAL.fullmatch(size) or int(size) > MAX_TREE_SIZE:
            raise CheckpointError(f"checkpoint size {size!r} is not a decimal tree size without leading zeros",
                                  field="size")
        digest = _unb64(root)
        if digest is None or len(digest) != ROOT_SIZE:
            raise CheckpointError(f"checkpoint root {root!r} is not base64 of a 32-byte hash", field="root")
        return cls(origin, int(size), digest, tuple(extensions))

    @classmethod
    def from_note(cls, note: bytes, verifiers: Verifiers) -> Checkpoint:
        """Verify a signed checkpoint note with the trusted `verifiers` and parse its body.

        Which trusted key signed is not checked against the origin: pass only the log's keys.
        """
        body, _ = open_note(note, verifiers)
        return cls.from_body(body)

    def to_note(self, name: str, private_key: Ed25519PrivateKey) -> bytes:
        """This checkpoint as a note signed by `private_key` under key `name` (usually the origin)."""
        return sign_note(self.body(), name, private_key)

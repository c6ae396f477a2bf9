"""An outside auditor of a farmtrace log, written from the public formats alone.

It imports nothing of farmtrace: only the standard library, `rfc8785` and `cryptography`. Given a
server's base URL it fetches the log's verifier key (`/log/key`) and latest signed checkpoint
(`/log/checkpoint`), pages every entry from `/api/v1/log/entries`, and replays the log as DESIGN.md
describes it:

- each entry's text is RFC 8785 canonical JSON and its hash is the SHA-256 of that text;
- key validity comes from the log's own key entries (`key_added`, `key_revoked`), and only from
  those the log key signed: any other key entry is reported as invalid and changes nothing;
- every other entry is signed (Ed25519 over `farmtrace/event/v1\\n` + the 32 raw hash bytes) by a
  key of its own org that is valid at the entry's position (after its key_added; before the
  key_added that replaced it or its key_revoked);
- each batch's chain links: a first event has no `prev`, every later one names its batch's head;
- the RFC 6962 Merkle root of the first `size` leaves equals the checkpoint's root, and the
  checkpoint (a C2SP signed note) is signed by the log key.

`audit(base_url)` returns an `Audit` listing each invalid entry with its reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.request
from dataclasses import dataclass, field

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EVENT_CONTEXT = b"farmtrace/event/v1\n"
KEY_ENTRIES = ("key_added", "key_revoked")


@dataclass
class Audit:
    entries: int = 0
    size: int = 0
    root_matches: bool = False
    checkpoint_signed: bool = False
    invalid: dict[int, str] = field(default_factory=dict)  # log index -> why
    keys: dict[str, dict] = field(default_factory=dict)    # key id -> {"org", "public", "from", "until"}

    @property
    def ok(self) -> bool:
        return not self.invalid and self.root_matches and self.checkpoint_signed


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (a test's own server)
        return response.read()


def _key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def _verifies(public: bytes, message: bytes, signature_b64: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(base64.b64decode(signature_b64, validate=True), message)
        return True
    except (InvalidSignature, ValueError):
        return False


def _merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 Merkle Tree Hash, written from the text (recursive split at the largest power of 2)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _merkle_root(leaves[:k]) + _merkle_root(leaves[k:])).digest()


def _open_checkpoint(note: str, vkey: str) -> tuple[int, bytes, bool]:
    """(size, root, signed by the vkey) of a C2SP tlog-checkpoint signed note."""
    name, key_hash, encoded = vkey.strip().split("+", 2)  # base64 may hold "+"
    blob = base64.b64decode(encoded)
    assert blob[0] == 0x01, "an Ed25519 verifier key starts with type byte 0x01"
    public = blob[1:]
    body, _, signatures = note.partition("\n\n")
    body += "\n"
    lines = body.split("\n")
    size, root = int(lines[1]), base64.b64decode(lines[2])
    signed = False
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            continue
        signer, _, sig = line[2:].rpartition(" ")
        raw = base64.b64decode(sig)
        if signer == name and raw[:4].hex() == key_hash and _verifies(public, body.encode(), base64.b64encode(raw[4:]).decode()):
            signed = True
    return size, root, signed


def audit(base_url: str, *, page: int = 1000) -> Audit:
    """Replay the whole log behind `base_url` with public data alone."""
    result = Audit()
    vkey = _get(f"{base_url}/log/key").decode().strip()
    note = _get(f"{base_url}/log/checkpoint").decode()
    cp_size, cp_root, result.checkpoint_signed = _open_checkpoint(note, vkey)
    log_public = base64.b64decode(vkey.split("+", 2)[2])[1:]
    log_kid = _key_id(log_public)
    keys: dict[str, dict] = {}
    heads: dict[str, str] = {}
    leaves: list[bytes] = []
    start = 0
    while True:
        doc = json.loads(_get(f"{base_url}/api/v1/log/entries?start={start}&end={start + page}"))
        rows = doc["entries"]
        for row in rows:
            index = row["index"]
            assert index == len(leaves), f"entries are gapless: expected {len(leaves)}, got {index}"
            text = row["canonical"].encode("utf-8")
            leaves.append(text)
            result.entries += 1

            def bad(why: str) -> None:
                result.invalid.setdefault(index, why)

            body = json.loads(text)
            if rfc8785.dumps(body) != text:
                bad("the text is not RFC 8785 canonical")
            digest = hashlib.sha256(text).digest()
            if digest.hex() != row["hash"]:
                bad("the hash is not the SHA-256 of the text")
            signed_by, kind, org = body["key"], body["type"], body["org"]
            message = EVENT_CONTEXT + digest
            if kind in KEY_ENTRIES:
                if signed_by != log_kid or not _verifies(log_public, message, row["signature"]):
                    bad(f"a {kind} entry not signed by the log key: ignored")
                    continue
                data = body["data"]
                if kind == "key_added":
                    public = base64.b64decode(data["public_key"])
                    if _key_id(public) != data["key_id"] or data["key_id"] in keys:
                        bad("a key_added whose key id is not its public key's, or added twice")
                        continue
                    keys[data["key_id"]] = {"org": org, "public": public, "from": index + 1, "until": None}
                    old = keys.get(data.get("replaces", ""))
                    if old is not None and old["until"] is None:
                        old["until"] = index
                else:
                    revoked = keys.get(data["key_id"])
                    if revoked is None:
                        bad("a key_revoked of a key the log never added")
                    elif revoked["until"] is None or revoked["until"] > index:
                        revoked["until"] = index
                continue
            key = keys.get(signed_by)
            if key is None or key["org"] != org:
                bad(f"signed by {signed_by}, which is not a key of {org}")
            elif not _verifies(key["public"], message, row["signature"]):
                bad("the signature does not verify")
            elif index < key["from"] or (key["until"] is not None and index >= key["until"]):
                bad(f"key {signed_by} was not valid at position {index}")
            batch = body.get("batch")
            if batch is not None:
                if "prev" not in body:
                    if batch in heads:
                        bad("a second start of a batch (fork)")
                elif heads.get(batch) != body["prev"]:
                    bad("prev is not the batch's chain head")
                heads[batch] = row["hash"]
        if len(rows) < page or not rows:
            break
        start += len(rows)
    result.size = len(leaves)
    result.keys = keys
    result.root_matches = cp_size <= len(leaves) and _merkle_root(leaves[:cp_size]) == cp_root
    return result

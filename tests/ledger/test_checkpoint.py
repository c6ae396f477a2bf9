import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.ledger.checkpoint import (Checkpoint, add_signature, key_hash, open_note, parse_verifier_key, sign_note,
                                       verifier_key)
from farmtrace.ledger.errors import CheckpointError

ORIGIN = "farmtrace.bazhong.local/log"
ROOT = hashlib.sha256(b"a root").digest()


def private_key(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest())


def raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


LOG_KEY, WITNESS_KEY, STRANGER_KEY = private_key("log"), private_key("witness"), private_key("stranger")
LOG_VKEY = verifier_key(ORIGIN, raw(LOG_KEY))
CHECKPOINT = Checkpoint(ORIGIN, 20852163, ROOT)
NOTE = CHECKPOINT.to_note(ORIGIN, LOG_KEY)


# ---- a signed-note verifier written from the C2SP signed-note text, on bytes ----
EM_DASH_SPACE = "\u2014 ".encode()  # "em dash (U+2014), space (U+0020)"


def spec_open(note: bytes, name: str, public: bytes) -> bytes | None:
    """The note text if a signature line by key (name, public) verifies it, else None."""
    try:
        note.decode("utf-8")  # "Signed notes MUST be valid UTF-8 ..."
    except UnicodeDecodeError:
        return None
    if any(b < 0x20 and b != 0x0A for b in note):  # "... no ASCII control characters other than newline"
        return None
    split = note.rfind(b"\n\n")  # "separated from the signatures by the last empty line"
    if split < 0:
        return None
    text, signatures = note[:split + 1], note[split + 2:]
    if not signatures.endswith(b"\n"):
        return None
    key_id = hashlib.sha256(name.encode() + b"\x0a" + b"\x01" + public).digest()[:4]
    verified = False
    for line in signatures[:-1].split(b"\n"):
        if not line.startswith(EM_DASH_SPACE):
            return None
        line_name, _, sig64 = line[len(EM_DASH_SPACE):].partition(b" ")
        blob = base64.b64decode(sig64, validate=True)
        if line_name == name.encode() and blob[:4] == key_id:
            try:
                Ed25519PublicKey.from_public_bytes(public).verify(blob[4:], text)
            except InvalidSignature:
                return None
            verified = True
    return text if verified else None


# ---- the C2SP examples ----
def test_the_c2sp_example_note_verifies_with_its_published_verifier_key(shared_dir: Path) -> None:
    folder = shared_dir / "vectors" / "signed-note"
    vkey = (folder / "c2sp-example.vkey").read_text().strip()
    body, signers = open_note((folder / "c2sp-example.note").read_bytes(), [vkey])
    assert body == b"This is an example message.\n"
    assert signers == ["example.com/foo"]


def test_the_c2sp_example_verifier_key_parses_and_is_rebuilt_exactly(shared_dir: Path) -> None:
    vkey = (shared_dir / "vectors" / "signed-note" / "c2sp-example.vkey").read_text().strip()
    name, kid, public = parse_verifier_key(vkey)
    assert (name, kid.hex(), len(public)) == ("example.com/foo", "530d903a", 32)
    assert key_hash(name, public) == kid
    assert verifier_key(name, public) == vkey
    assert verifier_key(name, Ed25519PublicKey.from_public_bytes(public)) == vkey


def test_the_c2sp_example_note_verifies_with_a_name_to_key_mapping(shared_dir: Path) -> None:
    folder = shared_dir / "vectors" / "signed-note"
    name, kid, public = parse_verifier_key((folder / "c2sp-example.vkey").read_text().strip())
    key = Ed25519PublicKey.from_public_bytes(public)
    note = (folder / "c2sp-example.note").read_bytes()
    assert open_note(note, {name: key})[1] == [name]
    assert open_note(note, {(name, kid): key})[1] == [name]


def test_the_c2sp_checkpoint_example_body_parses_and_prints_back(shared_dir: Path) -> None:
    note = (shared_dir / "vectors" / "signed-note" / "c2sp-checkpoint-example-unverifiable.note").read_bytes()
    body = note[:note.rindex(b"\n\n") + 1]
    checkpoint = Checkpoint.from_body(body)
    assert checkpoint == Checkpoint("example.com/behind-the-sofa", 20852163,
                                    base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="))
    assert checkpoint.body() == body


def test_the_c2sp_checkpoint_example_is_refused_by_a_key_that_did_not_sign_it(shared_dir: Path) -> None:
    note = (shared_dir / "vectors" / "signed-note" / "c2sp-checkpoint-example-unverifiable.note").read_bytes()
    with pytest.raises(CheckpointError, match="no signature on the note is from a known key"):
        Checkpoint.from_note(note, [verifier_key("example.com/behind-the-sofa", raw(STRANGER_KEY))])


# ---- our own notes ----
CHECKPOINTS = {
    "an empty log": Checkpoint(ORIGIN, 0, hashlib.sha256(b"").digest()),
    "a large log": Checkpoint(ORIGIN, 2**64 - 1, ROOT),
    "extension lines": Checkpoint(ORIGIN, 7, ROOT, ("ext one", "ext two")),
    "a non-ASCII origin with spaces": Checkpoint("巴中 log", 1, ROOT),
}


@pytest.mark.parametrize("checkpoint", list(CHECKPOINTS.values()), ids=list(CHECKPOINTS))
def test_a_checkpoint_round_trips_through_its_signed_note(checkpoint: Checkpoint) -> None:
    note = checkpoint.to_note(ORIGIN, LOG_KEY)
    assert Checkpoint.from_note(note, [LOG_VKEY]) == checkpoint
    assert Checkpoint.from_body(checkpoint.body()) == checkpoint


@pytest.mark.parametrize("checkpoint", list(CHECKPOINTS.values()), ids=list(CHECKPOINTS))
def test_the_spec_verifier_accepts_our_notes_byte_for_byte(checkpoint: Checkpoint) -> None:
    note = add_signature(checkpoint.to_note(ORIGIN, LOG_KEY), "witness.example/w1", WITNESS_KEY)
    assert spec_open(note, ORIGIN, raw(LOG_KEY)) == checkpoint.body()
    assert spec_open(note, "witness.example/w1", raw(WITNESS_KEY)) == checkpoint.body()
    assert spec_open(note, ORIGIN, raw(STRANGER_KEY)) is None


def test_a_signed_note_has_the_exact_c2sp_layout() -> None:
    body = "Ognuno sta solo sul cuor della terra\n\ned è subito sera.\n".encode()
    note = sign_note(body, "quasimodo.example/salvatore", LOG_KEY)
    text, _, line = note.rpartition(b"\n\n")
    assert text + b"\n" == body
    prefix = "\u2014 quasimodo.example/salvatore ".encode()
    assert line.startswith(prefix) and line.endswith(b"\n") and line.count(b"\n") == 1
    blob = base64.b64decode(line[len(prefix):-1], validate=True)
    assert blob[:4] == key_hash("quasimodo.example/salvatore", raw(LOG_KEY)) and len(blob) == 68
    verifiers = {"quasimodo.example/salvatore": LOG_KEY.public_key()}
    assert open_note(note, verifiers) == (body, ["quasimodo.example/salvatore"])


def test_cosigning_adds_one_line_and_is_idempotent() -> None:
    cosigned = add_signature(NOTE, "witness.example/w1", WITNESS_KEY)
    assert cosigned.startswith(NOTE) and cosigned.count("\u2014".encode()) == 2
    assert add_signature(cosigned, "witness.example/w1", WITNESS_KEY) == cosigned
    vkeys = [LOG_VKEY, verifier_key("witness.example/w1", raw(WITNESS_KEY))]
    assert open_note(cosigned, vkeys) == (CHECKPOINT.body(), [ORIGIN, "witness.example/w1"])


def test_signatures_from_unknown_keys_are_ignored() -> None:
    stranger_vkey = verifier_key(ORIGIN, raw(STRANGER_KEY))
    note = add_signature(add_signature(NOTE, "witness.example/w1", WITNESS_KEY), ORIGIN, STRANGER_KEY)
    # same name, other key ID: ignored
    assert open_note(note, [LOG_VKEY]) == (CHECKPOINT.body(), [ORIGIN])
    # same key ID, other name: ignored (the line names a key we do not know)
    _, _, line = NOTE.rpartition(b"\n\n")
    renamed = NOTE + line.replace(ORIGIN.encode(), b"other.example/log")
    assert open_note(renamed, [LOG_VKEY]) == (CHECKPOINT.body(), [ORIGIN])
    assert open_note(note, [stranger_vkey]) == (CHECKPOINT.body(), [ORIGIN])


def test_a_note_no_known_key_signed_is_refused() -> None:
    witness_only = verifier_key("witness.example/w1", raw(WITNESS_KEY))
    with pytest.raises(CheckpointError, match="no signature on the note is from a known key"):
        open_note(NOTE, [witness_only])
    with pytest.raises(CheckpointError, match="no signature on the note is from a known key"):
        open_note(NOTE, [])


def test_a_known_key_whose_signature_fails_rejects_the_note_even_beside_a_good_one() -> None:
    forged = sign_note(CHECKPOINT.body(), ORIGIN, STRANGER_KEY)
    forged_line = forged.rpartition(b"\n\n")[2]
    blob = base64.b64decode(forged_line.split(b" ")[-1])
    lying = forged_line.replace(base64.b64encode(blob), base64.b64encode(key_hash(ORIGIN, raw(LOG_KEY)) + blob[4:]))
    with pytest.raises(CheckpointError, match="does not verify"):
        open_note(NOTE + lying, [LOG_VKEY])


def test_one_hundred_signatures_are_read_but_not_one_more() -> None:
    unknown_lines = [f"\u2014 witness.example/w{i} AAAAAAA=\n".encode() for i in range(99)]
    assert open_note(NOTE + b"".join(unknown_lines), [LOG_VKEY])[1] == [ORIGIN]
    with pytest.raises(CheckpointError, match="more than 100"):
        open_note(NOTE + b"".join(unknown_lines) + unknown_lines[0], [LOG_VKEY])


def replaced(old: bytes, new: bytes) -> bytes:
    assert old in NOTE
    return NOTE.replace(old, new, 1)


MALFORMED_NOTES = {  # id: (note, message)
    "a carriage return in the text": (replaced(b"log\n", b"log\r\n"), "control character U\\+000D"),
    "a tab in the text": (replaced(b"log\n", b"log\t\n"), "control character U\\+0009"),
    "invalid UTF-8": (replaced(b"log\n", b"log\xff\n"), "not valid UTF-8"),
    "no blank line": (replaced(b"\n\n", b"\n"), "no blank line"),
    "no final newline": (NOTE[:-1], "do not end in a newline"),
    "no signature lines": (CHECKPOINT.body() + b"\n", "no signature lines"),
    "a hyphen for the em dash": (replaced("\n\u2014 ".encode(), b"\n- "), "does not start with an em dash"),
    "an empty key name": (replaced(EM_DASH_SPACE + ORIGIN.encode() + b" ", EM_DASH_SPACE + b" "), "is not '"),
    "a plus in the key name": (replaced(b"bazhong.local/log ", b"bazhong+local/log "), "is not '"),
    "a no-break space in the key name": (replaced(b"bazhong.local/log ", "bazhong\u00a0local/log ".encode()),
                                         "is not '"),
    "two spaces before the signature": (replaced(b"local/log ", b"local/log  "), "is not '"),
}


@pytest.mark.parametrize(("note", "message"), list(MALFORMED_NOTES.values()), ids=list(MALFORMED_NOTES))
def test_a_malformed_note_is_refused_with_a_reason(note: bytes, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        open_note(note, [LOG_VKEY])


@pytest.mark.parametrize("encoded", ["AAAAAA==", "AAAAAAB=", "AAAAAAA", "AAAA AAA=", "AAAAAAA=="],
                         ids=["four bytes", "stray bits", "no padding", "a space", "extra padding"])
def test_a_signature_that_is_not_canonical_base64_of_five_bytes_or_more_is_refused(encoded: str) -> None:
    with pytest.raises(CheckpointError, match="is not '"):
        open_note(NOTE + f"\u2014 witness.example/w1 {encoded}\n".encode(), [LOG_VKEY])


@pytest.mark.parametrize("body", [b"no newline", b"cr\r\n", b"\x00\n", b"\xc3\n"],
                         ids=["no final newline", "a carriage return", "a NUL", "invalid UTF-8"])
def test_signing_a_body_that_is_not_note_text_is_refused(body: bytes) -> None:
    with pytest.raises(CheckpointError):
        sign_note(body, ORIGIN, LOG_KEY)


@pytest.mark.parametrize("name", ["", "has space", "has+plus", "tab\there", "nbsp\u00a0here"])
def test_signing_under_an_invalid_key_name_is_refused(name: str) -> None:
    with pytest.raises(CheckpointError, match="key name"):
        sign_note(b"text\n", name, LOG_KEY)


# ---- strict checkpoint bodies ----
URL_SAFE_ROOT = base64.urlsafe_b64encode(bytes(range(200, 232))).decode()
BAD_BODIES = {  # id: (body, field the error must name)
    "a leading zero in the size": (f"{ORIGIN}\n012\n{base64.b64encode(ROOT).decode()}\n", "size"),
    "a plus sign in the size": (f"{ORIGIN}\n+12\n{base64.b64encode(ROOT).decode()}\n", "size"),
    "a negative size": (f"{ORIGIN}\n-1\n{base64.b64encode(ROOT).decode()}\n", "size"),
    "an underscore in the size": (f"{ORIGIN}\n1_000\n{base64.b64encode(ROOT).decode()}\n", "size"),
    "non-ASCII digits in the size": (f"{ORIGIN}\n\u0661\u0662\n{base64.b64encode(ROOT).decode()}\n", "size"),
    "spaces around the size": (f"{ORIGIN}\n 12\n{base64.b64encode(ROOT).decode()}\n", "size"),
    "a size beyond uint64": (f"{ORIGIN}\n{2**64}\n{base64.b64encode(ROOT).decode()}\n", "size"),
    "a 31-byte root": (f"{ORIGIN}\n12\n{base64.b64encode(ROOT[:31]).decode()}\n", "root"),
    "a 33-byte root": (f"{ORIGIN}\n12\n{base64.b64encode(ROOT + b'x').decode()}\n", "root"),
    "a root with stray bits": (f"{ORIGIN}\n12\n{base64.b64encode(ROOT).decode()[:-2]}B=\n", "root"),
    "a root in URL-safe base64": (f"{ORIGIN}\n12\n{URL_SAFE_ROOT}\n", "root"),
    "no root line": (f"{ORIGIN}\n12\n", "body"),
    "an empty origin": (f"\n12\n{base64.b64encode(ROOT).decode()}\n", "body"),
    "an empty extension line": (f"{ORIGIN}\n12\n{base64.b64encode(ROOT).decode()}\n\next\n", "body"),
    "no final newline": (f"{ORIGIN}\n12\n{base64.b64encode(ROOT).decode()}", "body"),
}


@pytest.mark.parametrize(("body", "field"), list(BAD_BODIES.values()), ids=list(BAD_BODIES))
def test_a_malformed_checkpoint_body_is_refused_naming_the_line(body: str, field: str) -> None:
    with pytest.raises(CheckpointError) as refused:
        Checkpoint.from_body(body.encode())
    assert refused.value.field == field


BAD_CHECKPOINTS = {
    "a short root": (ORIGIN, 1, ROOT[:31], (), "root"),
    "a negative size": (ORIGIN, -1, ROOT, (), "size"),
    "an empty origin": ("", 1, ROOT, (), "origin"),
    "a newline in the origin": ("a\nb", 1, ROOT, (), "origin"),
    "an empty extension": (ORIGIN, 1, ROOT, ("",), "extension"),
}


@pytest.mark.parametrize(("origin", "size", "root", "extensions", "field"), list(BAD_CHECKPOINTS.values()),
                         ids=list(BAD_CHECKPOINTS))
def test_a_checkpoint_that_could_not_be_written_cannot_be_made(origin: str, size: int, root: bytes,
                                                              extensions: tuple[str, ...], field: str) -> None:
    with pytest.raises(CheckpointError) as refused:
        Checkpoint(origin, size, root, extensions)
    assert refused.value.field == field


# ---- verifier keys ----
KID = key_hash("example.com/foo", raw(LOG_KEY)).hex()
KEY_B64 = base64.b64encode(b"\x01" + raw(LOG_KEY)).decode()
GOOD_VKEY = f"example.com/foo+{KID}+{KEY_B64}"
NAME_AND_HASH = f"example.com/foo+{KID}"
BAD_VKEYS = {
    "a hash that does not match": "example.com/foo+00000000+" + KEY_B64,
    "another name": f"example.com/bar+{KID}+{KEY_B64}",
    "uppercase hex": f"example.com/foo+{KID.upper()}+{KEY_B64}",
    "a short hash": NAME_AND_HASH[:-1] + "+" + KEY_B64,
    "no key": NAME_AND_HASH,
    "an ECDSA type byte": NAME_AND_HASH + "+" + base64.b64encode(b"\x02" + raw(LOG_KEY)).decode(),
    "a short key": NAME_AND_HASH + "+" + base64.b64encode(b"\x01" + raw(LOG_KEY)[:31]).decode(),
    "a space in the name": f"example.com foo+{KID}+{KEY_B64}",
    "an empty name": f"+{KID}+{KEY_B64}",
}


@pytest.mark.parametrize("vkey", list(BAD_VKEYS.values()), ids=list(BAD_VKEYS))
def test_a_malformed_verifier_key_is_refused(vkey: str) -> None:
    assert verifier_key("example.com/foo", raw(LOG_KEY)) == GOOD_VKEY and vkey != GOOD_VKEY
    with pytest.raises(CheckpointError):
        parse_verifier_key(vkey)


def test_a_verifier_key_whose_base64_contains_a_plus_still_parses() -> None:
    for i in range(64):
        key = private_key(f"plus {i}")
        vkey = verifier_key("example.com/foo", raw(key))
        if "+" in vkey.rpartition("+")[2] or vkey.count("+") > 2:
            assert parse_verifier_key(vkey)[2] == raw(key)
            return
    pytest.fail("no key with '+' in its base64 among 64 tries")


def test_a_key_id_given_with_the_wrong_key_is_a_configuration_error() -> None:
    with pytest.raises(CheckpointError, match="does not match its key"):
        open_note(NOTE, {(ORIGIN, b"\x00\x00\x00\x00"): LOG_KEY.public_key()})


# ---- one-byte mutations are never accepted ----
def mutate(region: str, position: int, flip: int) -> bytes:
    body, _, line = NOTE.rpartition(b"\n\n")
    body += b"\n"
    prefix = EM_DASH_SPACE + ORIGIN.encode() + b" "
    blob = bytearray(base64.b64decode(line[len(prefix):-1]))
    if region == "body":
        i = position % len(body)
        return body[:i] + bytes([body[i] ^ flip]) + body[i + 1:] + b"\n" + line
    if region == "key name":
        start = len(body) + 1 + len(EM_DASH_SPACE)
        i = start + position % len(ORIGIN)
        return NOTE[:i] + bytes([NOTE[i] ^ flip]) + NOTE[i + 1:]
    i = position % 4 if region == "key id" else 4 + position % 64
    blob[i] ^= flip
    return body + b"\n" + prefix + base64.b64encode(bytes(blob)) + b"\n"


@pytest.mark.parametrize("region", ["body", "key name", "key id", "signature"])
@settings(max_examples=1000, deadline=None, database=None)
@given(position=st.integers(min_value=0, max_value=2**16), flip=st.integers(min_value=1, max_value=255))
def test_a_note_with_one_byte_changed_is_never_accepted(region: str, position: int, flip: int) -> None:
    mutated = mutate(region, position, flip)
    assert mutated != NOTE and len(mutated) == len(NOTE)
    with pytest.raises(CheckpointError):
        Checkpoint.from_note(mutated, [LOG_VKEY])


def test_the_unmutated_note_is_accepted() -> None:
    assert mutate("body", 0, 0) == NOTE
    assert Checkpoint.from_note(NOTE, [LOG_VKEY]) == CHECKPOINT

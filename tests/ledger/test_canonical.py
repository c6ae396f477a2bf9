import gzip
import json
import struct
from decimal import Decimal
from pathlib import Path

import pytest
import rfc8785

from farmtrace.ledger.canonical import MAX_SAFE_INTEGER, canonicalize, find_float, parse_json
from farmtrace.ledger.events import EventBody
from farmtrace.ledger.errors import InvalidEventError

JCS_CASES = ["arrays", "french", "structures", "unicode", "values", "weird"]


@pytest.mark.parametrize("name", JCS_CASES)
def test_canonical_bytes_equal_every_rfc8785_vector(shared_dir: Path, name: str) -> None:
    jcs = shared_dir / "vectors" / "jcs"
    value = json.loads((jcs / "input" / f"{name}.json").read_text(encoding="utf-8"))
    expected = (jcs / "output" / f"{name}.json").read_bytes()
    assert canonicalize(value) == expected
    assert canonicalize(value).hex() == "".join((jcs / "outhex" / f"{name}.txt").read_text().split())


def test_numbers_serialise_as_es6_for_the_100k_published_cases(shared_dir: Path) -> None:
    path = shared_dir / "vectors" / "jcs" / "es6numbers-100k.txt.gz"
    checked = 0
    with gzip.open(path, "rt") as lines:
        for line in lines:
            bits, expected = line.strip().split(",")
            number = struct.unpack(">d", bytes.fromhex(bits.rjust(16, "0")))[0]
            if number != number or number in (float("inf"), float("-inf")):
                continue
            assert rfc8785.dumps(number).decode() == expected, bits
            checked += 1
    assert checked > 99_000


def test_canonicalising_twice_changes_nothing() -> None:
    value = {"b": [1, "二", {"z": None, "a": True}], "a": "\u00e9\n"}
    once = canonicalize(value)
    assert canonicalize(json.loads(once)) == once


BAD_JSON = {
    "not UTF-8": b'{"a": "\xff"}',
    "a duplicate key": b'{"a": 1, "a": 2}',
    "NaN": b'{"a": NaN}',
    "truncated": b'{"a": ',
    "too large": b'{"a": "' + b"x" * 70_000 + b'"}',
}


@pytest.mark.parametrize("raw", list(BAD_JSON.values()), ids=list(BAD_JSON))
def test_strict_parser_refuses_bad_json_with_a_clear_error(raw: bytes) -> None:
    with pytest.raises(InvalidEventError) as refused:
        parse_json(raw)
    assert refused.value.message


def test_floats_are_found_and_named_by_their_path() -> None:
    value = parse_json(b'{"data": {"items": [{"kg": "1"}, {"kg": 1.5}]}}')
    assert isinstance(value["data"]["items"][1]["kg"], Decimal)
    assert find_float(value) == "data.items[1].kg"
    assert find_float({"data": {"kg": "1.5"}}) is None


UNSAFE_INTEGERS = {  # case: (raw JSON, the path the error must name)
    "5,000 digits": (b'{"data": {"n": ' + b"1" * 5000 + b"}}", "data.n"),
    "5,000 digits below zero": (b'{"data": {"n": -' + b"9" * 5000 + b"}}", "data.n"),
    "17 digits": (b'{"data": {"n": 12345678901234567}}', "data.n"),
    "2^53, one past I-JSON": (b'{"data": {"n": 9007199254740992}}', "data.n"),
    "-2^53": (b'{"data": {"n": -9007199254740992}}', "data.n"),
    "in a list": (b'{"data": {"readings": [1, 2, ' + b"3" * 4301 + b"]}}", "data.readings[2]"),
    "the whole document": (b"1" * 5000, "$"),
}


@pytest.mark.parametrize(("raw", "path"), list(UNSAFE_INTEGERS.values()), ids=list(UNSAFE_INTEGERS))
def test_an_integer_rfc8785_cannot_write_is_refused_by_the_parser_naming_its_path(raw: bytes, path: str) -> None:
    with pytest.raises(InvalidEventError) as refused:
        parse_json(raw)
    assert refused.value.field == path and "2^53" in refused.value.message


def test_integers_within_ijson_parse_and_canonicalise_and_beyond_it_a_body_names_the_field() -> None:
    within = parse_json(b'{"a": 9007199254740991, "b": -9007199254740991, "c": 0, "d": -0}')
    assert within == {"a": MAX_SAFE_INTEGER, "b": -MAX_SAFE_INTEGER, "c": 0, "d": 0}
    assert canonicalize(within) == b'{"a":9007199254740991,"b":-9007199254740991,"c":0,"d":0}'
    body = {"v": 1, "type": "observe", "batch": "b-1", "org": "farm", "key": "0" * 16, "prev": "a" * 64,
            "at": "2026-03-01T08:00:00+08:00", "id": "00000000-0000-4000-8000-000000000000",
            "data": {"step": "weighed", "n": 2**64}}  # built in Python, never parsed: EventBody still checks
    with pytest.raises(InvalidEventError) as refused:
        EventBody.from_obj(body)
    assert refused.value.field == "data.n"

import base64
import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from farmtrace.ledger import merkle
from farmtrace.ledger.errors import ProofError

T = TypeVar("T")
Node = tuple[int, int]

MERKLE_VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "merkle"
VECTOR_FILES = sorted(str(p.relative_to(MERKLE_VECTORS)) for p in MERKLE_VECTORS.glob("*/**/*.json"))

# ---- a naive reference, straight from RFC 9162 §2.1.1 (MTH), §2.1.3.1 (PATH), §2.1.4.1 (SUBPROOF) ----
# One list of entries D serves every tree size: the tree of size n is D[0:n].
D = [b"entry %d" % i for i in range(1024)]


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@functools.cache
def mth(lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi])."""
    n = hi - lo
    if n == 0:
        return sha256(b"")
    if n == 1:
        return sha256(b"\x00" + D[lo])
    k = largest_power_of_two_below(n)
    return sha256(b"\x01" + mth(lo, lo + k) + mth(lo + k, hi))


def naive_path(m: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]), m relative to lo."""
    n = hi - lo
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return naive_path(m, lo, lo + k) + [mth(lo + k, hi)]
    return naive_path(m - k, lo + k, hi) + [mth(lo, lo + k)]


def naive_subproof(m: int, lo: int, hi: int, b: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b), m relative to lo."""
    n = hi - lo
    if m == n:
        return [] if b else [mth(lo, hi)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return naive_subproof(m, lo, lo + k, b) + [mth(lo + k, hi)]
    return naive_subproof(m - k, lo + k, hi, False) + [mth(lo, lo + k)]


# ---- an independent verifier, from the RFC 9162 §2.1.3.2 and §2.1.4.2 text ----
# Generic in the hash so the same steps run on real hashes or on symbols (to see which proofs
# are the same computation and so must verify alike).
def hash_children(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def rfc_inclusion_root(hash_: T, index: int, size: int, path: Sequence[T], hc: Callable[[T, T], T]) -> T | None:
    if not 0 <= index < size:
        return None
    fn, sn = index, size - 1
    r = hash_
    for p in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = hc(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn // 2, sn // 2
        else:
            r = hc(r, p)
        fn, sn = fn // 2, sn // 2
    return r if sn == 0 else None


def rfc_consistency_roots(first: int, second: int, path: Sequence[T], first_hash: T,
                          hc: Callable[[T, T], T]) -> tuple[T, T] | None:
    """(fr, sr) for 0 < first < second, or None where the RFC says to fail."""
    if not 0 < first < second or not path:
        return None
    steps = list(path)
    if first & (first - 1) == 0:
        steps.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn, sn = fn // 2, sn // 2
    fr = sr = steps[0]
    for c in steps[1:]:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            fr, sr = hc(c, fr), hc(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn // 2, sn // 2
        else:
            sr = hc(sr, c)
        fn, sn = fn // 2, sn // 2
    return (fr, sr) if sn == 0 else None


def rfc_verifies_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    return rfc_inclusion_root(leaf, index, size, path, hash_children) == root


def rfc_verifies_consistency(first: int, second: int, path: Sequence[bytes], first_hash: bytes,
                             second_hash: bytes) -> bool:
    if 0 < first == second:
        return not path and first_hash == second_hash
    return rfc_consistency_roots(first, second, path, first_hash, hash_children) == (first_hash, second_hash)


def symbolic(left: Any, right: Any) -> Any:
    return (left, right)


def same_inclusion_computation(proof_len: int, a: tuple[int, int], b: tuple[int, int]) -> bool:
    path = [f"p{i}" for i in range(proof_len)]
    ra = rfc_inclusion_root("leaf", *a, path, symbolic)
    return ra is not None and ra == rfc_inclusion_root("leaf", *b, path, symbolic)


def same_consistency_computation(proof_len: int, a: tuple[int, int], b: tuple[int, int]) -> bool:
    path = [f"p{i}" for i in range(proof_len)]
    ra = rfc_consistency_roots(*a, path, "root1", symbolic)
    return ra is not None and ra == rfc_consistency_roots(*b, path, "root1", symbolic)


# ---- helpers ----
LEAF_HASHES = [sha256(b"\x00" + d) for d in D]
TREE_1024 = merkle.MemoryTree(LEAF_HASHES)
TREE_300 = merkle.MemoryTree(LEAF_HASHES[:300])


def flipped(digest: bytes) -> bytes:
    return bytes([digest[0] ^ 8]) + digest[1:]


def refused(check: Callable[[], None]) -> bool:
    try:
        check()
    except ProofError:
        return True
    return False


class CountingReader:
    def __init__(self, reader: merkle.NodeReader) -> None:
        self.reader, self.calls, self.nodes = reader, 0, 0

    def __call__(self, ids: Sequence[Node]) -> dict[Node, bytes]:
        self.calls += 1
        self.nodes += len(ids)
        return self.reader(ids)


def fabricated_reader(ids: Sequence[Node]) -> dict[Node, bytes]:
    return {node: sha256(b"%d/%d" % node) for node in ids}


# ---- roots and stored nodes ----
def test_roots_of_sizes_0_to_1024_equal_the_naive_rfc_definition() -> None:
    compact = merkle.CompactRange()
    for size in range(1025):
        want = mth(0, size)
        assert merkle.root(size, TREE_1024) == want, size
        assert merkle.root_from_leaves(LEAF_HASHES[:size]) == want, size
        assert compact.root() == want, size
        if size < 1024:
            compact.append(LEAF_HASHES[size])


def test_the_empty_tree_root_is_the_hash_of_nothing() -> None:
    assert merkle.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert merkle.root(0, lambda ids: pytest.fail("no node is needed")) == merkle.EMPTY_ROOT
    assert merkle.root_from_leaves([]) == merkle.EMPTY_ROOT


def test_appends_store_exactly_the_complete_subtrees() -> None:
    for size in (1, 2, 3, 7, 8, 300, 1024):
        tree = merkle.MemoryTree(LEAF_HASHES[:size])
        want = {(level, i): mth(i << level, (i + 1) << level)
                for level in range(size.bit_length()) for i in range(size >> level)}
        assert tree.nodes == want, size


def test_an_append_reads_only_the_left_siblings_in_one_call() -> None:
    tree = merkle.MemoryTree(LEAF_HASHES[:1023])
    reader = CountingReader(tree)
    rows = merkle.nodes_completed_by_append(1023, LEAF_HASHES[1023], reader)
    assert reader.calls == 1 and reader.nodes == 10
    assert [(level, i) for level, i, _ in rows] == [(level, 1023 >> level) for level in range(11)]
    assert rows[-1][2] == mth(0, 1024)
    reader = CountingReader(tree)
    assert merkle.nodes_completed_by_append(1024, LEAF_HASHES[0], reader) == [(0, 1024, LEAF_HASHES[0])]
    assert reader.calls == 0


def test_an_append_is_refused_when_a_left_sibling_is_not_stored() -> None:
    with pytest.raises(ProofError, match=r"level 0, index 2\) is missing"):
        merkle.nodes_completed_by_append(3, LEAF_HASHES[3], merkle.MemoryTree(LEAF_HASHES[:2]))


def test_the_reference_tree_gives_the_published_roots_and_proofs(shared_dir: Path) -> None:
    ref = json.loads((shared_dir / "vectors" / "merkle" / "reference-tree.json").read_text())
    leaves = [merkle.leaf_hash(bytes.fromhex(x)) for x in ref["leaves_hex"]]
    assert [h.hex() for h in leaves] == ref["leaf_hashes_hex"]
    tree = merkle.MemoryTree(leaves)
    assert tree.root(0).hex() == ref["empty_tree_root_hex"]
    for size, want in ref["roots_hex_by_size"].items():
        assert tree.root(int(size)).hex() == want
    for key, proof in ref["inclusion_proofs"]["proofs"].items():
        index, size = map(int, key.split("/"))
        assert [h.hex() for h in tree.inclusion_proof(index, size)] == proof, key
        merkle.verify_inclusion(leaves[index], index, size, [bytes.fromhex(h) for h in proof], tree.root(size))
    for key, proof in ref["consistency_proofs"]["proofs"].items():
        m, n = map(int, key.split("->"))
        assert [h.hex() for h in tree.consistency_proof(m, n)] == proof, key
        merkle.verify_consistency(m, n, [bytes.fromhex(h) for h in proof], tree.root(m), tree.root(n))


# ---- every proof up to 300 leaves ----
@pytest.mark.parametrize("n", range(1, 301))
def test_every_inclusion_proof_is_the_rfc_path_and_verifies_independently(n: int) -> None:
    root = mth(0, n)
    for i in range(n):
        proof = merkle.inclusion_proof(i, n, TREE_300)
        assert proof == naive_path(i, 0, n), i
        assert rfc_verifies_inclusion(LEAF_HASHES[i], i, n, proof, root), i
        merkle.verify_inclusion(LEAF_HASHES[i], i, n, proof, root)


@pytest.mark.parametrize("n", range(1, 301))
def test_every_consistency_proof_is_the_rfc_subproof_and_verifies_independently(n: int) -> None:
    root_n = mth(0, n)
    for m in range(1, n + 1):
        proof = merkle.consistency_proof(m, n, TREE_300)
        assert proof == naive_subproof(m, 0, n, True), m
        assert rfc_verifies_consistency(m, n, proof, mth(0, m), root_n), m
        merkle.verify_consistency(m, n, proof, mth(0, m), root_n)


# ---- tampered proofs up to 128 leaves ----
@pytest.mark.parametrize("n", range(1, 129))
def test_an_inclusion_proof_with_any_hash_or_position_changed_is_refused(n: int) -> None:
    root = mth(0, n)
    for i in range(n):
        leaf, proof = LEAF_HASHES[i], merkle.inclusion_proof(i, n, TREE_300)
        for k in range(len(proof)):
            bad = proof[:k] + [flipped(proof[k])] + proof[k + 1:]
            assert refused(lambda: merkle.verify_inclusion(leaf, i, n, bad, root)), (i, k)
        assert refused(lambda: merkle.verify_inclusion(flipped(leaf), i, n, proof, root)), i
        assert refused(lambda: merkle.verify_inclusion(leaf, i, n, proof, flipped(root))), i
        assert refused(lambda: merkle.verify_inclusion(leaf, i, n, proof + [root], root)), i
        if proof:
            assert refused(lambda: merkle.verify_inclusion(leaf, i, n, proof[:-1], root)), i
        for index in (i - 1, i + 1):
            assert refused(lambda: merkle.verify_inclusion(leaf, index, n, proof, root)), (i, index)
        for size in (n - 1, n + 1):
            # The root, not the claimed size, is what a proof binds: a size one off still verifies
            # exactly where the RFC verifier does the very same hashing (see the test below).
            same = same_inclusion_computation(len(proof), (i, n), (i, size))
            module_ok = not refused(lambda: merkle.verify_inclusion(leaf, i, size, proof, root))
            assert module_ok == same == rfc_verifies_inclusion(leaf, i, size, proof, root), (i, size)


@pytest.mark.parametrize("n", range(1, 129))
def test_a_consistency_proof_with_any_hash_or_size_changed_is_refused(n: int) -> None:
    root_n = mth(0, n)
    for m in range(1, n + 1):
        root_m, proof = mth(0, m), merkle.consistency_proof(m, n, TREE_300)
        for k in range(len(proof)):
            bad = proof[:k] + [flipped(proof[k])] + proof[k + 1:]
            assert refused(lambda: merkle.verify_consistency(m, n, bad, root_m, root_n)), (m, k)
        assert refused(lambda: merkle.verify_consistency(m, n, proof, flipped(root_m), root_n)), m
        assert refused(lambda: merkle.verify_consistency(m, n, proof, root_m, flipped(root_n))), m
        assert refused(lambda: merkle.verify_consistency(m, n, proof + [root_n], root_m, root_n)), m
        if proof:
            assert refused(lambda: merkle.verify_consistency(m, n, proof[:-1], root_m, root_n)), m
        for first in (m - 1, m + 1):
            assert refused(lambda: merkle.verify_consistency(first, n, proof, root_m, root_n)), (m, first)
        for second in (n - 1, n + 1):
            same = m < n and m < second and same_consistency_computation(len(proof), (m, n), (m, second))
            module_ok = not refused(lambda: merkle.verify_consistency(m, second, proof, root_m, root_n))
            assert module_ok == same == rfc_verifies_consistency(m, second, proof, root_m, root_n), (m, second)


def test_a_proof_can_hold_for_a_neighbouring_size_because_the_root_binds_the_tree_not_the_size() -> None:
    # RFC 9162 verification: leaf 0 of 3 hashes (l0·p0)·p1, and so does leaf 0 of 4. A size is
    # only trusted together with its root, in a signed checkpoint.
    proof = merkle.inclusion_proof(0, 3, TREE_300)
    merkle.verify_inclusion(LEAF_HASHES[0], 0, 4, proof, mth(0, 3))
    proof = merkle.consistency_proof(2, 3, TREE_300)
    merkle.verify_consistency(2, 4, proof, mth(0, 2), mth(0, 3))
    moved_leaf = [(i, n) for n in range(1, 129) for i in range(n) for j in (i - 1, i + 1)
                  if j >= 0 and same_inclusion_computation(len(naive_path(i, 0, n)), (i, n), (j, n))]
    moved_first = [(m, n) for n in range(2, 129) for m in range(1, n) for f in (m - 1, m + 1)
                   if 0 < f < n and same_consistency_computation(len(naive_subproof(m, 0, n, True)), (m, n), (f, n))]
    assert moved_leaf == moved_first == []


# ---- the transparency-dev/merkle vectors ----
def test_all_196_transparency_dev_vectors_are_present() -> None:
    assert len(VECTOR_FILES) == 196


@pytest.mark.parametrize("name", VECTOR_FILES)
def test_each_transparency_dev_vector_passes_or_fails_as_it_says(shared_dir: Path, name: str) -> None:
    case = json.loads((shared_dir / "vectors" / "merkle" / name).read_text())

    def unb64(text: str | None) -> bytes:
        return base64.b64decode(text or "")

    proof = [unb64(h) for h in case["proof"] or []]
    if name.startswith("inclusion"):
        check = functools.partial(merkle.verify_inclusion, unb64(case["leafHash"]), case["leafIdx"],
                                  case["treeSize"], proof, unb64(case["root"]))
    else:
        check = functools.partial(merkle.verify_consistency, case["size1"], case["size2"], proof,
                                  unb64(case["root1"]), unb64(case["root2"]))
    if case["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


# ---- what callers may ask for ----
BAD_REQUESTS: dict[str, tuple[Callable[[merkle.NodeReader], object], str]] = {
    "an index equal to the size": (lambda r: merkle.inclusion_proof(5, 5, r), "not in a tree of size 5"),
    "an index in the empty tree": (lambda r: merkle.inclusion_proof(0, 0, r), "not in a tree of size 0"),
    "a negative index": (lambda r: merkle.inclusion_proof(-1, 5, r), "must not be negative"),
    "a negative size": (lambda r: merkle.root(-1, r), "must not be negative"),
    "a first size above the second": (lambda r: merkle.consistency_proof(6, 5, r), "6 is larger than"),
    "consistency from the empty tree": (lambda r: merkle.consistency_proof(0, 5, r), "meaningless"),
    "consistency between empty trees": (lambda r: merkle.consistency_proof(0, 0, r), "meaningless"),
    "a size beyond the stored nodes": (lambda r: merkle.inclusion_proof(0, 9, r), "is missing"),
}


@pytest.mark.parametrize(("ask", "message"), list(BAD_REQUESTS.values()), ids=list(BAD_REQUESTS))
def test_a_proof_for_impossible_sizes_is_refused_with_a_reason(ask: Callable[[merkle.NodeReader], object],
                                                              message: str) -> None:
    with pytest.raises(ProofError, match=message):
        ask(merkle.MemoryTree(LEAF_HASHES[:8]))


def test_a_consistency_proof_between_equal_sizes_is_empty() -> None:
    assert merkle.consistency_proof(5, 5, TREE_300) == []
    merkle.verify_consistency(5, 5, [], mth(0, 5), mth(0, 5))
    with pytest.raises(ProofError, match="different roots"):
        merkle.verify_consistency(5, 5, [], mth(0, 5), mth(0, 6))


def test_a_proof_with_a_short_hash_is_refused_before_hashing() -> None:
    proof = merkle.inclusion_proof(2, 8, TREE_300)
    with pytest.raises(ProofError, match="inclusion proof hash 1 has 31 bytes"):
        merkle.verify_inclusion(LEAF_HASHES[2], 2, 8, [proof[0], proof[1][:31], proof[2]], mth(0, 8))


# ---- cost ----
@pytest.mark.parametrize("size", [1_000_000, 1_048_576, 2**40 + 12345])
def test_proofs_in_a_large_log_need_one_reader_call_of_log_n_nodes(size: int) -> None:
    budget = 2 * size.bit_length()
    for index in (0, size // 3, size - 2, size - 1):
        reader = CountingReader(fabricated_reader)
        proof = merkle.inclusion_proof(index, size, reader)
        assert reader.calls == 1 and reader.nodes <= budget
        assert len(proof) <= size.bit_length()
    for m in (1, size // 2 + 1, size - 1):
        reader = CountingReader(fabricated_reader)
        merkle.consistency_proof(m, size, reader)
        assert reader.calls == 1 and reader.nodes <= budget
    reader = CountingReader(fabricated_reader)
    merkle.root(size, reader)
    assert reader.calls == 1 and reader.nodes == bin(size).count("1")


"""RFC 6962 / RFC 9162 Merkle tree hashes and proofs for the global event log (leaf index = sequence number).

Hashing (RFC 9162 §2.1.1): a leaf hash is SHA-256(0x00 || data), an interior node is
SHA-256(0x01 || left || right), and the empty tree's root is SHA-256("").

Storage model: the log keeps only *complete aligned subtrees*, keyed by (level, index).
Level 0 index i is the leaf hash of leaf i; level k index i is the hash of the complete subtree
over leaves [i * 2**k, (i + 1) * 2**k). A subtree that is not complete yet is never stored: any
hash the RFC needs over a ragged right edge is folded from the complete subtrees that make it up.
Every function that needs stored hashes takes a `NodeReader` and asks it once for the whole set
of (level, index) pairs, so a database answers a proof with one query of O(log n) rows.

Proofs are the RFC 9162 PATH (§2.1.3.1) and SUBPROOF (§2.1.4.1) lists; the verifiers follow the
algorithms of §2.1.3.2 and §2.1.4.2. Sizes and indices follow transparency-dev/merkle:
- an inclusion proof needs 0 <= index < size;
- a consistency proof between equal sizes m == n > 0 is empty and holds iff the roots are equal;
- a consistency proof from the empty tree (m == 0) is meaningless (every tree extends it), so
  `consistency_proof(0, n)` and `verify_consistency(0, ...)` raise `ProofError`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Sequence

from farmtrace.ledger.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "CompactRange",
    "MemoryTree",
    "NodeReader",
    "b64",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "nodes_completed_by_append",
    "root",
    "root_from_leaves",
    "verify_consistency",
    "verify_inclusion",
]

LEAF_PREFIX, NODE_PREFIX = b"\x00", b"\x01"
HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]
NodeReader = Callable[[Sequence[tuple[int, int]]], dict[tuple[int, int], bytes]]
"""Fetch many stored (level, index) hashes in one call; pairs it does not hold are left out."""

_Range = tuple[int, int]  # leaves [start, end)


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def b64(data: bytes) -> str:
    """Standard padded base64 (RFC 4648 §4), the form hashes take in checkpoints and the API."""
    return base64.b64encode(data).decode("ascii")


# ---- reading stored nodes ----------------------------------------------------------------------


def _subtrees(start: int, end: int) -> list[NodeId]:
    """The complete aligned subtrees covering leaves [start, end), largest (leftmost) first.

    `start` must be a multiple of the largest power of two not above end - start, which holds
    for every subtree the RFC recursion produces (and for start == 0).
    """
    ids: list[NodeId] = []
    width = end - start
    while width:
        level = width.bit_length() - 1
        ids.append((level, start >> level))
        start += 1 << level
        width -= 1 << level
    return ids


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Hash of a ragged subtree from its complete parts (largest first), folded right to left."""
    acc = hashes[-1]
    for left in reversed(hashes[:-1]):
        acc = node_hash(left, acc)
    return acc


def _fetch(reader: NodeReader, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    found = reader(wanted)
    for node in wanted:
        digest = found.get(node)
        if digest is None:
            raise ProofError(f"stored Merkle node (level {node[0]}, index {node[1]}) is missing")
        if len(digest) != HASH_SIZE:
            raise ProofError(f"stored Merkle node (level {node[0]}, index {node[1]}) has {len(digest)} bytes, "
                             f"expected {HASH_SIZE}")
    return found


def _range_hashes(ranges: Sequence[_Range], reader: NodeReader) -> list[bytes]:
    """MTH of each range, with one reader call for all the complete subtrees involved."""
    parts = [_subtrees(start, end) for start, end in ranges]
    nodes = _fetch(reader, (node for part in parts for node in part))
    return [_fold([nodes[node] for node in part]) for part in parts]


def _require_hash(what: str, digest: bytes) -> None:
    if len(digest) != HASH_SIZE:
        raise ProofError(f"{what} has {len(digest)} bytes, expected a {HASH_SIZE}-byte SHA-256 hash")


def _require_natural(what: str, value: int) -> None:
    if value < 0:
        raise ProofError(f"{what} must not be negative, got {value}")


# ---- writing, roots and proofs -------------------------------------------------------------------


def nodes_completed_by_append(index: int, leaf: bytes, reader: NodeReader) -> list[tuple[int, int, bytes]]:
    """The (level, index, hash) rows to store when the leaf hash `leaf` is appended at `index`.

    That is (0, index, leaf) and every parent the new leaf completes; their left siblings are read
    in one reader call. O(log n).

    Raises:
        ProofError: `index` is negative, `leaf` is not 32 bytes, or a left sibling is missing.
    """
    _require_natural("leaf index", index)
    _require_hash("leaf hash", leaf)
    completes = (index ^ (index + 1)).bit_length() - 1  # trailing one bits of index
    siblings = [(level, (index >> level) - 1) for level in range(completes)]
    nodes = _fetch(reader, siblings)
    rows = [(0, index, leaf)]
    acc = leaf
    for level, sibling in enumerate(siblings):
        acc = node_hash(nodes[sibling], acc)
        rows.append((level + 1, index >> (level + 1), acc))
    return rows


def root(size: int, reader: NodeReader) -> bytes:
    """RFC 9162 MTH of the first `size` leaves, folded from at most log2(size) + 1 stored subtrees.

    Raises:
        ProofError: `size` is negative or a needed node is not stored.
    """
    _require_natural("tree size", size)
    if size == 0:
        return EMPTY_ROOT
    return _range_hashes([(0, size)], reader)[0]


def _path_ranges(index: int, size: int) -> list[_Range]:
    """The subtrees whose hashes make up RFC 9162 PATH(index, D[0:size]), leaf end first."""
    ranges: list[_Range] = []
    start, end = 0, size
    while end - start > 1:
        k = 1 << ((end - start - 1).bit_length() - 1)  # largest power of two below the width
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def _subproof_ranges(m: int, n: int) -> list[_Range]:
    """The subtrees whose hashes make up RFC 9162 SUBPROOF(m, D[0:n], true), for 0 < m < n."""
    ranges: list[_Range] = []
    start, end, whole = 0, n, True
    while True:
        width, mm = end - start, m - start
        if mm == width:
            if not whole:
                ranges.append((start, end))
            break
        k = 1 << ((width - 1).bit_length() - 1)
        if mm <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            whole = False
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, reader: NodeReader) -> list[bytes]:
    """RFC 9162 §2.1.3.1 inclusion proof PATH(index, D[0:size]), read in one reader call.

    Raises:
        ProofError: unless 0 <= index < size, or a needed node is not stored.
    """
    _require_natural("leaf index", index)
    _require_natural("tree size", size)
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size} (needs index < size)")
    return _range_hashes(_path_ranges(index, size), reader)


def consistency_proof(m: int, n: int, reader: NodeReader) -> list[bytes]:
    """RFC 9162 §2.1.4.1 consistency proof PROOF(m, D[0:n]), read in one reader call.

    The proof for m == n is empty. A proof from the empty tree (m == 0) is meaningless and
    refused, as in transparency-dev/merkle.

    Raises:
        ProofError: unless 0 < m <= n, or a needed node is not stored.
    """
    _require_natural("first tree size", m)
    _require_natural("second tree size", n)
    if m > n:
        raise ProofError(f"first tree size {m} is larger than second tree size {n}")
    if m == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless: every tree extends it")
    if m == n:
        return []
    return _range_hashes(_subproof_ranges(m, n), reader)


# ---- verification ----------------------------------------------------------------------------


def _inclusion_proof_length(index: int, size: int) -> int:
    inner = (index ^ (size - 1)).bit_length()  # levels below where the paths to index and size-1 part
    return inner + bin(index >> inner).count("1")


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless `proof` links `leaf_hash` at `index` in a tree of `size` to `root`.

    RFC 9162 §2.1.3.2; the leaf hash and every proof hash must be 32 bytes.
    """
    _require_natural("leaf index", index)
    _require_natural("tree size", size)
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size} (needs index < size)")
    _require_hash("leaf hash", leaf_hash)
    for i, digest in enumerate(proof):
        _require_hash(f"inclusion proof hash {i}", digest)
    want = _inclusion_proof_length(index, size)
    if len(proof) != want:
        raise ProofError(f"an inclusion proof for leaf {index} of {size} has {want} hashes, got {len(proof)}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    if r != root:
        raise ProofError(f"inclusion proof for leaf {index} of {size} leads to root {b64(r)}, not {b64(root)}")


def _consistency_proof_length(m: int, n: int) -> int:
    inner = ((m - 1) ^ (n - 1)).bit_length()
    border = bin((m - 1) >> inner).count("1")
    shift = (m & -m).bit_length() - 1  # trailing zero bits of m
    has_seed = m != 1 << shift  # the proof starts with the subtree hash unless m is a power of two
    return int(has_seed) + inner - shift + border


def verify_consistency(m: int, n: int, proof: Sequence[bytes], root_m: bytes, root_n: bytes) -> None:
    """Raise ProofError unless `proof` shows the tree of size `n` with `root_n` extends the one of size `m`.

    RFC 9162 §2.1.4.2 for 0 < m < n. For m == n the proof must be empty and the roots equal (they
    are compared as given, whatever their length). m == 0 is refused: see the module docstring.
    """
    _require_natural("first tree size", m)
    _require_natural("second tree size", n)
    if m > n:
        raise ProofError(f"first tree size {m} is larger than second tree size {n}")
    if m == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless: every tree extends it")
    if m == n:
        if proof:
            raise ProofError(f"trees of equal size {m} need an empty consistency proof, got {len(proof)} hashes")
        if root_m != root_n:
            raise ProofError(f"trees of equal size {m} have different roots {b64(root_m)} and {b64(root_n)}")
        return
    if not proof:
        raise ProofError(f"a consistency proof from size {m} to {n} cannot be empty")
    _require_hash("first root", root_m)
    _require_hash("second root", root_n)
    for i, digest in enumerate(proof):
        _require_hash(f"consistency proof hash {i}", digest)
    want = _consistency_proof_length(m, n)
    if len(proof) != want:
        raise ProofError(f"a consistency proof from size {m} to {n} has {want} hashes, got {len(proof)}")
    path = list(proof)
    if m & (m - 1) == 0:  # m is a power of two: the old root is the first subtree
        path.insert(0, root_m)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the tree is deep")
    if fr != root_m:
        raise ProofError(f"consistency proof gives size {m} the root {b64(fr)}, not {b64(root_m)}")
    if sr != root_n:
        raise ProofError(f"consistency proof gives size {n} the root {b64(sr)}, not {b64(root_n)}")


# ---- in-memory trees -------------------------------------------------------------------------


class CompactRange:
    """The right edge of a growing tree: its O(log n) complete subtrees ("peaks").

    Appending a leaf returns the stored nodes it completes, so the log can extend its node
    table without reading it; `state()` / `from_state()` persist the peaks in one small value.
    """

    def __init__(self) -> None:
        self._peaks: list[tuple[int, bytes]] = []  # (level, hash), strictly decreasing levels
        self.size = 0

    @classmethod
    def from_state(cls, size: int, state: bytes) -> CompactRange:
        """Rebuild from `state()`: the peaks' hashes, largest subtree first."""
        levels = [lv for lv in range(size.bit_length() - 1, -1, -1) if size >> lv & 1]
        if len(state) != HASH_SIZE * len(levels):
            raise ProofError(f"a frontier of size {size} holds {len(levels)} hashes, got {len(state)} bytes")
        compact = cls()
        compact.size = size
        compact._peaks = [(lv, state[i * HASH_SIZE:(i + 1) * HASH_SIZE]) for i, lv in enumerate(levels)]
        return compact

    def state(self) -> bytes:
        return b"".join(digest for _, digest in self._peaks)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add the next leaf hash; return the (level, index, hash) of every subtree it completes."""
        index = self.size
        completed = [(0, index, leaf)]
        level, acc = 0, leaf
        while self._peaks and self._peaks[-1][0] == level:
            acc = node_hash(self._peaks.pop()[1], acc)
            level += 1
            completed.append((level, index >> level, acc))
        self._peaks.append((level, acc))
        self.size += 1
        return completed

    def root(self) -> bytes:
        """MTH of the leaves appended so far."""
        if not self._peaks:
            return EMPTY_ROOT
        return _fold([digest for _, digest in self._peaks])


def root_from_leaves(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes, in memory (O(n) time, O(log n) space)."""
    compact = CompactRange()
    for leaf in leaf_hashes:
        compact.append(leaf)
    return compact.root()


class MemoryTree:
    """Complete-subtree store in a dict that is itself a `NodeReader`: for tests, the offline verifier, benchmarks.

    >>> tree = MemoryTree(leaf_hash(b"%d" % i) for i in range(5))
    >>> verify_inclusion(leaf_hash(b"3"), 3, 5, tree.inclusion_proof(3), tree.root())
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.nodes: dict[NodeId, bytes] = {}
        self._size = 0
        for leaf in leaf_hashes:
            self.append(leaf)

    @property
    def size(self) -> int:
        """Number of leaves appended."""
        return self._size

    def __len__(self) -> int:
        return self._size

    def __call__(self, ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
        nodes = self.nodes
        return {node: nodes[node] for node in ids if node in nodes}

    def append(self, leaf: bytes) -> int:
        """Store a leaf hash and the parents it completes; return its index."""
        index = self._size
        for level, idx, digest in nodes_completed_by_append(index, leaf, self):
            self.nodes[(level, idx)] = digest
        self._size += 1
        return index

    def root(self, size: int | None = None) -> bytes:
        """Root at `size` (default: the current size)."""
        size = self._size if size is None else size
        self._require_size(size)
        return root(size, self)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Inclusion proof for leaf `index` in the tree at `size` (default: the current size)."""
        size = self._size if size is None else size
        self._require_size(size)
        return inclusion_proof(index, size, self)

    def consistency_proof(self, m: int, n: int | None = None) -> list[bytes]:
        """Consistency proof from size `m` to `n` (default: the current size)."""
        n = self._size if n is None else n
        self._require_size(n)
        return consistency_proof(m, n, self)

    def _require_size(self, size: int) -> None:
        if size > self._size:
            raise ProofError(f"tree size {size} is beyond the {self._size} leaves appended")

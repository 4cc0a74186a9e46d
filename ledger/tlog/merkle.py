"""RFC 6962 / RFC 9162 Merkle hash trees: tree heads, inclusion and consistency proofs.

Hashing (RFC 9162 §2.1.1), SHA-256 throughout:
    leaf  = SHA-256(0x00 ‖ entry bytes)
    node  = SHA-256(0x01 ‖ left ‖ right)
    empty = SHA-256("")  (the head of the tree of size 0)

Storage model. Only *complete* subtrees are ever stored: node (level, index) is the root
of the 2**level leaves starting at leaf index * 2**level. Complete nodes never change
once written, so they can be appended to an append-only table as leaves arrive
(`Frontier.append`). Every range the RFC algorithms need — [start, end) with start a
multiple of the largest power of two not exceeding … see `_range_nodes` — is the
right fold of at most ⌈log2 n⌉ complete nodes, so a proof for a tree of any size needs
O(log n) stored nodes, fetched in one batch (`NodeFetcher`).

Verification (`verify_inclusion`, `verify_consistency`) follows RFC 9162 §2.1.3.2 and
§2.1.4.2 step by step. It never raises for bad input: every problem is a
`ProofError` with a sentence saying what is wrong, so callers can report and exit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
#: Largest tree size accepted anywhere (sizes are stored as signed 64-bit integers).
MAX_TREE_SIZE = 2**63 - 1
#: A proof for a tree of at most 2**63 leaves never has more than 63 (+1) hashes.
MAX_PROOF_HASHES = 64
EMPTY_ROOT = hashlib.sha256(b"").digest()

Node = tuple[int, int]  # (level, index)
#: Returns the stored hash of every requested complete node (missing ones may be absent).
NodeFetcher = Callable[[Sequence[Node]], Mapping[Node, bytes]]


class ProofError(ValueError):
    """A proof, tree size or hash that does not verify or is malformed; the message says why."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """k with k < n <= 2k (n >= 2): the split point of RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


# --- complete-node decomposition ---------------------------------------------------


def _range_nodes(start: int, end: int) -> list[Node]:
    """The complete nodes whose right fold is MTH(D[start:end]), left to right.

    Valid for the ranges the RFC recursions produce: `start` is a multiple of a power of
    two that is at least `end - start`. The sizes are the set bits of `end - start`,
    largest first.
    """
    nodes, position, remaining = [], start, end - start
    for level in range(remaining.bit_length() - 1, -1, -1):
        if remaining >> level & 1:
            nodes.append((level, position >> level))
            position += 1 << level
    return nodes


def _fold(hashes: Sequence[bytes]) -> bytes:
    """node(h0, node(h1, node(h2, …))): the head of a range from its complete nodes."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose heads form PATH(index, D[0:size]), leaf-side first (RFC 9162 §2.1.3.1)."""
    ranges, start, end = [], 0, size
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def _consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The ranges whose heads form PROOF(old, D[0:new]) (RFC 9162 §2.1.4.1), in proof order."""
    ranges: list[tuple[int, int]] = []
    start, end, m, complete = 0, new, old, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                ranges.append((start, end))
            break
        k = _largest_power_of_two_below(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    ranges.reverse()
    return ranges


def _check_size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProofError(f"{name} must be an integer, not {type(value).__name__}.")
    if not 0 <= value <= MAX_TREE_SIZE:
        raise ProofError(f"{name} {value} is outside 0…2^63-1.")
    return value


def _heads(ranges: list[tuple[int, int]], fetch: NodeFetcher) -> list[bytes]:
    per_range = [_range_nodes(start, end) for start, end in ranges]
    wanted = sorted({node for nodes in per_range for node in nodes})
    found = fetch(wanted)
    missing = [node for node in wanted if node not in found]
    if missing:
        raise ProofError(f"The tree store lacks node {missing[0]}; extend the tree before proving.")
    return [_fold([found[node] for node in nodes]) for nodes in per_range]


def nodes_for_inclusion(index: int, size: int) -> list[Node]:
    """The stored nodes `inclusion_proof(index, size, …)` reads: to fetch many proofs' nodes in bulk."""
    return [node for start, end in _inclusion_ranges(index, size) for node in _range_nodes(start, end)]


def tree_head(size: int, fetch: NodeFetcher) -> bytes:
    """MTH(D[0:size]) from stored complete nodes."""
    _check_size("tree size", size)
    return EMPTY_ROOT if size == 0 else _heads([(0, size)], fetch)[0]


def inclusion_proof(index: int, size: int, fetch: NodeFetcher) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `size` leaves."""
    _check_size("tree size", size)
    _check_size("leaf index", index)
    if index >= size:
        raise ProofError(f"Leaf index {index} is not in a tree of size {size}.")
    return _heads(_inclusion_ranges(index, size), fetch)


def consistency_proof(old_size: int, new_size: int, fetch: NodeFetcher) -> list[bytes]:
    """The consistency proof from the tree of `old_size` leaves to the one of `new_size`.

    Empty when old_size is 0 or equal to new_size (nothing to prove beyond the heads).
    """
    _check_size("old tree size", old_size)
    _check_size("new tree size", new_size)
    if old_size > new_size:
        raise ProofError(f"Old tree size {old_size} is larger than new tree size {new_size}.")
    if old_size in (0, new_size):
        return []
    return _heads(_consistency_ranges(old_size, new_size), fetch)


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ----------------------------------


def _check_hash(name: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ProofError(f"{name} must be {HASH_SIZE} bytes.")
    return bytes(value)


def _check_path(path: object) -> list[bytes]:
    if not isinstance(path, list | tuple):
        raise ProofError("The proof path must be a list of hashes.")
    if len(path) > MAX_PROOF_HASHES:
        raise ProofError(f"The proof path has {len(path)} hashes; no valid proof has more than {MAX_PROOF_HASHES}.")
    return [_check_hash(f"Proof hash {i}", item) for i, item in enumerate(path)]


def _shift_while_even(fn: int, sn: int) -> tuple[int, int]:
    """Right-shift both until fn is odd or 0 (the RFC's step for a left-edge sibling)."""
    while fn and not fn & 1:
        fn >>= 1
        sn >>= 1
    return fn, sn


def verify_inclusion(entry_hash: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless `path` proves leaf hash `entry_hash` at `index` under `root`."""
    entry_hash = _check_hash("The leaf hash", entry_hash)
    root = _check_hash("The root hash", root)
    index, size = _check_size("leaf index", index), _check_size("tree size", size)
    path = _check_path(path)
    if index >= size:
        raise ProofError(f"Leaf index {index} is not in a tree of size {size}.")
    fn, sn, r = index, size - 1, entry_hash
    for p in path:
        if sn == 0:
            raise ProofError("The inclusion proof is longer than the tree is deep.")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_while_even(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("The inclusion proof is shorter than the tree is deep.")
    if r != root:
        raise ProofError(f"The entry at index {index} is not in the tree of size {size} with this root hash.")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> None:
    """Raise ProofError unless `path` proves the tree (old_size, old_root) is a prefix of (new_size, new_root)."""
    old_size = _check_size("old tree size", old_size)
    new_size = _check_size("new tree size", new_size)
    old_root = _check_hash("The old root hash", old_root)
    new_root = _check_hash("The new root hash", new_root)
    path = _check_path(path)
    if old_size > new_size:
        raise ProofError(f"Old tree size {old_size} is larger than new tree size {new_size}: the log shrank.")
    if old_size == 0 or old_size == new_size:
        if path:
            raise ProofError("A consistency proof between these sizes must be empty.")
        if old_size == 0 and old_root != EMPTY_ROOT:
            raise ProofError("The old root hash is not the hash of the empty tree.")
        if old_size == new_size and old_root != new_root:
            raise ProofError(f"Two different root hashes for the same tree size {old_size}: the log forked.")
        return
    if not path:
        raise ProofError("The consistency proof is empty.")
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the proof's first node
        path = [old_root, *path]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("The consistency proof is longer than the tree is deep.")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _shift_while_even(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("The consistency proof is shorter than the tree is deep.")
    if fr != old_root:
        raise ProofError(f"The proof does not lead to the old root hash: the first {old_size} entries were rewritten.")
    if sr != new_root:
        raise ProofError(f"The proof does not lead to the new root hash of the tree of size {new_size}.")


# --- building ----------------------------------------------------------------------


@dataclass
class Frontier:
    """The right edge of a tree: the complete nodes needed to append further leaves.

    For a tree of `size` leaves these are, for every set bit `level` of `size`, node
    (level, (size >> level) - 1). `append` returns every complete node the new leaves
    create, so a store that saves them holds every complete node of the tree.
    """

    size: int = 0
    nodes: dict[int, bytes] = field(default_factory=dict)  # level -> hash

    @staticmethod
    def needed(size: int) -> list[Node]:
        return [(level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level & 1]

    @classmethod
    def load(cls, size: int, fetch: NodeFetcher) -> Frontier:
        wanted = cls.needed(size)
        found = fetch(wanted)
        missing = [node for node in wanted if node not in found]
        if missing:
            raise ProofError(f"The tree store lacks frontier node {missing[0]} of the tree of size {size}.")
        return cls(size, {level: found[(level, index)] for level, index in wanted})

    def append(self, leaf_hashes: Iterable[bytes]) -> list[tuple[int, int, bytes]]:
        """Add leaves (already leaf-hashed); returns the new complete nodes (level, index, hash)."""
        created = []
        nodes, size = self.nodes, self.size
        for digest in leaf_hashes:
            level, index = 0, size
            created.append((0, index, digest))
            while index & 1:
                digest = node_hash(nodes.pop(level), digest)
                level, index = level + 1, index >> 1
                created.append((level, index, digest))
            nodes[level] = digest
            size += 1
        self.size = size
        return created

    def root(self) -> bytes:
        if not self.size:
            return EMPTY_ROOT
        return _fold([self.nodes[level] for level in sorted(self.nodes, reverse=True)])


class MemoryTree:
    """A whole tree in memory: every complete node, for tests, benchmarks and small logs."""

    def __init__(self, entries: Iterable[bytes] = ()) -> None:
        self.frontier = Frontier()
        self.nodes: dict[Node, bytes] = {}
        self.extend(entries)

    @property
    def size(self) -> int:
        return self.frontier.size

    def extend(self, entries: Iterable[bytes]) -> None:
        for level, index, digest in self.frontier.append(leaf_hash(entry) for entry in entries):
            self.nodes[level, index] = digest

    def fetch(self, wanted: Sequence[Node]) -> dict[Node, bytes]:
        return {node: self.nodes[node] for node in wanted if node in self.nodes}

    def root(self, size: int | None = None) -> bytes:
        return tree_head(self.size if size is None else size, self.fetch)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else size, self.fetch)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        return consistency_proof(old_size, self.size if new_size is None else new_size, self.fetch)

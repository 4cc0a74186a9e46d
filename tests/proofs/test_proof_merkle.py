"""ledger.tlog.merkle against the from-the-RFC reference, for every tree size 1…300."""

from __future__ import annotations

import random

import pytest

from ledger.tlog.merkle import (
    EMPTY_ROOT,
    Frontier,
    MemoryTree,
    ProofError,
    consistency_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.proofs.rfc_reference import Reference

MAX_SIZE = 300
ENTRIES = [f"entry {i}".encode() for i in range(MAX_SIZE)]
TREE = MemoryTree(ENTRIES)
REF = Reference(ENTRIES)


def flipped(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_tree_heads_match_the_reference_for_every_size():
    assert TREE.root(0) == EMPTY_ROOT == REF.root(0)
    for size in range(1, MAX_SIZE + 1):
        assert TREE.root(size) == REF.root(size), size


def test_every_inclusion_proof_of_every_size_matches_and_verifies():
    for size in range(1, MAX_SIZE + 1):
        root = REF.root(size)
        for index in range(size):
            proof = TREE.inclusion_proof(index, size)
            assert proof == REF.path(index, size), (index, size)
            verify_inclusion(leaf_hash(ENTRIES[index]), index, size, proof, root)


def test_every_consistency_proof_of_every_pair_matches_and_verifies():
    for new in range(1, MAX_SIZE + 1):
        new_root = REF.root(new)
        for old in range(0, new + 1):
            proof = TREE.consistency_proof(old, new)
            assert proof == REF.proof(old, new), (old, new)
            verify_consistency(old, new, REF.root(old), new_root, proof)


def test_frontier_root_is_the_tree_head_while_growing():
    frontier = Frontier()
    for size, entry in enumerate(ENTRIES, start=1):
        frontier.append([leaf_hash(entry)])
        assert frontier.root() == REF.root(size)


def test_frontier_reloads_from_stored_nodes_and_continues():
    for size in (1, 2, 3, 64, 100, 255):
        frontier = Frontier.load(size, TREE.fetch)
        created = dict(((level, index), h) for level, index, h in frontier.append(map(leaf_hash, ENTRIES[size:])))
        assert frontier.root() == REF.root(MAX_SIZE)
        assert all(TREE.nodes[node] == digest for node, digest in created.items())


RNG = random.Random(6962)
INCLUSION_SAMPLE = [(i, n) for n in range(1, MAX_SIZE + 1) for i in RNG.sample(range(n), min(n, 3))]
CONSISTENCY_SAMPLE = [(m, n) for n in range(2, MAX_SIZE + 1) for m in RNG.sample(range(1, n), min(n - 1, 3))]


def rejects(check, *args) -> None:
    with pytest.raises(ProofError):
        check(*args)


def test_any_flipped_bit_in_an_entry_or_inclusion_proof_fails():
    for index, size in INCLUSION_SAMPLE:
        entry, proof, root = ENTRIES[index], REF.path(index, size), REF.root(size)
        for bit in range(len(entry) * 8):
            rejects(verify_inclusion, leaf_hash(flipped(entry, bit)), index, size, proof, root)
        for position in range(len(proof)):
            for bit in RNG.sample(range(256), 8):
                bad = list(proof)
                bad[position] = flipped(bad[position], bit)
                rejects(verify_inclusion, leaf_hash(entry), index, size, bad, root)
        for bit in RNG.sample(range(256), 8):
            rejects(verify_inclusion, leaf_hash(entry), index, size, proof, flipped(root, bit))


def test_inclusion_rejects_wrong_positions_and_lengths():
    for index, size in INCLUSION_SAMPLE:
        leaf, proof, root = leaf_hash(ENTRIES[index]), REF.path(index, size), REF.root(size)
        for other in {index - 1, index + 1, index ^ 1, size, size + 5} - {index}:
            if 0 <= other:
                rejects(verify_inclusion, leaf, other, size, proof, root)
        for other_size in {size - 1, size + 1, size * 2} - {size}:
            if index < other_size <= MAX_SIZE and REF.path(index, other_size) != proof:
                rejects(verify_inclusion, leaf, index, other_size, proof, REF.root(other_size))
        if proof:
            rejects(verify_inclusion, leaf, index, size, proof[:-1], root)
            rejects(verify_inclusion, leaf, index, size, proof[1:], root)
        rejects(verify_inclusion, leaf, index, size, [*proof, proof[0] if proof else leaf], root)


def test_any_flipped_bit_in_a_consistency_proof_or_root_fails():
    for old, new in CONSISTENCY_SAMPLE:
        proof, old_root, new_root = REF.proof(old, new), REF.root(old), REF.root(new)
        for position in range(len(proof)):
            for bit in RNG.sample(range(256), 8):
                bad = list(proof)
                bad[position] = flipped(bad[position], bit)
                rejects(verify_consistency, old, new, old_root, new_root, bad)
        for bit in RNG.sample(range(256), 8):
            rejects(verify_consistency, old, new, flipped(old_root, bit), new_root, proof)
            rejects(verify_consistency, old, new, old_root, flipped(new_root, bit), proof)
        rejects(verify_consistency, old, new, old_root, new_root, proof[:-1])
        rejects(verify_consistency, old, new, old_root, new_root, [*proof, proof[0]])
        rejects(verify_consistency, new, old, new_root, old_root, proof)


def test_a_rewritten_history_is_caught_by_consistency_with_a_kept_checkpoint():
    """The artist kept (old, root) earlier; the log later rewrote one old entry."""
    rewritten_entries = list(ENTRIES)
    rewritten_entries[41] = b"entry 41, but the amount was edited"
    rewritten = MemoryTree(rewritten_entries)
    for old in (42, 50, 64, 100, 200, 300):
        kept_root = TREE.root(old)
        new_root = rewritten.root(MAX_SIZE)
        # Whatever proof the rewritten log can produce, it cannot connect to the kept root.
        rejects(verify_consistency, old, MAX_SIZE, kept_root, new_root, rewritten.consistency_proof(old))
        rejects(verify_consistency, old, MAX_SIZE, kept_root, new_root, TREE.consistency_proof(old))
    # A different tree of the same size is a fork.
    rejects(verify_consistency, MAX_SIZE, MAX_SIZE, TREE.root(), rewritten.root(), [])


def test_edge_cases_of_sizes_zero_and_equal():
    verify_consistency(0, 10, EMPTY_ROOT, REF.root(10), [])
    rejects(verify_consistency, 0, 10, REF.root(1), REF.root(10), [])
    rejects(verify_consistency, 0, 10, EMPTY_ROOT, REF.root(10), [REF.root(1)])
    verify_consistency(7, 7, REF.root(7), REF.root(7), [])
    rejects(verify_consistency, 7, 7, REF.root(7), REF.root(7), [REF.root(1)])
    rejects(verify_consistency, 5, 7, REF.root(5), REF.root(7), [])
    assert consistency_proof(3, 3, TREE.fetch) == []
    rejects(consistency_proof, 4, 3, TREE.fetch)
    rejects(verify_inclusion, leaf_hash(ENTRIES[0]), 0, 0, [], EMPTY_ROOT)
    rejects(verify_inclusion, leaf_hash(ENTRIES[0]), -1, 3, [], EMPTY_ROOT)
    rejects(verify_inclusion, leaf_hash(ENTRIES[0]), 0, 2**64, [], EMPTY_ROOT)
    rejects(verify_inclusion, leaf_hash(ENTRIES[0]), True, 3, [], EMPTY_ROOT)
    rejects(verify_inclusion, b"short", 0, 1, [], EMPTY_ROOT)
    rejects(verify_inclusion, leaf_hash(ENTRIES[0]), 0, 1, "not a list", EMPTY_ROOT)


def test_proofs_for_a_huge_tree_touch_only_log_n_nodes():
    """A sparse store holding only the nodes a proof needs answers for 2**40 leaves."""
    size, index = 2**40 + 12345, 2**39 + 7
    requested: list = []

    def fetch(wanted):
        requested.extend(wanted)
        return {node: leaf_hash(repr(node).encode()) for node in wanted}

    proof = consistency_proof(2**33 + 5, size, fetch)
    assert len(proof) <= 2 * 41 and len(requested) <= 2 * 41
    requested.clear()
    from ledger.tlog.merkle import inclusion_proof

    assert len(inclusion_proof(index, size, fetch)) == 41
    assert len(requested) <= 2 * 41

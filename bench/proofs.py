"""Merkle tree, proof generation and proof verification rates, next to raw SHA-256.

The reference, measured in the same run: SHA-256 of 65-byte inputs (one interior node
hash, 0x01 ‖ left ‖ right) in one thread. Per backend: building the stored tree over n
ledger entries, inclusion proofs generated from the database one at a time for random
entries (three round trips each), and a balance bundle's proofs (nodes fetched in bulk).
Offline (no database): inclusion proofs verified (Merkle path only), whole proof
documents verified (entry encoding, hash, Ed25519 signature, key validity, path,
checkpoint signature), and consistency proofs generated and verified.

    python bench/proofs.py [--n 20000] [--proofs 2000] [--postgres-url URL]
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import tempfile

from _common import arguments, filled_ledger, rate, report, scratch_databases

from ledger.merkle import MemoryTree, leaf_hash, verify_consistency, verify_inclusion
from ledger.proofs import verify_document
from ledger.transparency import balance_bundle, create_checkpoint, extend_tree, prove_inclusion, public_keyring


def raw_sha256_rate(n: int) -> float:
    node = b"\x01" + bytes(64)
    return rate(n, lambda: [hashlib.sha256(node).digest() for _ in range(n)])


def offline_figures(n: int, proofs: int) -> dict[str, float]:
    tree = MemoryTree(str(i).encode() for i in range(n))
    root, picks = tree.root(), random.Random(1).sample(range(n), min(proofs, n))
    paths = [(leaf_hash(str(i).encode()), i, tree.inclusion_proof(i)) for i in picks]
    olds = [random.Random(2).randrange(1, n) for _ in range(len(picks))]
    steps = [(m, tree.root(m), tree.consistency_proof(m)) for m in olds]
    return {
        "in-memory tree build": rate(n, lambda: MemoryTree(str(i).encode() for i in range(n))),
        "inclusion proofs verified (path only)": rate(len(paths), lambda: [verify_inclusion(h, i, n, p, root) for h, i, p in paths]),
        "consistency proofs generated (memory)": rate(len(olds), lambda: [tree.consistency_proof(m) for m in olds]),
        "consistency proofs verified": rate(len(steps), lambda: [verify_consistency(m, n, r, root, p) for m, r, p in steps]),
    }


def main() -> None:
    sys.argv, proofs = _pop_proofs(sys.argv)
    args = arguments(__doc__.splitlines()[0], n=20_000)
    figures: dict[str, float] = {"raw SHA-256 (65-byte node, 1 thread)": max(raw_sha256_rate(args.n) for _ in range(args.repeat))}
    figures.update(offline_figures(args.n, proofs))
    with scratch_databases(args.postgres_url) as databases, tempfile.TemporaryDirectory() as key_dir:
        for backend, url in databases:
            ledger = filled_ledger(url, key_dir, args.n, args.batch)
            figures[f"{backend} stored tree build"] = rate(args.n, lambda: extend_tree(ledger.engine))
            create_checkpoint(ledger.engine, ledger.signer)
            seqs = random.Random(3).sample(range(1, args.n + 1), min(proofs, args.n))
            documents = []
            figures[f"{backend} inclusion proofs generated"] = max(
                rate(len(seqs), lambda: documents.extend(prove_inclusion(ledger.engine, s) for s in seqs))
                for _ in range(args.repeat)
            )
            bundled = []
            figures[f"{backend} bundle entries proven (batched)"] = max(
                rate(args.n // 3, lambda: bundled.append(balance_bundle(ledger.engine, "artist:monet")))
                for _ in range(args.repeat)
            )
            assert len(bundled[-1]["entries"]) == args.n // 3 + (args.n % 3 > 1)
            if backend == "postgresql":
                keyring = public_keyring(ledger.engine)
                texts = [json.dumps(d) for d in documents[: len(seqs)]]
                figures["proof documents verified (full, offline)"] = max(
                    rate(len(texts), lambda: [verify_document(t, keyring) for t in texts]) for _ in range(args.repeat)
                )
            ledger.engine.dispose()
    report(f"proofs n={args.n} proofs={proofs} best of {args.repeat}", figures, args)


def _pop_proofs(argv: list[str]) -> tuple[list[str], int]:
    """`--proofs K` (how many proofs to time) is this script's own option."""
    if "--proofs" in argv:
        at = argv.index("--proofs")
        return argv[:at] + argv[at + 2 :], int(argv[at + 1])
    return argv, 2000


if __name__ == "__main__":
    main()

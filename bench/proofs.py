"""Merkle tree, proof generation and proof verification rates, next to raw SHA-256.

The reference, measured in the same run: SHA-256 of 65-byte inputs (one interior node
hash, 0x01 ‖ left ‖ right) in one thread. Per backend: building the stored tree over n
ledger entries, inclusion proofs generated from the database one at a time for random
entries (three round trips each), and a balance bundle's proofs (nodes fetched in bulk).
Offline (no database): inclusion proofs verified (Merkle path only), whole proof
documents verified (entry encoding, hash, Ed25519 signature, key validity, path,
checkpoint signature), and consistency proofs generated and verified.

Cosigning (a witness, C2SP tlog-witness): the witness's whole decision for one
add-checkpoint request (parse, log signature, RFC 6962 consistency from the checkpoint it
holds, cosignature/v1) in process, and over HTTP on loopback to a real witness server
(state written and fsync'd per request), next to raw Ed25519 signing measured in the same
run; with the consistency-proof verification above, these are the parts a cosignature is
made of.

    python bench/proofs.py [--n 20000] [--proofs 2000] [--postgres-url URL]
"""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from _common import arguments, filled_ledger, rate, report, scratch_databases

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.tlog.checkpoint import Checkpoint, NoteKey, sign_checkpoint
from ledger.tlog.cosignature import cosign
from ledger.tlog.public_keys import Keyring, PublicKeyInfo, public_key_id
from ledger.tlog.merkle import MemoryTree, leaf_hash, verify_consistency, verify_inclusion
from ledger.tlog.proofs import verify_document
from ledger.transparency.tree import create_checkpoint, extend_tree
from ledger.transparency.proving import balance_bundle, prove_inclusion
from ledger.keys.lifecycle import public_keyring
from ledger.tlog.witness_protocol import decide, format_request, parse_request
from services.witness import init_witness, make_server


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


def raw_ed25519_sign_rate(n: int) -> float:
    key, message = Ed25519PrivateKey.generate(), bytes(120)  # about a cosigned message's size
    return rate(n, lambda: [key.sign(message) for _ in range(n)])


def cosigning_figures(n: int, checkpoints: int) -> dict[str, float]:
    """A chain of `checkpoints` growing checkpoints of an n-entry log, each proven from the last."""
    origin, log_key = "bench.example/ledger", Ed25519PrivateKey.generate()
    tree = MemoryTree(str(i).encode() for i in range(n))
    sizes = sorted(random.Random(4).sample(range(1, n + 1), checkpoints))
    heads = [Checkpoint(origin, size, tree.root(size), datetime.now(UTC)) for size in sizes]
    bodies = [format_request(0 if i == 0 else sizes[i - 1], [] if i == 0 else tree.consistency_proof(sizes[i - 1], size),
                             sign_checkpoint(head, log_key)) for i, (size, head) in enumerate(zip(sizes, heads))]
    keys, witness_key = [NoteKey(origin, log_key.public_key())], Ed25519PrivateKey.generate()

    def in_process() -> None:
        held = None
        for data in bodies:
            held = decide(parse_request(data), keys, held)
            cosign(held.text(), "witness.bench/w1", witness_key, int(time.time()))

    figures = {"witness cosignatures (in process)": rate(len(bodies), in_process)}
    with tempfile.TemporaryDirectory() as scratch:
        keys_file = Path(scratch) / "log-keys.pem"
        info = PublicKeyInfo(public_key_id(log_key.public_key()), log_key.public_key())
        keys_file.write_text(Keyring(origin, (info,)).render())
        init_witness(Path(scratch) / "witness", "witness.bench/w1")
        server = make_server(Path(scratch) / "witness", [keys_file], "127.0.0.1:0")
        threading.Thread(target=server.serve_forever, daemon=True).start()
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)

        def over_http() -> None:
            for data in bodies:
                connection.request("POST", "/add-checkpoint", body=data)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"the witness answered {response.status}")

        figures["witness cosignatures (HTTP, loopback, fsync)"] = rate(len(bodies), over_http)
        connection.close()
        server.shutdown()
        server.server_close()
    return figures


def main() -> None:
    sys.argv, proofs = _pop_proofs(sys.argv)
    args = arguments(__doc__.splitlines()[0], n=20_000)
    figures: dict[str, float] = {"raw SHA-256 (65-byte node, 1 thread)": max(raw_sha256_rate(args.n) for _ in range(args.repeat))}
    figures.update(offline_figures(args.n, proofs))
    figures["raw Ed25519 sign (1 thread)"] = max(raw_ed25519_sign_rate(args.n) for _ in range(args.repeat))
    cosigning = [cosigning_figures(args.n, min(proofs, args.n)) for _ in range(args.repeat)]
    figures.update({name: max(run[name] for run in cosigning) for name in cosigning[0]})
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

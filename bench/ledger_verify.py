"""Ledger verification rate on SQLite and PostgreSQL, next to raw Ed25519 verification.

The reference is measured in the same run: `Ed25519PublicKey.verify` of the same number
of 32-byte digests in one thread, with no database, encoding or hashing. The ledger holds
rewards as the writer books them (3 per event, each event's signed evidence checked by
`ledger verify`: two more Ed25519 verifications per event).

    python bench/ledger_verify.py [--n 20000] [--postgres-url URL]
"""

from __future__ import annotations

import hashlib
import tempfile

from _common import arguments, filled_ledger, rate, report, scratch_databases
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.audit.chain import verify_ledger


def raw_verify_rate(n: int) -> float:
    key = Ed25519PrivateKey.generate()
    digests = [hashlib.sha256(str(i).encode()).digest() for i in range(n)]
    signed = [(key.sign(d), d) for d in digests]
    public = key.public_key()
    return rate(n, lambda: [public.verify(s, d) for s, d in signed])


def main() -> None:
    args = arguments(__doc__.splitlines()[0], n=20_000)
    figures: dict[str, float] = {"raw Ed25519 verify (1 thread)": max(raw_verify_rate(args.n) for _ in range(args.repeat))}
    with scratch_databases(args.postgres_url) as databases, tempfile.TemporaryDirectory() as key_dir:
        for backend, url in databases:
            ledger = filled_ledger(url, key_dir, args.n, args.batch)
            reports = []

            def run() -> None:
                reports.append(verify_ledger(ledger.engine))

            figures[f"{backend} ledger verify"] = max(rate(args.n, run) for _ in range(args.repeat))
            rows = ledger.head()[0]
            figures[f"{backend} ledger verify"] *= rows / args.n  # rows actually verified (key entries, n//3*3 rewards)
            assert all(r.ok and r.checked == rows for r in reports), reports[-1]
            ledger.engine.dispose()
    report(f"verify n={args.n} best of {args.repeat}", figures, args)


if __name__ == "__main__":
    main()

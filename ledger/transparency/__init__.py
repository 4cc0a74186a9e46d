"""The transparency log on the database: the stored tree, checkpoints, proofs, witnesses.

Builds what `ledger.tlog` defines from the rows of `ledger.books`: the Merkle tree's
stored nodes, signed checkpoints, inclusion and consistency proofs, balance and period
bundles, and the cosignatures witnesses returned. May import `ledger.tlog`,
`ledger.books`, `ledger.keys`, `ledger.evidence` and `ledger.payouts`.
"""

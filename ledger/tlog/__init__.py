"""The transparency log's formats, pure: no database, no SQL (a contract checks it).

RFC 6962 Merkle trees and proofs, C2SP signed notes and checkpoints, cosignatures, the
witness protocol's messages, the public-keys file and the proof documents with their
offline verification. What an artist runs offline is this package plus the pure modules
it may import: `ledger.books.encoding` and `accounts`, `ledger.keys.history` and `trusted`,
`ledger.evidence.rewards` and `offline`, `ledger.payouts.close_documents`.
"""

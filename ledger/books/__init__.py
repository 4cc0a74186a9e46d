"""The book itself: double-entry transfers on the database, hash-chained and signed.

Owns the schema (every table and the invariants it keeps), the engines, the canonical
encoding of a row, account names, appending (`store`), the maintained balances written in
the append's transaction, events, reversals and the entries that move no money. The layer
everything else in `ledger` stands on: it may import `ledger`'s top-level modules
(errors, ids, money, crypto, strictjson, invariants) and `ledger.keys` (the append checks
its signer against the log's key history), and nothing from the other rooms.
"""

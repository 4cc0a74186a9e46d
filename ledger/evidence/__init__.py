"""What each reward was paid for: the signed evidence bound to its rows.

`rewards` and `offline` are pure (the offline verifier runs them); `store`, `bundle`,
`audit` and `audit_since` read and write the `reward_evidence` table. May import
`ledger.books` and `ledger.keys`; the pure modules import no SQL.
"""

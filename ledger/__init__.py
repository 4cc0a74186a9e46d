"""fairsplit ledger: signed, hash-chained, append-only double-entry bookkeeping."""

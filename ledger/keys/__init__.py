"""Keys: which key signs which entries, decided by the log itself.

`history` and `trusted` are pure (derived from key entries alone, read offline too);
`signing` keeps private keys on disk and public halves in a cache table; `log`,
`lifecycle`, `entries` and `roles` read and append key entries. A key is trusted because
a log entry says so, never because it sits in a table. May import `ledger`'s top-level
modules and `ledger.books`.
"""

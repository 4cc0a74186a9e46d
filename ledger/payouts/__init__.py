"""Payout periods and their close: what is paid, what is carried, and the record of it.

`periods`, `arithmetic` and `close_documents` are pure; `close`, `close_entries` and
`period_reading` work on the database, reading only one period's rows plus the balances
the previous close carried. May import `ledger.books`.
"""

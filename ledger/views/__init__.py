"""What an account holder or an operator is shown, read from the database as recorded.

Balances by period, history lines, one event's story, the head of the log for `status`.
Read-only: may import `ledger.books`, `ledger.payouts`, `ledger.statements` and
`ledger.transparency`; nothing here writes.
"""

"""Statements of a closed period: lines, streams, files (CSV, JSON, PDF) and their signed manifest.

`lines`, `layout` and `files` are pure renderings; `stream` and `export` read the
database one payee at a time. May import `ledger.books`, `ledger.keys`, `ledger.payouts`
and `ledger.transparency`.
"""

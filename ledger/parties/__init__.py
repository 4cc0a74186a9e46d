"""Who may take part: registered artists (with their galleries), platforms and their keys.

The registry's tables and the one-style-one-artist rule at its door. May import
`ledger.books` and `ledger.keys`.
"""

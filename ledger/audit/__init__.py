"""`ledger verify`: re-derive what was written and compare (the paired checks).

The whole chain (every seq, link, hash and signature, streaming), the maintained balances
and close entries re-derived from the entries checked, and `--since FILE` from a kept
checkpoint. May import every room of `ledger`; nothing imports it but the commands.
"""

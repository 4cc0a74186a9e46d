"""The artists' portal: a read-only web edge over the ledger (docs/portal.md).

A service like the ledger writer and the witness: a long-running process at the edge of
the system that reads the ledger and answers the outside world, so it lives in
`services/`. `tokens` (login links, written by the CLI only), `sessions` (signed cookies,
rate limits, headers), `views` (what an artist is shown, always of their own account),
`app` (routes), `offline` (the self-contained verify.html). The JavaScript verifier is
`static/fs-*.js`.
"""

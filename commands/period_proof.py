"""`balance ARTIST --proof FILE --period P`: one period's bundle, checked before it is handed out."""

from __future__ import annotations

import json

import typer

from commands.common import fail, settings_of
from ledger.errors import SigningKeyError
from ledger.keys.lifecycle import public_keyring
from ledger.keys.signing import load_signer
from ledger.transparency.period_bundles import period_bundle
from ledger.payouts.periods import Period
from ledger.tlog.proofs import VerificationError, verify_document


def verified_period_bundle(ctx: typer.Context, engine, account: str, period: Period, since: int | None) -> dict:
    """The period's bundle, verified as its reader will (offline check against the ledger's
    public keys): a ledger whose entries do not verify hands out nothing. Costs the bundle,
    not the history (`ledger verify` checks the whole log)."""
    if since is not None:
        fail("--since adds a consistency proof to a whole-history bundle; a period bundle is checked from its "
             "signed opening instead.")
    try:
        signer = load_signer(settings_of(ctx).key_dir, engine)
    except SigningKeyError:
        signer = None
    bundle = period_bundle(engine, account, period, signer)
    try:
        verify_document(json.dumps(bundle), public_keyring(engine))
    except VerificationError as exc:
        fail(f"The {period.id} bundle of {account} does not verify ({exc}); no proof bundle is handed out. "
             "Run `fairsplit ledger verify`.")
    return bundle

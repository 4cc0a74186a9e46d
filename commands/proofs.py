"""`fairsplit verify-proof`: check a proof, bundle or consistency proof offline."""

from __future__ import annotations

import typer

from commands.common import err, fail, out, print_json, read_input, say, witness_keys
from commands.options import AS_JSON, WITNESS_KEY, WITNESS_QUORUM
from services.safe_text import printable
from ledger.tlog.public_keys import KeyringError, parse_keyring
from ledger.tlog.proofs import MAX_DOCUMENT_BYTES, VerificationError, verify_document

app = typer.Typer()


@app.command("verify-proof")
def verify_proof(
    proof_file: str = typer.Argument(..., help="A proof, balance bundle or consistency proof (JSON)."),
    public_key: str = typer.Option(..., "--public-key", help="The ledger's public keys file (`fairsplit keys public`)."),
    previous: str | None = typer.Option(None, "--previous-checkpoint",
                                        help="A checkpoint (or earlier proof) you kept: the log must have only grown since."),
    witness_key: list[str] | None = WITNESS_KEY,
    witness_quorum: int | None = WITNESS_QUORUM,
    as_json: bool = AS_JSON,
) -> None:
    """Verify a proof offline (no database, no network): exit 0 valid, 1 invalid with the reason."""
    cosigners, quorum = witness_keys(witness_key, witness_quorum)
    try:
        keyring = parse_keyring(read_input(public_key, "public keys file", 1 << 20))
    except KeyringError as exc:
        fail(f"{public_key}: {exc}")
    data = read_input(proof_file, "proof file", MAX_DOCUMENT_BYTES)
    kept = None if previous is None else read_input(previous, "kept checkpoint file", MAX_DOCUMENT_BYTES)
    try:
        verified = verify_document(data, keyring, kept, witness_keys=cosigners, quorum=quorum)
    except VerificationError as exc:
        reason = str(exc)
    except Exception as exc:  # noqa: BLE001 - never a traceback, never "valid" by accident
        reason = f"The document could not be checked ({type(exc).__name__})."
    else:
        reason = None
    if as_json:
        print_json({"valid": reason is None, "reason": reason} if reason else {
            "valid": True, "format": verified.format, "tree_size": verified.checkpoint.size,
            "root_hash": verified.checkpoint.root_hash.hex(), "checks": verified.lines,
            "account": verified.account, "balances": verified.balances})
    elif reason is None:
        say("valid: " + printable("; ".join(verified.lines), newlines=False) + ".", "green", to=out)
    else:  # one line that nothing in the document can end, move or overwrite
        say("invalid: " + printable(reason, newlines=False), "bold red", to=err)
    if reason is not None:
        raise typer.Exit(1)

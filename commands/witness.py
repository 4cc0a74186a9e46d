"""`fairsplit witness`: run an independent witness that cosigns the ledger's checkpoints."""

from __future__ import annotations

import logging
import signal
import socket
import threading

import typer
from commands.common import fail, print_json, say
from commands.options import AS_JSON

app = typer.Typer(help="Run a witness: cosign checkpoints only when the log's history was not rewritten.",
                  no_args_is_help=True)


@app.command("init")
def init(
    directory: str = typer.Option(..., "--dir", help="The witness's own directory (created, mode 0700)."),
    name: str = typer.Option(None, "--name", help="The witness's name in its cosignatures (default witness.<host>/w1)."),
    as_json: bool = AS_JSON,
) -> None:
    """Create the witness's key (0600) and print its public key line for verifiers."""
    from services.witness import WitnessError, init_witness

    try:
        key = init_witness(directory, name or f"witness.{socket.gethostname() or 'local'}/w1")
    except WitnessError as exc:
        fail(str(exc))
    if as_json:
        print_json({"name": key.name, "directory": directory, "vkey": key.vkey(), "vkey_file": f"{directory}/witness.vkey"})
        return
    say(f"Witness {key.name} ready in {directory}. Its public key (give it to verifiers; also in "
        f"{directory}/witness.vkey):")
    say(key.vkey())


@app.command("serve")
def serve(
    directory: str = typer.Option(..., "--dir", help="A directory made by `fairsplit witness init`."),
    log_key: list[str] = typer.Option(..., "--log-key", help="A ledger's public keys file (`fairsplit keys public`); repeatable."),
    listen: str = typer.Option("127.0.0.1:7380", "--listen", help="HOST:PORT to serve the tlog-witness protocol on."),
) -> None:
    """Serve POST /add-checkpoint (and GET /<origin hash>/checkpoint) until stopped."""
    from services.witness import WitnessError, make_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        server = make_server(directory, log_key, listen)
    except WitnessError as exc:
        fail(str(exc))
    host, port = server.server_address[:2]
    witness = server.witness
    say(f"Witness {witness.identity.key.name} listening on http://{host}:{port} for {', '.join(witness.logs.origins)}.")
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    say("Witness shutting down.")

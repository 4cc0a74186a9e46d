"""Real witness processes for the tests: `fairsplit witness serve` on loopback ports."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ledger.tlog.cosignature import CosignerKey, parse_key_file
from services.witness import init_witness
from services.witness_client import WitnessEndpoint

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], env=ENVIRONMENT, capture_output=True,
                          text=True, timeout=timeout)


def cli_here(*args: str) -> subprocess.CompletedProcess:
    """`cli` in this process (Typer's runner): the same exit code, stdout and stderr, without
    starting Python for each call; an unexpected exception's traceback is put in stderr."""
    import traceback

    from typer.testing import CliRunner

    from cli import app

    result = CliRunner().invoke(app, list(args))
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, stderr)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WitnessProcess:
    """`fairsplit witness serve` in its own process; `stop()` sends SIGTERM like an operator."""

    def __init__(self, directory: Path, log_keys: Path, name: str) -> None:
        self.directory, self.log_keys, self.port = directory, log_keys, free_port()
        if not (directory / "witness.key").exists():  # what `fairsplit witness init` does, without a process
            init_witness(directory, name)  # (the command itself: test_proof_witness_cli, test_proof_witness_server)
        self.key: CosignerKey = parse_key_file((directory / "witness.vkey").read_bytes())[0]
        self.process: subprocess.Popen | None = None
        self.log = directory.parent / f"{directory.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> WitnessEndpoint:
        return WitnessEndpoint(self.url, self.key)

    def start(self) -> WitnessProcess:
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "cli.py"), "witness", "serve", "--dir", str(self.directory),
             "--log-key", str(self.log_keys), "--listen", f"127.0.0.1:{self.port}"],
            env=ENVIRONMENT, stdout=self.log.open("a"), stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the witness exited: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the witness did not start listening")

    def stop(self) -> str:
        """SIGTERM, wait, and return what the process printed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.process = None
        return self.log.read_text()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None


def post(url: str, body: bytes, path: str = "/add-checkpoint", headers: dict | None = None) -> tuple[int, str, str]:
    return exchange("POST", url, path, body, headers)


def exchange(method: str, url: str, path: str, body: bytes | None = None,
             headers: dict | None = None) -> tuple[int, str, str]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        connection.close()

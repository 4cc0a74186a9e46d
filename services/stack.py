"""The embedded stack: a broker (Tansu, unless one is configured) and both services as
child processes, the way they run in production, stopped cleanly together.

Children get SIGTERM on stop: each finishes its in-flight batch, commits and exits. They
run in their own sessions, so a SIGINT sent to `up`'s process group (Ctrl-C, or a
supervisor) reaches `up` alone, which then stops them in order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from services.broker_record import forget_broker, record_broker
from services.tansu import TansuBroker, die_with_parent, find_tansu

SERVICES = ("attribution", "ledger")


@dataclass
class Stack:
    bootstrap: str
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def check_alive(self) -> None:
        """Raise with the tail of its log if a service has exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = self.logs[name].read_text(errors="replace").strip().splitlines()[-5:]
                raise RuntimeError(f"the {name} service exited with code {process.returncode}: " + " | ".join(tail))


def _stop(process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_on_signals() -> None:
    """SIGTERM and SIGINT stop the caller like Ctrl-C (KeyboardInterrupt), so the stack's
    cleanup runs — SIGINT too where a shell started it with SIGINT ignored (no terminal)."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@contextmanager
def embedded_stack(env: Mapping[str, str], log_dir: Path, bootstrap: str | None = None,
                   service_args: Mapping[str, list[str]] | None = None, broker_bin: str | None = None) -> Iterator[Stack]:
    """Start the broker (if `bootstrap` is None) and both services; stop all on exit."""
    log_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        if bootstrap is None:
            broker = stack.enter_context(TansuBroker(log_path=log_dir / "broker.log",
                                                     binary=find_tansu(broker_bin) if broker_bin else None))
            bootstrap = broker.bootstrap
        running = Stack(bootstrap)
        child_env = {**os.environ, **env, "FAIRSPLIT_KAFKA_BOOTSTRAP": bootstrap, "PYTHONUNBUFFERED": "1"}
        try:
            for name in SERVICES:
                log = log_dir / f"{name}.log"
                handle = stack.enter_context(log.open("wb"))
                command = [sys.executable, "-m", "cli", "serve", name, *(service_args or {}).get(name, [])]
                running.processes[name] = subprocess.Popen(command, env=child_env, stdout=handle, stderr=subprocess.STDOUT,
                                                           preexec_fn=die_with_parent, start_new_session=True)
                running.logs[name] = log
            yield running
        finally:
            for process in running.processes.values():
                _stop(process)


@contextmanager
def recorded_stack(env: Mapping[str, str], state_dir: Path, bootstrap: str | None = None,
                   broker_bin: str | None = None) -> Iterator[Stack]:
    """`fairsplit up`'s stack: `embedded_stack` logging to `state_dir/logs`, its broker and
    processes recorded in `state_dir` while it runs (so `emit`, `serve`, `dead-letters
    --topic` and `status` find it) and forgotten when it stops, however it stops."""
    try:
        with embedded_stack(env, state_dir / "logs", bootstrap, broker_bin=broker_bin) as stack:
            record_broker(state_dir, stack.bootstrap, {name: process.pid for name, process in stack.processes.items()})
            yield stack
    finally:
        forget_broker(state_dir)

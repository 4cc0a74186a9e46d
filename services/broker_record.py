"""Where the broker of a running `fairsplit up` is: a small record in its state folder.

`up` writes `STATE_DIR/broker.json` once its broker answers and removes it when it stops;
`emit`, `serve`, `dead-letters --topic` and `status` read it when no bootstrap is given.
A record whose process is gone (a `kill -9`) is stale and ignored. The file is ours but
still read as hostile: only a `host:port` bootstrap and a positive pid are accepted.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_STATE_DIR = Path(".fairsplit")
RECORD_NAME = "broker.json"
_BOOTSTRAP = re.compile(r"[A-Za-z0-9.\-\[\]:]{1,253}:[0-9]{1,5}")


@dataclass(frozen=True)
class BrokerRecord:
    bootstrap: str
    pid: int
    started_at: str
    services: dict[str, int] | None = None  # service name -> pid

    def as_dict(self) -> dict:
        return {"bootstrap": self.bootstrap, "pid": self.pid, "started_at": self.started_at,
                "services": dict(self.services or {})}


def record_path(state_dir: Path) -> Path:
    return Path(state_dir) / RECORD_NAME


def record_broker(state_dir: Path, bootstrap: str, services: dict[str, int] | None = None) -> BrokerRecord:
    """Write the record of this process's broker (atomically: a reader never sees half)."""
    record = BrokerRecord(bootstrap, os.getpid(), datetime.now(UTC).isoformat(timespec="seconds"), services)
    path = record_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{RECORD_NAME}.{os.getpid()}")
    temporary.write_text(json.dumps(record.as_dict()) + "\n")
    os.replace(temporary, path)
    return record


def forget_broker(state_dir: Path) -> None:
    """Remove the record if this process wrote it (another `up` may have replaced it)."""
    record = read_record(state_dir, check_alive=False)
    if record is not None and record.pid == os.getpid():
        record_path(state_dir).unlink(missing_ok=True)


def read_record(state_dir: Path, check_alive: bool = True) -> BrokerRecord | None:
    """The record of a running `up` in `state_dir`, or None (absent, malformed or stale)."""
    path = record_path(state_dir)
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > 4096:
            return None
        data = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    bootstrap, pid, started = data.get("bootstrap"), data.get("pid"), data.get("started_at")
    services = data.get("services", {})
    if (not isinstance(bootstrap, str) or not _BOOTSTRAP.fullmatch(bootstrap) or type(pid) is not int or pid <= 0
            or not isinstance(started, str) or len(started) > 40 or not isinstance(services, dict) or len(services) > 16
            or not all(isinstance(k, str) and len(k) <= 64 and type(v) is int and v > 0 for k, v in services.items())):
        return None
    if check_alive and not alive(pid):
        return None
    return BrokerRecord(bootstrap, pid, started, dict(services))


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (a zombie counts until it is reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

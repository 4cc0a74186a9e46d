"""`fairsplit ledger demo`: sample rewards booked the way the ledger writer books them.

A demo platform (`demo`) and an attribution worker are registered with keys kept in the
ledger's key folder (`demo-sample-platform.pem`, `demo-sample-worker.pem`; their `key`
entries land in the log), and every sample reward is a platform-signed event inside a
worker-signed result, kept as the rewards' evidence (`services.signed_rewards`): a demo
ledger verifies like a real one. No model runs, so the shares mean nothing; samples go
only into a ledger that holds nothing else (`refuse_real_ledger`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

from sqlalchemy import func, select

from ledger.crypto import generate_private_key, key_id, read_private_key, write_private_key
from ledger.parties.registry import RegistryError
from ledger.books.schema import ARTISTS, PLATFORMS, SERVICE_KEYS, TRANSFERS
from ledger.books.store import Ledger
from services.signed_rewards import Signers, enrol, reward

SAMPLE_PLATFORM = "demo"
SAMPLE_NAMESPACE = uuid.UUID("7d3c1f0a-5b2e-4c8d-9e6f-1a2b3c4d5e6f")
#: What each sample reward pays (a worker-signed result states these shares).
SAMPLE_SHARES = {"artist:van-gogh": Fraction(1, 2), "artist:monet": Fraction(1, 5), "model:sd-1.5": Fraction(3, 10)}
SAMPLE_MICROS = 10_000  # 0.01 USD: an event reward is whole cents (ISO 4217 minor units)
SAMPLE_TIME = datetime(2026, 11, 24, 12, tzinfo=UTC)
PLATFORM_FILE, WORKER_FILE = "demo-sample-platform.pem", "demo-sample-worker.pem"


class DemoLedgerError(RegistryError):
    """`ledger demo` was asked to book into a ledger that holds real registrations or money."""


def refuse_real_ledger(ledger: Ledger, worker_key_id: str | None) -> None:
    """Samples go only into a ledger that holds nothing but them: no platform but `demo`,
    no artist, no worker key but the samples' own, no other platform's reward."""
    with ledger.engine.connect() as connection:
        platforms = set(connection.execute(select(PLATFORMS.c.platform_id)).scalars()) - {SAMPLE_PLATFORM}
        artists = connection.execute(select(func.count()).select_from(ARTISTS)).scalar_one()
        workers = set(connection.execute(select(SERVICE_KEYS.c.key_id)).scalars()) - {worker_key_id}
        other = connection.execute(select(func.count()).select_from(TRANSFERS).where(
            TRANSFERS.c.kind == "reward", TRANSFERS.c.debit_account != f"platform:{SAMPLE_PLATFORM}")).scalar_one()
    if platforms or artists or workers or other:
        raise DemoLedgerError("This ledger holds real registrations or transfers; `ledger demo` books sample "
                              "rewards only into an empty demo database (use `fairsplit up --demo` for the real "
                              "pipeline, or --database-url sqlite:///demo.db).")


def sample_signers(ledger: Ledger) -> Signers:
    """The demo platform's and worker's keys from the key folder, registered on first use."""
    if ledger.key_dir is None:
        raise DemoLedgerError("`ledger demo` needs the ledger's key folder to keep the sample keys in.")
    folder = Path(ledger.key_dir)
    paths = folder / PLATFORM_FILE, folder / WORKER_FILE
    if paths[0].exists() and paths[1].exists():
        platform, worker = read_private_key(paths[0]), read_private_key(paths[1])
        refuse_real_ledger(ledger, key_id(worker.public_key()))
    else:
        platform, worker = generate_private_key(), generate_private_key()
        refuse_real_ledger(ledger, None)
        for path, key in zip(paths, (platform, worker), strict=True):
            path.unlink(missing_ok=True)  # a half-written pair from an interrupted run
            write_private_key(path, key)
    return enrol(ledger, SAMPLE_PLATFORM, worker=worker, platform=platform)  # a no-op once registered


def book_sample_rewards(ledger: Ledger, events: int) -> tuple[int, int]:
    """Book `events` signed sample events of 0.01 USD (the same ids every time, so repeating
    is harmless); returns (transfers newly booked, transfers of those events in all)."""
    signers = sample_signers(ledger)
    recorded = sum(reward(ledger, signers, str(uuid.uuid5(SAMPLE_NAMESPACE, str(n))), SAMPLE_SHARES, SAMPLE_MICROS,
                          when=SAMPLE_TIME) == "recorded" for n in range(events))
    legs = len(SAMPLE_SHARES)
    return recorded * legs, events * legs

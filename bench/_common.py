"""Shared benchmark plumbing: scratch databases, sample transfers, the results file."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import RESULTS, record  # noqa: E402,F401 - re-exported for the benchmarks
from ledger.books.db import make_engine, upgrade_to_head  # noqa: E402
from ledger.keys.signing import load_or_create_signer  # noqa: E402
from ledger.books.store import Ledger, TransferSpec  # noqa: E402

DEFAULT_PG = os.environ.get("FAIRSPLIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
WHEN = datetime(2026, 11, 24, 12, tzinfo=UTC)


def arguments(description: str, n: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--postgres-url", default=DEFAULT_PG, help="admin URL; a scratch database is created next to it")
    parser.add_argument("--n", type=int, default=n, help="entries to write / verify per backend")
    parser.add_argument("--batch", type=int, default=5000, help="transfers per append call")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per figure; the best is reported (shared machines are noisy)")
    parser.add_argument("--no-record", action="store_true", help=f"do not append to {RESULTS.name}")
    return parser.parse_args()


@contextmanager
def scratch_databases(postgres_url: str) -> Iterator[list[tuple[str, str]]]:
    """[(backend, url)] of a fresh SQLite file and a fresh PostgreSQL database, dropped afterwards."""
    name = f"fs_bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(postgres_url, autocommit=True, connect_timeout=5)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            yield [("sqlite", f"sqlite:///{tmp}/bench.db"), ("postgresql", f"{postgres_url.rsplit('/', 1)[0]}/{name}")]
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def open_ledger(url: str, key_dir: str) -> Ledger:
    upgrade_to_head(url)
    engine = make_engine(url)
    signer, _ = load_or_create_signer(key_dir, engine)
    return Ledger(engine, signer)


def filled_ledger(url: str, key_dir: str, n: int, batch: int) -> Ledger:
    """A fresh ledger at `url` holding about `n` rewards (3 per event, each bound to its
    signed evidence, as the writer books them), booked `batch` rows at a time."""
    ledger = open_ledger(url, key_dir)
    items = signed_bookings(ledger, n)
    for i in range(0, len(items), max(1, batch // 3)):
        book(ledger, items[i : i + batch // 3])
    return ledger


def signed_bookings(ledger: Ledger, n: int, prefix: str = "bench") -> list:
    """(record, transfers, evidence) of n/3 events paying 3 payees each: platform-signed events,
    worker-signed results (no image: what a platform sending `image_embedding` costs), keys
    enrolled in the log on first use."""
    from services.signed_rewards import enrol, signed_result

    from services.contracts import parse_result
    from services.ledger_writer import AcceptedResult, booking

    signers = getattr(ledger, "bench_signers", None) or enrol(ledger)
    ledger.bench_signers = signers
    shares = {"artist:van-gogh": 0.5, "artist:monet": 0.3, "model:sd-1.5": 0.2}
    results = [signed_result(signers, str(uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}-{i}")), shares, 4000, when=WHEN)
               for i in range(n // 3)]
    return [booking(AcceptedResult(parse_result(result), result, signers.platform_key_id)) for result in results]


def book(ledger: Ledger, items: list) -> None:
    """Book events as the ledger writer does: records, evidence and rewards in one transaction."""
    from ledger.books.events import book_events

    book_events(ledger, [(record, specs) for record, specs, _ in items], [evidence for _, _, evidence in items])


def sample_specs(n: int, prefix: str = "bench") -> list[TransferSpec]:
    """`n` reward transfers shaped like production ones (3 payees per event)."""
    payees = ("artist:van-gogh", "artist:monet", "model:sd-1.5")
    return [
        TransferSpec(f"{prefix}-{uuid.UUID(int=i // 3)}", "platform:acme", payees[i % 3], 1333 + i % 3, "USD",
                     "reward", WHEN, attribution_id=f"att-{i // 3}")
        for i in range(n)
    ]


def rate(n: int, work: Callable[[], object]) -> float:
    """Entries per second of one run of `work` over `n` entries."""
    start = time.perf_counter()
    work()
    return n / (time.perf_counter() - start)


def report(title: str, figures: dict[str, float], args: argparse.Namespace) -> None:
    """Print the figures and, unless --no-record, append them to bench/RESULTS.md."""
    width = max(map(len, figures))
    print(title)
    for name, value in figures.items():
        print(f"  {name:<{width}}  {value:>10,.0f} entries/s")
    if not args.no_record:
        record(title, ", ".join(f"{name} {value:,.0f}/s" for name, value in figures.items()))

"""A writer process for the concurrency test: waits for a start file, then appends.

usage: python ledger_writer.py URL KEY_DIR NAME BATCHES START_FILE
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from ledger.books.db import make_engine
from ledger.keys.signing import load_signer
from ledger.books.store import Ledger, TransferSpec


def main(url: str, key_dir: str, name: str, batches: int, start_file: str) -> None:
    engine = make_engine(url)
    ledger = Ledger(engine, load_signer(key_dir, engine))
    while not Path(start_file).exists():
        time.sleep(0.005)
    now = datetime.now(UTC)
    for batch in range(batches):
        ledger.append([
            TransferSpec(f"{name}-{batch}", f"artist:{name}-{leg}", "payouts:USD", 100 + leg, "USD", "payout", now)
            for leg in range(3)
        ])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])

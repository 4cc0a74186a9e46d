"""A year of a large platform: appends, monthly closes, verify --since and one-month bundles.

Books --transfers reward transfers over --months months (two of --artists artists and the
model per event, Zipf-popular artists, shares drawn per event) with the ledger writer's own
append path (`Ledger.append`: sealing, signing, COPY on PostgreSQL, maintained balances),
closing each month a few days into the next one, as an operator would. Each figure is
printed next to its reference measured in the same run:
- append rate (first and last month) next to raw COPY of the same rows into a bare table;
- close time and peak RSS of the first and the last month (each close in a fresh process,
  RSS also shown over that process's start), last/first (goal <= 1.2 for both); the time
  also as CPU seconds of the close's process and its own PostgreSQL backends, which the
  machine's other load does not inflate as it does wall time;
- `verify --since` a checkpoint kept at the start of the last month next to a full verify;
- the busiest artist's one-month bundle: size, entries and build time.
The rewards are booked without signed evidence (no platform or worker signs 10 million
events here) and recorded as legacy ones behind an evidence start before the last
checkpoint, as `fairsplit init` does for an upgraded ledger: the figures leave out the
evidence pass's signature checks (`bench/ledger_verify.py` measures those).

    python bench/scale.py [--transfers 10000000] [--months 12] [--artists 60] [--backends postgresql]
    python bench/scale.py --quick      # a smoke run on both backends, well under 2 minutes
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _results import record  # noqa: E402

MODEL = "model:sd-1.5"
BATCH = 5000
EARLY = 0.1  # the share of a month booked before the previous month is closed
CLOSE_APP = "fairsplit-bench-close"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--artists", type=int, default=60)
    parser.add_argument("--backends", default="postgresql", help="postgresql, sqlite or both (comma-separated)")
    parser.add_argument("--postgres-url", default=os.environ.get("FAIRSPLIT_TEST_POSTGRES_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--quick", action="store_true", help="3 months of 1,500 transfers on both backends")
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    parser.add_argument("--close-child", nargs=3, metavar=("URL", "KEY_DIR", "PERIOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.transfers, args.months, args.backends = 1_500 * 3, 3, "postgresql,sqlite"
    return args


def month_start(month: int) -> datetime:
    return datetime(2026 + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


def month_events(month: int, per_month: int, artists: int, part: tuple[float, float]):
    """The reward specs of a slice [part) of `month`, in time order, a batch at a time."""
    from ledger.books.store import reward_transfers

    start, end = month_start(month), month_start(month + 1)
    events = per_month // 3
    rng = random.Random(month)
    popularity = [1 / (rank + 1) for rank in range(artists)]
    batch = []
    for k in range(events):
        first, second = rng.choices(range(artists), popularity, k=2)
        if first == second:
            second = (second + 1) % artists
        shares = {f"artist:a{first:02d}": Fraction(rng.randint(40, 80)), f"artist:a{second:02d}": Fraction(rng.randint(5, 30)),
                  MODEL: Fraction(rng.randint(10, 20))}
        when = start + (end - start) * (k / events)
        if not part[0] <= k / events < part[1]:
            continue
        batch += reward_transfers(str(uuid.UUID(int=month << 40 | k)), "acme", shares, rng.randint(1_000, 60_000),
                                  "USD", when)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def close_child(url: str, key_dir: str, period: str) -> None:
    """Close one period in this (fresh) process; print its time and memory as JSON."""
    import resource

    from ledger.payouts.close import close_period
    from ledger.books.db import make_engine
    from ledger.keys.signing import load_signer
    from ledger.books.store import Ledger

    postgres = url.startswith("postgresql")
    engine = make_engine(f"{url}?application_name={CLOSE_APP}" if postgres else url)
    ledger = Ledger(engine, load_signer(key_dir, engine))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu_began = _own_cpu()
    began = time.perf_counter()
    result = close_period(ledger, period, "USD", now=datetime(2100, 1, 1, tzinfo=UTC))
    seconds = time.perf_counter() - began
    cpu = _own_cpu() - cpu_began + (_backend_cpu(engine) if postgres else 0.0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "rss_mib": peak, "rss_over_start_mib": peak - base,
                      "payees": len(result.closed[-1].decisions)}))


def _own_cpu() -> float:
    usage = os.times()
    return usage.user + usage.system


def _backend_cpu(engine) -> float:
    """CPU seconds of this process's PostgreSQL backends (found by application name, read
    from /proc): with the process's own CPU, a close's cost that the machine's other load
    does not inflate, unlike its wall time."""
    from sqlalchemy import text

    with engine.connect() as connection:
        pids = connection.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                                  {"name": CLOSE_APP}).scalars().all()
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # another machine's database: its CPU is not ours to read
            return float("nan")
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def close_in_child(url: str, key_dir: str, period: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--close-child", url, key_dir, period],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the close of {period} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def reread_close(engine, month: int, repeat: int = 3) -> float:
    """Best of `repeat`: the reading and summing a close of `month` did (its opening
    balances and its period's rows), redone once the ledger is whole: both months measured
    back to back, on the same machine load."""
    from ledger.payouts.close import timeline
    from ledger.payouts.arithmetic import period_deltas
    from ledger.payouts.period_reading import mark_of, opening_balances, period_rows
    from ledger.payouts.periods import parse_period

    period = parse_period(f"{month_start(month):%Y-%m}")
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        with engine.connect() as connection:
            line = timeline(connection, "USD", period.cadence)
            opening_balances(connection, "USD", line, period)
            head = mark_of(line, period).through_seq
            period_deltas(period_rows(connection, "USD", line, period, period, head))
        best = min(best, time.perf_counter() - began)
    return best


def raw_copy_rate(engine, rows: int) -> float:
    """COPY of `rows` sealed rows (read back from the ledger) into a bare table of the same columns."""
    from ledger.books.schema import TRANSFER_COLUMNS

    columns = ", ".join(TRANSFER_COLUMNS)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE bench_copy AS SELECT * FROM transfers WITH NO DATA")
        data = connection.exec_driver_sql(f"SELECT {columns} FROM transfers ORDER BY seq LIMIT {rows}").all()
    with engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()
        began = time.perf_counter()
        with cursor.copy(f"COPY bench_copy ({columns}) FROM STDIN") as copy:
            for row in data:
                copy.write_row(row)
        return len(data) / (time.perf_counter() - began)


def run(backend: str, url: str, key_dir: str, args: argparse.Namespace) -> str:
    from ledger.audit.balances import audit
    from ledger.books.db import make_engine, upgrade_to_head
    from ledger.keys.entries import upgrade_specs
    from ledger.keys.signing import load_or_create_signer
    from ledger.transparency.period_bundles import period_bundle
    from ledger.payouts.periods import parse_period
    from ledger.books.store import Ledger
    from ledger.transparency.tree import create_checkpoint, verify_checkpoints
    from ledger.audit.chain import verify_ledger
    from ledger.audit.since import verify_since

    upgrade_to_head(url)
    engine = make_engine(url)
    signer, _ = load_or_create_signer(key_dir, engine)
    ledger = Ledger(engine, signer)
    per_month = args.transfers // args.months
    appended: dict[int, tuple[int, float]] = {}
    closes: dict[int, dict] = {}
    kept = None

    def book(month: int, part: tuple[float, float]) -> None:
        count, spent = appended.get(month, (0, 0.0))
        for batch in month_events(month, per_month, args.artists, part):
            began = time.perf_counter()
            ledger.append(batch)
            count, spent = count + len(batch), spent + time.perf_counter() - began
        appended[month] = (count, spent)

    for month in range(1, args.months + 2):
        book(month, (0.0, EARLY))
        if month >= 2:
            closes[month - 1] = close_in_child(url, key_dir, f"{month_start(month - 1):%Y-%m}")
            print(f"  {backend}: closed month {month - 1}: {closes[month - 1]}", flush=True)
        if month == args.months:
            kept = create_checkpoint(engine, signer)
        if month <= args.months:
            book(month, (EARLY, 1.0))
    ledger.append_decided(upgrade_specs)  # the rewards above are legacy ones (see the module docstring)
    head = create_checkpoint(engine, signer).size
    print(f"  {backend}: {head:,} entries booked; verify --since, then the full verify", flush=True)
    began = time.perf_counter()
    since = verify_since(engine, kept.note)
    since_s = time.perf_counter() - began
    began = time.perf_counter()
    full_ok = verify_ledger(engine).ok and verify_checkpoints(engine).ok and audit(engine).ok
    full_s = time.perf_counter() - began
    assert since.ok and full_ok, since.problem
    last = parse_period(f"{month_start(args.months):%Y-%m}")
    began = time.perf_counter()
    bundle = period_bundle(engine, "artist:a00", last, signer)
    bundle_s = time.perf_counter() - began
    size = len(json.dumps(bundle, indent=2, sort_keys=True))
    reread = {month: reread_close(engine, month) for month in (1, args.months)}
    copy = raw_copy_rate(engine, min(head, 200_000)) if backend == "postgresql" else None
    first, final = closes[1], closes[args.months]
    rate = {month: count / spent for month, (count, spent) in appended.items() if spent}
    engine.dispose()
    return (f"{backend} {head:,} entries, {args.months} months, {args.artists} artists: "
            f"append {rate[1]:,.0f}/s month 1, {rate[args.months]:,.0f}/s month {args.months}"
            + (f" (raw COPY {copy:,.0f}/s)" if copy else "")
            + f"; close CPU (process + its database backends) month 1 {first['cpu_seconds']:.2f} s, month "
            f"{args.months} {final['cpu_seconds']:.2f} s ({final['cpu_seconds'] / first['cpu_seconds']:.2f})"
            + f"; close wall month 1 {first['seconds']:.2f} s, RSS {first['rss_mib']:.0f} MiB (+{first['rss_over_start_mib']:.0f}),"
            f" month {args.months} {final['seconds']:.2f} s, RSS {final['rss_mib']:.0f} MiB "
            f"(+{final['rss_over_start_mib']:.0f}); last/first time {final['seconds'] / first['seconds']:.2f}, "
            f"RSS {final['rss_mib'] / first['rss_mib']:.2f} (goal <= 1.2); what a close reads and sums, best of 3 "
            f"after the run: month 1 {reread[1]:.2f} s, month {args.months} {reread[args.months]:.2f} s "
            f"({reread[args.months] / reread[1]:.2f})"
            f"; verify --since the last month {since_s:.1f} s ({since.checked:,} entries) vs full verify {full_s:.1f} s "
            f"({head:,} entries)"
            f"; one-month bundle of artist:a00 {len(bundle['entries']):,} entries, {size / 1e6:.1f} MB, built in {bundle_s:.1f} s")


def main() -> None:
    args = arguments()
    if args.close_child:
        close_child(*args.close_child)
        return
    import psycopg

    started, shown = time.perf_counter(), []
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as work:
            if backend == "sqlite":
                line = run(backend, f"sqlite:///{work}/scale.db", f"{work}/keys", args)
            else:
                name = f"fs_scale_{uuid.uuid4().hex[:12]}"
                admin = psycopg.connect(args.postgres_url, autocommit=True, connect_timeout=5)
                admin.execute(f'CREATE DATABASE "{name}"')
                try:
                    line = run(backend, f"{args.postgres_url.rsplit('/', 1)[0]}/{name}", f"{work}/keys", args)
                finally:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    admin.close()
        print(line, flush=True)
        shown.append(line)
    if not args.no_record:
        record(f"scale n={args.transfers:,}", "; ".join(shown))
    print(f"done in {timedelta(seconds=round(time.perf_counter() - started))}")


if __name__ == "__main__":
    main()

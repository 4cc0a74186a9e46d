"""End-to-end pipeline events/s and produce→booked latency, next to the raw consume rate.

Everything runs against one Tansu broker started for the run and a scratch PostgreSQL
database: a registered platform, the demo artists with tiny-profile galleries, and the
two services as subprocesses (`python -m cli serve attribution|ledger`, as deployed).
Per mode, signed events are produced in one burst after a warm-up; the figure is events
booked per second (first send → last `events.recorded_at`) and p50/p99 of each event's
send time → its `recorded_at`.

Modes:
- `precomputed`: the worker's attribution step returns a precomputed result per artist
  set (computed once, with the real tiny model, during the warm-up), so every other
  cost stays: admission and platform-signature check, result signing, both Kafka hops,
  result verification, the ledger transaction. This is "the pipeline without the
  model's own compute".
- `text`: the CLIP-text approximation (`--mode text`), tiny profile.
- `generative`: the tiny profile's full coalition renders (CPU here).

Reference, same broker, same run: a plain kafka-python consumer reading `--raw-n`
records of the same size from a topic with the same partition count.

    python bench/pipeline.py [--n 400] [--n-model 40] [--modes precomputed,text,generative]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORM = "acme"
PARTITIONS = 2


# --- the precomputed worker (runs in its own process) --------------------------------


def serve_precomputed_worker() -> None:
    """`cli serve attribution` with `attribute_many` answered from a per-artist-set cache."""
    from dataclasses import replace

    # Only the checkout under test (PYTHONPATH) is imported here: _common is not, it puts this one first.
    import services.attribution_worker as worker

    real, cache = worker.attribute_many, {}

    def precomputed(requests, models, galleries=None, config=None, renderer=None, **kwargs):
        keys = [tuple(sorted(s.artist_id for s in r.styles)) for r in requests]
        fresh = {k: r for k, r in zip(keys, requests) if k not in cache}
        if fresh:
            cache.update(zip(fresh, real(list(fresh.values()), models, galleries, config, renderer, **kwargs)))
        return [replace(cache[k], event_id=r.event_id) for k, r in zip(keys, requests)]

    worker.attribute_many = precomputed
    from cli import app

    app(["serve", "attribution"], prog_name="fairsplit")


# --- set-up --------------------------------------------------------------------------


def registry(database_url: str, workdir: Path):
    """Init the ledger, register platform `acme` and the demo artists; returns the platform key."""
    from typer.testing import CliRunner

    from cli import app
    from fairsplit.profiles import load_profile
    from services.demo import DEMO_ARTISTS, render_gallery
    from ledger.crypto import generate_private_key, public_key_pem

    def cli(*args: str) -> None:
        result = CliRunner().invoke(app, ["--database-url", database_url, "--key-dir", str(workdir / "keys"), *args])
        if result.exit_code != 0:
            raise RuntimeError(f"fairsplit {' '.join(args)} failed: {result.output}")

    key = generate_private_key()
    (workdir / "acme.pub.pem").write_bytes(public_key_pem(key.public_key()))
    cli("init")
    cli("platforms", "add", PLATFORM, "--public-key", str(workdir / "acme.pub.pem"))
    cli("keys", "enroll", "attribution-worker")
    from fairsplit.sources import DEFAULT_CACHE, ModelSources

    models = load_profile("tiny", ModelSources(cache_dir=Path(os.environ.get("FAIRSPLIT_MODEL_CACHE", DEFAULT_CACHE))))
    for artist in DEMO_ARTISTS:
        folder = render_gallery(models, artist, workdir / "galleries" / artist.artist_id, count=2)
        cli("artists", "add", artist.artist_id, "--name", artist.name, "--gallery", str(folder), "--profile", "tiny")
    return key


BASELINE_SET_UP = """
import sys
from pathlib import Path
from typer.testing import CliRunner
from cli import app
from services.demo import DEMO_ARTISTS
database_url, workdir = sys.argv[1], Path(sys.argv[2])
def cli(*args):
    result = CliRunner().invoke(app, ["--database-url", database_url, "--key-dir", str(workdir / "keys-baseline"), *args])
    if result.exit_code != 0:
        raise SystemExit(f"fairsplit {' '.join(args)} failed: {result.output}")
cli("init")
cli("platforms", "add", "acme", "--public-key", str(workdir / "acme.pub.pem"))
for artist in DEMO_ARTISTS:
    cli("artists", "add", artist.artist_id, "--name", artist.name, "--gallery", str(workdir / "galleries" / artist.artist_id),
        "--profile", "tiny")
"""


def baseline_registry(root: Path, database_url: str, workdir: Path) -> None:
    """The same platform key and galleries registered by the baseline checkout's own CLI in its own database.

    The baseline's schema and key handling are its own (an older checkout refuses a newer schema), so it
    gets a database it initialised itself; the events it is sent are the same signed bytes."""
    env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", BASELINE_SET_UP, database_url, str(workdir)], cwd=root, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"setting up the baseline at {root} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def events(rng: random.Random, key, n: int, every_artist_set: bool = False) -> list[dict]:
    """`n` signed events; with `every_artist_set`, the first ones name each set of demo artists once."""
    from itertools import combinations

    from services.demo import DEMO_ARTISTS, sample_event
    from services.signing import sign_event

    sets = [c for k in range(1, len(DEMO_ARTISTS) + 1) for c in combinations(DEMO_ARTISTS, k)] if every_artist_set else []
    made = []
    for i in range(n):
        body = sample_event(rng, PLATFORM)
        if i < len(sets):
            body["styles"] = [{"artist_id": a.artist_id, "phrase": a.phrase} for a in sets[i]]
            body["prompt"] = ", ".join([body["content"], *(a.phrase for a in sets[i])])
        made.append(sign_event(body, key))
    return made


# --- measuring -----------------------------------------------------------------------


def raw_consume_rate(bootstrap: str, n: int, size: int) -> float:
    """Records/s of a plain KafkaConsumer reading `n` records of `size` bytes (assigned, from the start)."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from services.kafka import ensure_topics

    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, [topic], PARTITIONS)
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    payload = b"x" * size
    for i in range(n):
        producer.send(topic, key=str(i).encode(), value=payload)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    consumer.seek_to_beginning()
    seen, start = 0, time.perf_counter()
    deadline = start + 120
    while seen < n and time.perf_counter() < deadline:
        seen += sum(len(batch) for batch in consumer.poll(timeout_ms=500).values())
    elapsed = time.perf_counter() - start
    consumer.close()
    if seen < n:
        raise RuntimeError(f"raw consumer read only {seen} of {n} records in 120 s")
    return n / elapsed


class Services:
    """Both services as subprocesses on one topic prefix; stopped with SIGTERM."""

    def __init__(self, mode: str, database_url: str, workdir: Path, bootstrap: str, session_timeout_ms: int,
                 root: Path = ROOT):
        keys = workdir / ("keys" if root == ROOT else "keys-baseline")
        self.prefix = f"b{uuid.uuid4().hex[:8]}."
        env = {
            **os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(root), "FAIRSPLIT_DATABASE_URL": database_url, "FAIRSPLIT_KEY_DIR": str(keys),
            "FAIRSPLIT_KAFKA_BOOTSTRAP": bootstrap, "FAIRSPLIT_TOPIC_PREFIX": self.prefix,
            "FAIRSPLIT_KAFKA_PARTITIONS": str(PARTITIONS), "FAIRSPLIT_KAFKA_SESSION_TIMEOUT_MS": str(session_timeout_ms),
            "FAIRSPLIT_MODE": "text" if mode == "text" else "generative",
        }
        worker = ([sys.executable, str(Path(__file__).resolve()), "--serve-precomputed-worker"] if mode == "precomputed"
                  else [sys.executable, "-m", "cli", "serve", "attribution"])
        self.logs = {name: workdir / f"{mode}-{uuid.uuid4().hex[:4]}-{name}.log" for name in ("worker", "writer")}
        self.processes = {
            name: subprocess.Popen(command, cwd=root, env=env, stdout=self.logs[name].open("wb"), stderr=subprocess.STDOUT)
            for name, command in (("worker", worker), ("writer", [sys.executable, "-m", "cli", "serve", "ledger"]))
        }

    def check(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = self.logs[name].read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the {name} exited with code {process.returncode}:\n{tail}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


def booked(engine, event_ids: list[str]) -> dict[str, float]:
    """event id → recorded_at (epoch seconds) of the booked ones among `event_ids`."""
    from sqlalchemy import select

    from ledger.books.schema import EVENTS

    with engine.connect() as connection:
        rows = connection.execute(select(EVENTS.c.event_id, EVENTS.c.recorded_at).where(EVENTS.c.event_id.in_(event_ids)))
        return {event_id: (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() for event_id, at in rows}


def send(bootstrap: str, topic: str, batch: list[dict]) -> dict[str, float]:
    """Produce `batch`; event id → wall-clock send time."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_request_size=16 * 1024 * 1024)
    sent = {}
    for event in batch:
        sent[event["event_id"]] = time.time()
        producer.send(topic, key=event["event_id"].encode(), value=json.dumps(event).encode())
    producer.flush()
    producer.close()
    return sent


def wait_booked(engine, services: Services, event_ids: list[str], timeout_s: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = booked(engine, event_ids)
        if len(found) == len(event_ids):
            return found
        services.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(found)} of {len(event_ids)} events were booked in {timeout_s:.0f} s")
        time.sleep(0.2)


def run_mode(mode: str, n: int, key, engine, database_url: str, workdir: Path, bootstrap: str, args,
             root: Path = ROOT) -> dict[str, float]:
    rng = random.Random(f"{mode}-{n}-{root}")
    services = Services(mode, database_url, workdir, bootstrap, args.session_timeout_ms, root)
    try:
        topic = services.prefix + "generation.events"
        warm = events(rng, key, 8, every_artist_set=True)
        wait_booked(engine, services, list(send(bootstrap, topic, warm)), timeout_s=180)
        burst = events(rng, key, n)
        sent = send(bootstrap, topic, burst)
        landed = wait_booked(engine, services, list(sent), timeout_s=args.timeout_s)
    finally:
        services.stop()
    latencies = sorted(landed[e] - sent[e] for e in sent)
    return {
        "events/s": n / (max(landed.values()) - min(sent.values())),
        "p50 s": statistics.median(latencies),
        "p99 s": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "n": n,
    }


def main() -> None:
    from _common import DEFAULT_PG, RESULTS, record, scratch_databases

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=DEFAULT_PG, help="admin URL; a scratch database is created next to it")
    parser.add_argument("--n", type=int, default=400, help="events per model-free mode (precomputed, text)")
    parser.add_argument("--n-model", type=int, default=40, help="events for the generative mode")
    parser.add_argument("--raw-n", type=int, default=20_000, help="records for the raw consume reference")
    parser.add_argument("--modes", default="precomputed,text,generative")
    parser.add_argument("--session-timeout-ms", type=int, default=6000, help="Tansu's group join waits half of it")
    parser.add_argument("--timeout-s", type=float, default=300.0, help="give up on a mode after this long")
    parser.add_argument("--baseline-root", type=Path, help="also run the precomputed mode with the services of this "
                        "checkout (e.g. main), as a same-run reference for a change")
    parser.add_argument("--no-record", action="store_true", help=f"do not append to {RESULTS.name}")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ledger.books.db import make_engine
    from services.tansu import TansuBroker

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    runs = [(mode, ROOT) for mode in modes] + ([("precomputed", args.baseline_root.resolve())] if args.baseline_root else [])
    figures: dict[str, dict[str, float]] = {}
    with ExitStack() as stack:
        database_url = dict(stack.enter_context(scratch_databases(args.postgres_url)))["postgresql"]
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        key = registry(database_url, workdir)
        engines = {ROOT: (database_url, make_engine(database_url))}
        if args.baseline_root:
            baseline_url = dict(stack.enter_context(scratch_databases(args.postgres_url)))["postgresql"]
            baseline_registry(args.baseline_root.resolve(), baseline_url, workdir)
            engines[args.baseline_root.resolve()] = (baseline_url, make_engine(baseline_url))
        with TansuBroker(log_path=workdir / "broker.log") as broker:
            size = len(json.dumps(events(random.Random(0), key, 1)[0]))
            raw = raw_consume_rate(broker.bootstrap, args.raw_n, size)
            print(f"raw kafka-python consume ({args.raw_n} records of {size} B): {raw:,.0f} records/s")
            for mode, root in runs:
                n = args.n_model if mode == "generative" else args.n
                name = mode if root == ROOT else f"{mode} with {root}"
                url, engine = engines[root]
                figures[name] = run_mode(mode, n, key, engine, url, workdir, broker.bootstrap, args, root)
                f = figures[name]
                print(f"{name:>12}: {f['events/s']:8,.1f} events/s ({100 * f['events/s'] / raw:.2f}% of raw consume), "
                      f"latency p50 {f['p50 s']:.3f} s p99 {f['p99 s']:.3f} s, n={n}")
        for _, engine in engines.values():
            engine.dispose()
    shown = "; ".join(f"{mode} {f['events/s']:,.1f} events/s ({100 * f['events/s'] / raw:.2f}% of raw) "
                      f"p50 {f['p50 s']:.2f} s p99 {f['p99 s']:.2f} s n={f['n']}" for mode, f in figures.items())
    if not args.no_record:
        record("pipeline tiny profile, Tansu + PostgreSQL, services as subprocesses",
               f"raw kafka-python consume {raw:,.0f} records/s (same broker, {size} B records); {shown}")


if __name__ == "__main__":
    # The worker mode is chosen before main() imports _common, which puts this checkout first on the path.
    if sys.argv[1:] == ["--serve-precomputed-worker"]:
        serve_precomputed_worker()
    else:
        main()

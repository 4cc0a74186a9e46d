"""`fairsplit serve attribution|ledger`: one member of a service's consumer group."""

from __future__ import annotations

import typer

from commands.common import broker_errors, fail, open_ledger, ready_engine, settings_of, user_errors
from commands.options import setting
from commands.settings import Settings
from commands.wiring import witness_pool, worker_task, writer_task

app = typer.Typer(help="Run a service: the attribution worker or the ledger writer.", no_args_is_help=True)


def kafka_settings(settings: Settings):
    """Where the broker is: --bootstrap or FAIRSPLIT_KAFKA_BOOTSTRAP, else the broker of the
    `fairsplit up` running in this folder (its record in .fairsplit/broker.json)."""
    from services.broker_record import DEFAULT_STATE_DIR, read_record
    from services.runners import KafkaSettings

    bootstrap = settings.bootstrap
    if not bootstrap:
        record = read_record(DEFAULT_STATE_DIR)
        if record is None:
            fail("no Kafka bootstrap server: pass --bootstrap or set FAIRSPLIT_KAFKA_BOOTSTRAP, or run "
                 "`fairsplit up` in this folder (its broker is then found by itself).")
        bootstrap = record.bootstrap
    return KafkaSettings(bootstrap, settings.partitions, settings.session_timeout_ms,
                         max(1000, settings.session_timeout_ms // 6), settings.metrics_port, settings.topic_prefix)


def _serve(processor) -> None:
    from services.observability import configure_logging

    configure_logging(processor.service)
    processor.run(handle_signals=True)


@app.command("attribution")
def attribution(
    ctx: typer.Context,
    bootstrap: str | None = setting("bootstrap"),
    partitions: int | None = setting("partitions"),
    session_timeout_ms: int | None = setting("session_timeout_ms"),
    metrics_port: int | None = setting("metrics_port"),
    topic_prefix: str | None = setting("topic_prefix"),
    routes: str | None = setting("routes"),
    tau: float | None = setting("tau"),
    value_correction: str | None = setting("value_correction"),
    mode: str | None = setting("mode"),
    batch_size: int | None = setting("batch_size"),
    compile: bool | None = setting("compile"),
    gpu_memory_gib: float | None = setting("gpu_memory_gib"),
    compile_cache: str | None = setting("compile_cache"),
) -> None:
    """generation.events → attribution → attribution.results (one member of the worker group; one per GPU)."""
    from services.runners import worker_stream

    with user_errors():
        settings = settings_of(ctx).merge(bootstrap=bootstrap, partitions=partitions, session_timeout_ms=session_timeout_ms,
                                          metrics_port=metrics_port, topic_prefix=topic_prefix, routes=routes, tau=tau,
                                          value_correction=value_correction, mode=mode, batch_size=batch_size, compile=compile,
                                          gpu_memory_gib=gpu_memory_gib, compile_cache=compile_cache)
        task = worker_task(settings, ready_engine(ctx))
    kafka = kafka_settings(settings)
    with broker_errors(kafka.bootstrap):
        processor = worker_stream(kafka, task, task.finish, batch_size=settings.batch_size)
    _serve(processor)


@app.command("ledger")
def ledger(
    ctx: typer.Context,
    bootstrap: str | None = setting("bootstrap"),
    partitions: int | None = setting("partitions"),
    session_timeout_ms: int | None = setting("session_timeout_ms"),
    metrics_port: int | None = setting("metrics_port"),
    topic_prefix: str | None = setting("topic_prefix"),
    checkpoint_entries: int | None = setting("checkpoint_entries"),
    checkpoint_seconds: float | None = setting("checkpoint_seconds"),
    witnesses: str | None = setting("witnesses"),
    witness_quorum: int | None = setting("witness_quorum"),
) -> None:
    """attribution.results → the ledger, a batch of events per transaction, committed after the database."""
    from services.runners import writer_stream

    with user_errors():
        settings = settings_of(ctx).merge(bootstrap=bootstrap, partitions=partitions, session_timeout_ms=session_timeout_ms,
                                          metrics_port=metrics_port, topic_prefix=topic_prefix,
                                          checkpoint_entries=checkpoint_entries, checkpoint_seconds=checkpoint_seconds,
                                          witnesses=witnesses, witness_quorum=witness_quorum)
        ledger = open_ledger(ctx, signing=True)
        pool = witness_pool(settings)
        task = writer_task(settings, ledger, pool)
    kafka = kafka_settings(settings)
    with broker_errors(kafka.bootstrap):
        processor = writer_stream(kafka, task)
    if pool is not None:
        pool.start(ledger.engine)
    try:
        _serve(processor)
    finally:
        if pool is not None:
            pool.stop()


@app.command("portal")
def portal(
    ctx: typer.Context,
    listen: str | None = setting("portal_listen"),
    portal_url: str | None = setting("portal_url"),
    witnesses: str | None = setting("witnesses"),
    witness_quorum: int | None = setting("witness_quorum"),
) -> None:
    """The artists' portal (read-only web pages, verified in the browser); login links: `fairsplit portal token`."""
    from commands.wiring import portal_app

    with user_errors():
        settings = settings_of(ctx).merge(portal_listen=listen, portal_url=portal_url, witnesses=witnesses,
                                          witness_quorum=witness_quorum)
        host, port = listen_address(settings.portal_listen)
        application = portal_app(settings)
    import uvicorn

    from services.observability import configure_logging

    configure_logging("portal")
    uvicorn.run(application, host=host, port=port, server_header=False, proxy_headers=False,
                log_level="warning", access_log=False)


def listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
        fail(f"--listen {text!r} must be HOST:PORT, e.g. 127.0.0.1:8780.")
    return host.strip("[]"), int(port)

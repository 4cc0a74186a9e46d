"""The composition root: the services' tasks assembled from settings, the ledger and the
registry — once, here, for `serve`, `ingest` and `up` alike.

Trust is never granted here implicitly: the worker's key must already be enrolled by an
operator (`fairsplit keys enroll attribution-worker`), and a command refuses to start
otherwise, saying how to enrol it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from commands.settings import Settings, SettingsError
from ledger.errors import SigningKeyError

if TYPE_CHECKING:  # the services are imported by the command that starts them: the CLI starts in a blink
    from sqlalchemy.engine import Engine

    from ledger.books.store import Ledger
    from services.ledger_writer import WriterTask
    from services.witness_client import WitnessPool


class NotEnrolledError(SigningKeyError):
    """A service key that no operator has enrolled (or that was revoked)."""


def worker_task(settings: Settings, engine: Engine):
    """The attribution worker's `WorkerTask` (imports the model stack and loads the models
    lazily, on the first batch: a worker starts, and refuses a bad configuration, in a second)."""
    from fairsplit.profile import MODES
    from fairsplit.request import AttributionConfig
    from services.admission import Gate
    from services.lookups import RegistryLookups
    from services.routes import parse_routes
    from services.attribution_worker import Attributor, WorkerTask, load_models, load_worker_key, worker_key_path

    if settings.mode not in MODES:
        raise SettingsError(f"Unknown mode {settings.mode!r}; choose one of: {', '.join(MODES)}.")
    try:
        routes = parse_routes(settings.routes)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    path = worker_key_path(settings.key_dir)
    if not path.exists():
        raise NotEnrolledError(f"There is no attribution-worker key at {path}; create and enrol one with "
                               "`fairsplit keys enroll attribution-worker`.")
    key = load_worker_key(settings.key_dir)
    lookups = RegistryLookups(engine)
    if lookups.worker_key(key.key_id) is None:
        raise NotEnrolledError(f"The attribution-worker key {key.key_id} ({path}) is not enrolled in this ledger, "
                               "or is revoked; an operator enrols it with `fairsplit keys enroll attribution-worker`.")
    gate = Gate(lookups.platform_keys, lookups.known_artists, routes, settings.event_window,
                max_event_work=settings.max_event_work)
    sources, acceleration = settings.model_sources, settings.acceleration()
    attributor = Attributor(lookups.galleries, key, AttributionConfig(mode=settings.mode, tau=settings.tau,
                                                                     value_correction=settings.value_correction),
                            load=lambda profile: load_models(profile, sources, acceleration), works=lookups.work)
    return WorkerTask(gate.admit, lookups.recorded, attributor)


def witness_pool(settings: Settings) -> WitnessPool | None:
    """The witnesses the ledger asks to cosign its checkpoints (None when none are configured)."""
    from services.witness_client import WitnessPool, parse_witness_list

    if not settings.witnesses.strip():
        return None
    try:
        return WitnessPool(parse_witness_list(settings.witnesses), settings.witness_quorum)
    except ValueError as exc:
        raise SettingsError(f"FAIRSPLIT_WITNESSES: {exc}") from None


def writer_task(settings: Settings, ledger: Ledger, witnesses: WitnessPool | None = None) -> WriterTask:
    """The ledger writer's `WriterTask`: accept (worker and platform signatures, window), book,
    sign a checkpoint every N entries or T seconds and wake the witnesses to cosign it (in
    the background: a witness that is down delays cosigning, never booking)."""
    from ledger.keys.entries import anchor_specs
    from ledger.transparency.tree import maybe_checkpoint
    from services.ledger_writer import ResultChecks, WriterTask, accept_result
    from services.lookups import RegistryLookups

    ledger.append_decided(anchor_specs)  # a ledger from before evidence-bound rewards anchors its keys, once
    lookups = RegistryLookups(ledger.engine)
    checks = ResultChecks(lookups.worker_key, lookups.platform_keys, settings.event_window)

    def checkpoint() -> None:
        made = maybe_checkpoint(ledger.engine, ledger.signer, settings.checkpoint_entries, settings.checkpoint_seconds,
                                settings.ledger_origin or None)
        if made is not None and witnesses is not None:
            witnesses.notify()

    return WriterTask(lambda raw: accept_result(raw, checks), ledger, checkpoint)


def portal_app(settings: Settings):
    """The artists' portal on a read-only view of the configured database (SQLite opened
    read-only; PostgreSQL through the SELECT-only role its URL names, docs/portal.md)."""
    from ledger.books.db import check_ready
    from services.portal.app import PortalConfig, create_app, read_only_engine

    engine = read_only_engine(settings.database_url)
    check_ready(engine)
    pool = witness_pool(settings)  # the writer's parse: a malformed list is one sentence
    vkeys = tuple(endpoint.key.vkey() for endpoint in pool.endpoints) if pool is not None else ()

    def explain(event_id: str) -> bytes:
        from services.explain import explain_event

        return explain_event(engine, event_id, settings.model_sources, settings.acceleration(serving=False)).png

    return create_app(engine, PortalConfig(settings.portal_url, vkeys, settings.witness_quorum, explain))

"""Registries: artists with galleries, platforms with keys; registered once, never swapped."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger.crypto import key_id, load_public_key, public_key_pem
from ledger.parties.registry import (
    RegistryError,
    active_platform_keys,
    add_artist,
    add_platform,
    artist_thumbnails,
    enroll_service_key,
    get_artists,
    platform_key_history,
    revoke_platform_keys,
    revoke_service_key,
    rotate_platform_key,
    service_key_history,
    service_keys,
)

PEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----"


def test_artist_gallery_round_trips_as_float32(env):
    assert add_artist(env.engine, "van-gogh", "Vincent van Gogh", [0.6, 0.8], 3, "clip-x")
    artist = get_artists(env.engine, ["van-gogh"])["van-gogh"]
    assert artist.gallery == pytest.approx((0.6, 0.8), abs=1e-7)
    assert (artist.gallery_count, artist.gallery_model_id) == (3, "clip-x")
    assert get_artists(env.engine, ["nobody"]) == {}


def test_registering_again_is_a_no_op_but_different_content_is_refused(env):
    add_artist(env.engine, "van-gogh", "Vincent van Gogh", [0.6, 0.8], 3, "clip-x")
    assert not add_artist(env.engine, "van-gogh", "Vincent van Gogh", [0.6, 0.8], 3, "clip-x")
    with pytest.raises(RegistryError, match="already registered"):
        add_artist(env.engine, "van-gogh", "Vincent van Gogh", [0.8, 0.6], 3, "clip-x")
    assert add_platform(env.ledger, "acme", PEM)
    assert not add_platform(env.ledger, "acme", PEM + "\n")
    with pytest.raises(RegistryError, match="already registered"):
        add_platform(env.ledger, "acme", PEM.replace("Gb9", "Hb9"))
    assert active_platform_keys(env.engine) == {"acme": [PEM + "\n"]}
    with env.engine.connect() as connection:  # one key identity: the key id, also in the platform's row
        stored = connection.execute(text("SELECT fingerprint FROM platforms WHERE platform_id = 'acme'")).scalar_one()
    assert stored == key_id(load_public_key(PEM.encode())) == "e744c0791320c328"


@pytest.mark.parametrize("bad", ["", "Van Gogh", "-x", "a" * 65, "x/y"])
def test_malformed_ids_are_refused(env, bad):
    with pytest.raises(RegistryError, match="must be 1-64 characters"):
        add_artist(env.engine, bad, "Name", [1.0], 1, "clip-x")


def test_an_alias_of_a_registered_artist_is_refused_and_leaves_nothing_behind(env):
    assert add_artist(env.engine, "klimt", "Gustav Klimt", [1.0, 0.0], 2, "clip-x", [b"png-1", b"png-2"])
    with pytest.raises(RegistryError, match="already registered to artist:klimt"):
        add_artist(env.engine, "klimt-2", "Gustav Klimt", [1.0, 0.0], 2, "clip-x")  # the same gallery
    with pytest.raises(RegistryError, match="already registered to artist:klimt"):
        add_artist(env.engine, "klimt-3", "G. K.", [0.9, 0.1], 3, "clip-x", [b"png-9", b"png-2"])  # one same work
    assert set(get_artists(env.engine)) == {"klimt"} and artist_thumbnails(env.engine, "klimt-3") == []
    assert add_artist(env.engine, "schiele", "Egon Schiele", [0.9, 0.1], 2, "clip-x", [b"png-9"])


def test_platform_keys_cannot_be_swapped_behind_the_registry(env):
    add_platform(env.ledger, "acme", PEM)
    with pytest.raises(DBAPIError, match="append-only"):
        env.sql("UPDATE platforms SET public_key_pem = 'x'")


def test_thumbnails_are_stored_with_a_new_registration_only(env):
    assert add_artist(env.engine, "klimt", "Gustav Klimt", [1.0, 0.0], 2, "clip-x", [b"png-1", b"png-2"])
    assert artist_thumbnails(env.engine, "klimt") == [b"png-1", b"png-2"]
    assert not add_artist(env.engine, "klimt", "Gustav Klimt", [1.0, 0.0], 2, "clip-x", [b"other"])
    assert artist_thumbnails(env.engine, "klimt") == [b"png-1", b"png-2"]
    assert artist_thumbnails(env.engine, "nobody") == []
    with pytest.raises(DBAPIError, match="append-only"):
        env.sql("DELETE FROM artist_works")


def _pem() -> tuple[str, str]:
    public = Ed25519PrivateKey.generate().public_key()
    return public_key_pem(public).decode(), key_id(public)


def test_a_rotation_adds_the_new_key_and_revokes_the_old_one_keeping_history(env):
    first, first_id = _pem()
    second, second_id = _pem()
    add_platform(env.ledger, "acme", first)
    assert rotate_platform_key(env.ledger, "acme", second) == (second_id, [first_id])
    assert active_platform_keys(env.engine) == {"acme": [second.strip() + "\n"]}
    history = platform_key_history(env.engine, "acme")
    assert [(k.key_id, k.active) for k in history] == [(first_id, False), (second_id, True)]
    assert history[0].reason == f"rotated to {second_id}"
    with pytest.raises(RegistryError, match="registered before"):
        rotate_platform_key(env.ledger, "acme", first)
    with pytest.raises(RegistryError, match="not registered"):
        rotate_platform_key(env.ledger, "nobody", _pem()[0])


def test_a_revoked_platform_has_no_active_key_until_it_rotates(env):
    first, first_id = _pem()
    add_platform(env.ledger, "acme", first)
    assert revoke_platform_keys(env.ledger, "acme", "leaked") == [first_id]
    assert active_platform_keys(env.engine) == {"acme": []}
    with pytest.raises(RegistryError, match="no active key"):
        revoke_platform_keys(env.ledger, "acme", "again")
    with pytest.raises(RegistryError, match="reason"):
        revoke_platform_keys(env.ledger, "acme", " ")
    with pytest.raises(DBAPIError, match="append-only"):
        env.sql("DELETE FROM key_revocations")


def test_service_keys_are_trusted_only_once_enrolled_and_never_after_revocation(env):
    pem, worker_id = _pem()
    assert service_keys(env.engine, "attribution-worker") == {}
    assert enroll_service_key(env.ledger, "attribution-worker", pem) == (worker_id, True)
    assert enroll_service_key(env.ledger, "attribution-worker", pem) == (worker_id, False)
    assert list(service_keys(env.engine, "attribution-worker")) == [worker_id]
    revoked = revoke_service_key(env.ledger, worker_id, "host decommissioned")
    assert revoked.revoked_at is not None and revoked.reason == "host decommissioned"
    assert service_keys(env.engine, "attribution-worker") == {}
    assert [k.active for k in service_key_history(env.engine)] == [False]
    with pytest.raises(RegistryError, match="was revoked"):
        enroll_service_key(env.ledger, "attribution-worker", pem)
    with pytest.raises(RegistryError, match="not an enrolled"):
        revoke_service_key(env.ledger, "0000000000000000", "x")
    with pytest.raises(RegistryError, match="Unknown service role"):
        enroll_service_key(env.ledger, "root", _pem()[0])


def test_a_platform_key_that_is_not_ed25519_is_refused(env):
    with pytest.raises(RegistryError, match="not a PEM public key"):
        add_platform(env.ledger, "acme", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")


def test_concurrent_registrations_of_one_artist_all_succeed_once(env):
    """Operators (or scripts) registering the same artist at once: one inserts, the others
    see the same registration — never an IntegrityError."""
    import threading

    from ledger.books.db import make_engine

    for round_ in range(5):
        artist = f"race-{round_}"
        engines = [make_engine(env.url) for _ in range(4)]
        barrier, results, errors = threading.Barrier(len(engines)), [], []

        def register(engine):
            barrier.wait()
            try:
                results.append(add_artist(engine, artist, "Race", [1.0, float(round_)], 1, "clip-x"))
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=register, args=(engine,)) for engine in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for engine in engines:
            engine.dispose()
        assert errors == [] and sorted(results) == [False, False, False, True]

"""Registries: artists with galleries, platforms with keys; registered once, never swapped."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from ledger.registry import RegistryError, add_artist, add_platform, artist_thumbnails, get_artists, platform_keys

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
    assert add_platform(env.engine, "acme", PEM)
    assert not add_platform(env.engine, "acme", PEM + "\n")
    with pytest.raises(RegistryError, match="already registered"):
        add_platform(env.engine, "acme", PEM.replace("Gb9", "Hb9"))
    assert platform_keys(env.engine) == {"acme": PEM + "\n"}


@pytest.mark.parametrize("bad", ["", "Van Gogh", "-x", "a" * 65, "x/y"])
def test_malformed_ids_are_refused(env, bad):
    with pytest.raises(RegistryError, match="must be 1-64 characters"):
        add_artist(env.engine, bad, "Name", [1.0], 1, "clip-x")


def test_platform_keys_cannot_be_swapped_behind_the_registry(env):
    add_platform(env.engine, "acme", PEM)
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


def test_concurrent_registrations_of_one_key_all_succeed_once(env):
    """Workers started together (one per GPU) register the same worker key at once."""
    import threading

    from ledger.db import make_engine
    from ledger.registry import add_service_key, service_keys

    pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAI3Lu2Tl/kr0oboD5p0oMJuNjCq38L+VEefDv72y4sSw=\n-----END PUBLIC KEY-----\n"
    for round_ in range(5):
        key_id = f"race{round_:012d}"
        engines = [make_engine(env.url) for _ in range(4)]
        barrier, results, errors = threading.Barrier(len(engines)), [], []

        def register(engine):
            barrier.wait()
            try:
                results.append(add_service_key(engine, key_id, "attribution-worker", pem))
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
        assert key_id in service_keys(env.engine, "attribution-worker")

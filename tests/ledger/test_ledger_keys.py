"""Signing keys: 0600 files in a 0700 directory, ids from public keys, registered once."""

from __future__ import annotations

import stat

import pytest

from ledger.crypto import key_id as key_id_of
from ledger.errors import SigningKeyError
from ledger.keys.signing import KEY_SUFFIX, active_key_ids, load_or_create_signer, load_signer


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_files_are_private_and_reused(env, tmp_path):
    key_dir = tmp_path / "keys"
    (key_file,) = key_dir.glob(f"*{KEY_SUFFIX}")
    assert mode(key_dir) == 0o700 and mode(key_file) == 0o600
    assert key_file.name == f"{env.signer.key_id}{KEY_SUFFIX}"
    assert key_id_of(env.signer.private_key.public_key()) == env.signer.key_id
    again, created = load_or_create_signer(key_dir, env.engine)
    assert not created and again.key_id == env.signer.key_id
    assert active_key_ids(env.engine) == [env.signer.key_id]
    assert load_signer(key_dir, env.engine).key_id == env.signer.key_id


def test_readable_key_file_is_refused(env, tmp_path):
    (key_file,) = (tmp_path / "keys").glob(f"*{KEY_SUFFIX}")
    key_file.chmod(0o644)
    with pytest.raises(SigningKeyError, match="must be 600"):
        load_signer(tmp_path / "keys", env.engine)


def test_missing_key_dir_is_reported(env, tmp_path):
    with pytest.raises(SigningKeyError, match=f"signs with key {env.signer.key_id}.*--key-dir"):
        load_signer(tmp_path / "elsewhere", env.engine)


def test_a_fresh_key_dir_never_adds_a_second_ledger_key(env, tmp_path):
    """A ledger that signs already gains no key implicitly: whoever runs init with another
    folder is told where the key is, and nothing is registered."""
    with pytest.raises(SigningKeyError, match=f"signs with key {env.signer.key_id}"):
        load_or_create_signer(tmp_path / "evil", env.engine)
    assert active_key_ids(env.engine) == [env.signer.key_id]
    assert not any((tmp_path / "evil").glob("*")) if (tmp_path / "evil").exists() else True


def test_signer_signature_is_the_plain_ed25519_one_whichever_library_signs():
    """Signer.sign may go through libsodium (fast path); the bytes must be OpenSSL's."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.keys.signing import Signer

    private = Ed25519PrivateKey.generate()
    signer = Signer.from_private_key(private)
    for message in (b"", b"\x00" * 32, bytes(range(32)), b"fairsplit" * 10):
        assert signer.sign(message) == private.sign(message)
        private.public_key().verify(signer.sign(message), message)

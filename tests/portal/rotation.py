"""A rotated ledger for the verifier tests, and what a holder of its retired key can forge.

Key A signs the access world (`make_access_env`) and its checkpoint; A is rotated to B
(the key entry at seq R, signed by A: A signs 1..R, B from R + 1); B books one more
reward of van-gogh and checkpoints it. The attacker holds A (moved to `retired/`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

from sqlalchemy import select

from ledger.tlog.checkpoint import Checkpoint, parse_note, sign_checkpoint
from ledger.books.encoding import encode_row, row_hash
from ledger.keys.lifecycle import public_keyring, rotate_key
from ledger.keys.signing import Signer, read_key
from ledger.tlog.merkle import MemoryTree
from ledger.tlog.proofs import BUNDLE_FORMAT, display_balances, inclusion_part
from ledger.books.schema import TRANSFERS
from ledger.books.store import TransferSpec
from tests.portal.support import WHEN, AccessEnv, make_access_env

FORGED = 1_000_000_000_000  # 1,000,000 USD


@dataclass
class Rotated:
    env: AccessEnv
    keys: Path  # the keys file after the rotation (A: 1..R, B: R + 1..)
    stale: Path  # the keys file from before it (A alone, open)
    retired: Signer  # A
    current: Signer  # B
    rotation_seq: int  # R
    before: dict  # van-gogh's bundle under A's last checkpoint (size R - 1)

    def rows(self) -> list[dict]:
        with self.env.engine.connect() as connection:
            return [dict(r._mapping) for r in connection.execute(select(TRANSFERS).order_by(TRANSFERS.c.seq))]


def make_rotated(url: str, tmp_path: Path) -> Rotated:
    from ledger.transparency.proving import balance_bundle
    from ledger.transparency.tree import create_checkpoint

    env = make_access_env(url, tmp_path / "keys")
    before = balance_bundle(env.engine, "artist:van-gogh")
    stale = tmp_path / "stale-keys.pem"
    stale.write_text(public_keyring(env.engine).render())
    new, (retired_id,) = rotate_key(env.engine, env.key_dir)
    env.ledger.signer = env.signer = new
    env.reward("van-gogh-after", WHEN + timedelta(days=9), 2_000_000,
               {"artist:van-gogh": Fraction(1, 2), "model:sd-1.5": Fraction(1, 2)})
    create_checkpoint(env.engine, new)
    keys = tmp_path / "ledger-keys.pem"
    keyring = public_keyring(env.engine)
    keys.write_text(keyring.render())
    retired = read_key(Path(env.key_dir) / "retired" / f"{retired_id}.ed25519.pem")
    rotation_seq = keyring.keys[0].last_seq
    assert [k.key_id for k in keyring.keys] == [retired.key_id, new.key_id] and rotation_seq is not None
    return Rotated(env, keys, stale, retired, new, rotation_seq, before)


def resigned(note: str, signer: Signer, size: int | None = None, rows: list[dict] | None = None) -> str:
    """`note`'s checkpoint signed by `signer` alone; with `size`, of the tree of `rows[:size]` instead."""
    held = Checkpoint.parse(parse_note(note)[0])
    if size is not None:
        held = Checkpoint(held.origin, size, MemoryTree(encode_row(r) for r in rows[:size]).root(), held.issued_at)
    return sign_checkpoint(held, signer.private_key)


def forged_bundle(world: Rotated, entry_signer: Signer, checkpoint_signer: Signer) -> str:
    """van-gogh's bundle of one 1,000,000 USD entry appended after the head, signed by
    `entry_signer`, under a checkpoint of the grown tree signed by `checkpoint_signer`."""
    rows = world.rows()
    spec = TransferSpec("forged", "platform:acme", "artist:van-gogh", FORGED, "USD", "reward", WHEN)
    row = {**spec.body(), "seq": len(rows) + 1, "id": spec.id, "version": 1, "created_at": WHEN,
           "key_id": entry_signer.key_id, "prev_hash": rows[-1]["hash"]}
    row["hash"] = row_hash(row)
    row["signature"] = entry_signer.sign(bytes.fromhex(row["hash"])).hex()
    tree = MemoryTree(encode_row(r) for r in [*rows, row])
    honest = Checkpoint.parse(parse_note(world.before["checkpoint"])[0])
    note = sign_checkpoint(Checkpoint(honest.origin, tree.size, tree.root(), honest.issued_at),
                           checkpoint_signer.private_key)
    return json.dumps({"format": BUNDLE_FORMAT, "account": "artist:van-gogh", "balances": {"USD": FORGED},
                       "display": display_balances({"USD": FORGED}),
                       "entries": [inclusion_part(row, tree.inclusion_proof(tree.size - 1))], "checkpoint": note})

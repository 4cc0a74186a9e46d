"""Portal test support: a ledger with two registered artists, their rewards booked as the
writer books them, a signed checkpoint; and the tampered bundles of the verifier tests."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from ledger.registry import add_artist
from ledger.transparency import create_checkpoint
from tests.payouts.support import PayoutEnv, eid
from tests.proofs.support import make_env

ARTISTS = ("van-gogh", "monet")
WHEN = datetime(2026, 11, 10, 12, tzinfo=UTC)


@dataclass
class AccessEnv(PayoutEnv):
    def events_of(self, artist: str) -> list[str]:
        return [eid(f"{artist}-{n}") for n in range(3)]


def make_access_env(url: str, key_dir) -> AccessEnv:
    base = make_env(url, key_dir)
    env = AccessEnv(url, base.engine, base.signer, base.ledger, str(key_dir))
    for number, artist in enumerate(ARTISTS):
        add_artist(env.engine, artist, artist.title(), [0.6, 0.8] if number == 0 else [0.8, 0.6], 3, "clip-x")
        for n in range(3):  # each artist's own events: the other one is never a player
            env.reward(f"{artist}-{n}", WHEN + timedelta(days=n, hours=number), 1_000_000 + 1000 * n,
                       {f"artist:{artist}": Fraction(2, 5), "model:sd-1.5": Fraction(3, 5)})
    create_checkpoint(env.engine, env.signer)
    return env


# --- bundles, honest and tampered (the verifier tests) ----------------------------------


def _edit(bundle: dict, change) -> str:
    edited = copy.deepcopy(bundle)
    change(edited)
    return json.dumps(edited)


def tampered_bundles(bundle: dict, foreign: dict) -> dict[str, str]:
    """name -> bundle text: each one edit an attacker (or a bug) could make."""

    def amount_edited(b):
        b["entries"][0]["entry"]["amount"] += 1_000_000

    def amount_and_claims_edited(b):  # the balances edited to match: the hash still catches it
        amount_edited(b)
        currency = b["entries"][0]["entry"]["currency"]
        b["balances"][currency] += 1_000_000
        b.pop("display")

    def entry_dropped(b):
        b["entries"].pop(0)

    def proof_altered(b):
        path = b["entries"][-1]["inclusion_path"]
        first = bytearray(__import__("base64").b64decode(path[0]))
        first[0] ^= 1
        path[0] = __import__("base64").b64encode(bytes(first)).decode()

    def foreign_entry(b):
        b["entries"].append(foreign["entries"][0])

    def signature_edited(b):
        sig = b["entries"][0]["entry"]["signature"]
        b["entries"][0]["entry"]["signature"] = ("0" if sig[0] != "0" else "1") + sig[1:]

    def checkpoint_edited(b):
        lines = b["checkpoint"].split("\n")
        lines[1] = str(int(lines[1]) + 1)
        b["checkpoint"] = "\n".join(lines)

    def display_edited(b):
        currency = next(iter(b["display"]))
        b["display"][currency] = "999.99"

    def leaf_index_shifted(b):
        b["entries"][0]["leaf_index"] += 1

    def unknown_field(b):
        b["note"] = "trust me"

    def float_amount(b):
        b["balances"] = {c: float(v) for c, v in b["balances"].items()}

    edits = {name: _edit(bundle, change) for name, change in {
        "amount edited": amount_edited, "amount and claims edited": amount_and_claims_edited,
        "entry dropped": entry_dropped, "proof altered": proof_altered, "foreign entry": foreign_entry,
        "signature edited": signature_edited, "checkpoint edited": checkpoint_edited,
        "display edited": display_edited, "leaf index shifted": leaf_index_shifted,
        "unknown field": unknown_field, "float balance": float_amount,
    }.items()}
    text = json.dumps(bundle)
    edits["repeated key"] = text[:-1] + ', "account": ' + json.dumps(bundle["account"]) + "}"
    edits["not json"] = text[: len(text) // 2]
    return edits

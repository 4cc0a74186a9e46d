"""Portal test support: a ledger with two registered artists, their rewards booked as the
writer books them, a signed checkpoint; and the tampered bundles of the verifier tests."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from ledger.parties.registry import add_artist
from ledger.transparency.tree import create_checkpoint
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
            env.reward(f"{artist}-{n}", WHEN + timedelta(days=n, hours=number), 1_000_000 + 10_000 * n,
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


def tampered_evidence(bundle: dict, foreign: dict) -> dict[str, tuple[str, str]]:
    """name -> (bundle text, what the refusal says): each one edit of the evidence or its key entries."""
    types = [json.loads(part["entry"]["memo"])["type"] for part in bundle["key_entries"]]

    def without(kind):
        return lambda b: b.update(key_entries=[p for p, t in zip(b["key_entries"], types) if t != kind])

    def document_edited(b):
        text = b["evidence"][0]["document"]
        b["evidence"][0]["document"] = text.replace('"schema":', '"schema" :', 1)

    edits = {
        "evidence dropped": (lambda b: b["evidence"].pop(0), "which the bundle does not carry"),
        "evidence edited": (document_edited, "does not hash to its digest"),
        "evidence twice": (lambda b: b["evidence"].append(b["evidence"][0]), "appears twice in the bundle"),
        "foreign evidence": (lambda b: b["evidence"].append(foreign["evidence"][0]), "no entry of it is paid by"),
        "worker key entry dropped": (without("fairsplit.service-key.v1"), "does not show enrolled and unrevoked"),
        "platform key entry dropped": (without("fairsplit.platform-key.v1"), "not signed by a key the log shows active"),
        "a key entry twice": (lambda b: b["key_entries"].append(b["key_entries"][-1]), "must come in seq order"),
        "a reward among the key entries": (lambda b: b["key_entries"].append(b["entries"][0]), "is not a key entry"),
        "evidence not a list": (lambda b: b.update(evidence={}), "evidence must be a list"),
    }
    return {name: (_edit(bundle, change), reason) for name, (change, reason) in edits.items()}

"""Per-period bundles (`balance A --proof F --period P`) in the JavaScript verifier
(fs-period.js, in Chromium) against the Python one (`ledger/tlog/period_proofs.py`): the same
verdict, word for word, on honest bundles of a closed, a first and an open period, and
on every tampering — an entry dropped or foreign, an amount edited, the opening or the
closing edited or swapped for another signed close entry; and the same periods read from
their ids."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from ledger.payouts.close import close_period
from ledger.books.db import make_engine, upgrade_to_head
from ledger.keys.lifecycle import public_keyring
from ledger.keys.signing import load_or_create_signer
from ledger.transparency.period_bundles import period_bundle
from ledger.payouts.periods import PeriodError, parse_period
from ledger.books.store import Ledger
from services.signed_rewards import enrol, reward
from tests.payouts.support import eid
from tests.portal.test_portal_verifier import browser_verdict, python_verdict, verify_html  # noqa: F401 (a fixture)

ARTIST, MODEL = "artist:van-gogh", "model:sd-1.5"
SHARES = {ARTIST: Fraction(2, 3), MODEL: Fraction(1, 3)}
JAN, FEB, MAR = (parse_period(f"2026-0{m}") for m in (1, 2, 3))


@pytest.fixture(scope="module")
def months(tmp_path_factory):
    """A ledger of three months of signed rewards, January and February closed; its keys file."""
    folder = tmp_path_factory.mktemp("period-ledger")
    url = f"sqlite:///{folder / 'ledger.db'}"
    upgrade_to_head(url)
    engine = make_engine(url)
    signer, _ = load_or_create_signer(str(folder / "keys"), engine)
    ledger = Ledger(engine, signer)
    signers = enrol(ledger)
    for month in (1, 2, 3):
        for i in range(3):
            reward(ledger, signers, eid(f"m{month}-{i}"), SHARES, 1_000_000 + 70_000 * i,
                   when=datetime(2026, month, 2 + i, tzinfo=UTC))
        if month > 1:
            close_period(ledger, parse_period(f"2026-0{month - 1}"), "USD", minimum=5_000_000,
                         now=datetime(2027, 6, 1, tzinfo=UTC))
    keys = folder / "ledger-keys.pem"
    keys.write_text(public_keyring(engine).render())
    bundles = {(account, p.id): period_bundle(engine, account, p, signer)
               for account in (ARTIST, MODEL) for p in (JAN, FEB, MAR)}
    yield bundles, keys
    engine.dispose()


def agree(page, verify_html, tmp_path, document: dict, keys) -> str:  # noqa: F811 (the fixture's value)
    """Both verdicts on `document`: the browser says what `verify-proof` says, word for word."""
    python = python_verdict(tmp_path, json.dumps(document), keys)
    shown = browser_verdict(page, verify_html, tmp_path, json.dumps(document), keys)
    expected = ("valid: " + "; ".join(python["checks"]) + ".") if python["valid"] else "invalid: " + python["reason"]
    assert shown == expected
    return shown


def test_honest_period_bundles_verify_alike(page, verify_html, months, tmp_path):  # noqa: F811
    bundles, keys = months
    for period in ("2026-01", "2026-02", "2026-03"):
        shown = agree(page, verify_html, tmp_path, bundles[ARTIST, period], keys)
        assert shown.startswith("valid: ") and f"{period} opens with the balances the close before it carried" in shown
    feb = bundles[ARTIST, "2026-02"]["period"]["currencies"]["USD"]
    assert feb["opening_entry"] and feb["closing_entry"] and feb["opening"] > 0


def _edit(bundle: dict, change) -> dict:
    edited = copy.deepcopy(bundle)
    change(edited)
    return edited


def tampered(bundles: dict) -> dict[str, tuple[dict, str]]:
    """name -> (a February bundle with one edit, what both verifiers must say)."""
    feb, usd = bundles[ARTIST, "2026-02"], ("period", "currencies", "USD")

    def spec(b):
        return b[usd[0]][usd[1]][usd[2]]

    def drop(b, claims: bool):
        gone = b["entries"].pop(0)
        if claims:  # the balances edited to match: the signed closing still catches it
            b["balances"]["USD"] -= gone["entry"]["amount"]
            b.pop("display")

    def amount(b):
        b["entries"][0]["entry"]["amount"] += 1

    def closing_memo(b):
        memo = json.loads(spec(b)["closing_entry"]["entry"]["memo"])
        memo["carried"] += 1
        memo["balance"] += 1
        spec(b)["closing_entry"]["entry"]["memo"] = json.dumps(memo, sort_keys=True, separators=(",", ":"))

    def claims(b):
        b["balances"]["USD"] += 1
        b.pop("display")

    def opening(b):
        spec(b)["opening"] += 1
        claims(b)

    def swap(name, source):
        return lambda b: spec(b).__setitem__(name, copy.deepcopy(source))
    model, jan, mar = (bundles[key]["period"]["currencies"]["USD"] for key in
                       ((MODEL, "2026-02"), (ARTIST, "2026-01"), (ARTIST, "2026-03")))
    return {
        "entry dropped": (_edit(feb, lambda b: drop(b, False)), "2026-02 USD closing entry carried"),
        "entry dropped, balances edited": (_edit(feb, lambda b: drop(b, True)), "2026-02 USD closing entry carried"),
        "amount edited": (_edit(feb, amount), "it was altered"),
        "closing balance edited": (_edit(feb, closing_memo), "it was altered"),
        "claimed balance edited": (_edit(feb, claims), "add up to"),
        "opening edited": (_edit(feb, opening), "2026-02 USD opening entry carried"),
        "opening swapped for another payee's": (_edit(feb, swap("opening_entry", model["opening_entry"])),
                                                "is not the close of 2026-01 for artist:van-gogh in USD"),
        "opening swapped for the closing": (_edit(feb, swap("opening_entry", mar["opening_entry"])),
                                            "is not the close of 2026-01"),
        "closing swapped for January's": (_edit(feb, swap("closing_entry", jan["closing_entry"])),
                                          "is not the close of 2026-02"),
        "opening left out": (_edit(feb, swap("opening_entry", None)), "no signed close of the period before"),
        "foreign entry": (_edit(feb, lambda b: b["entries"].append(bundles[ARTIST, "2026-03"]["entries"][0])),
                          "does not count in 2026-02"),
        "period renamed": (_edit(feb, lambda b: b["period"].__setitem__("id", "2026-2")), "is not a period"),
        "an opening before the first period": (_edit(feb, lambda b: b["period"].__setitem__("id", "0001-01")),
                                               "before 0001-01: there is none"),
        "currency left out": (_edit(feb, lambda b: b["period"]["currencies"].pop("USD")), "every currency"),
        "opening not an integer": (_edit(feb, lambda b: spec(b).__setitem__("opening", 1.0)), "integer of micro-units"),
    }


def test_every_tampered_period_bundle_is_refused_alike(page, verify_html, months, tmp_path):  # noqa: F811
    bundles, keys = months
    for name, (document, reason) in tampered(bundles).items():
        shown = agree(page, verify_html, tmp_path, document, keys)
        assert shown.startswith("invalid: ") and reason in shown, (name, shown)


def _python_period(text: str) -> dict | None:
    def stamp(moment: datetime) -> str:
        return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T00:00:00.000000Z"
    try:
        period = parse_period(text)
    except PeriodError:
        return None
    if period.id != text:
        return None
    try:
        before = period.previous().id
    except (OverflowError, PeriodError):
        before = None
    return {"id": period.id, "start": stamp(period.start), "end": stamp(period.end), "previous": before}


def test_period_ids_read_the_same_in_both(page, verify_html):  # noqa: F811
    ids = ["2026-11", "2026-01", "2026-12", "0001-01", "0001-02", "9999-11", "9999-12", "0000-05", "2026-13",
           "2026-00", "2026-1", "2026-11\n", " 2026-11", "٢٠٢٦-١١", "2026-W01", "2027-W01", "2026-W53", "2020-W53",
           "2021-W01", "2015-W53", "2016-W01", "2026-W52", "0001-W01", "0001-W02", "9999-W51", "9999-W52",
           "2026-W00", "2026-w01", "2026-Q1", "2026-Q4", "0001-Q1", "9999-Q3", "9999-Q4", "2026-Q5", "2026-Q0"]
    page.goto(verify_html.as_uri())
    shown = page.evaluate("""(ids) => ids.map((id) => {
        const p = Fairsplit.PERIOD_INTERNALS.parsePeriod(id);
        if (p === null || p.id !== id) return null;
        const before = Fairsplit.PERIOD_INTERNALS.previous(p);
        return {id: p.id, start: p.start, end: p.end, previous: before === null ? null : before.id};
    })""", ids)
    assert dict(zip(ids, shown)) == {text: _python_period(text) for text in ids}

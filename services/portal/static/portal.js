/* The balance page's check, in the artist's browser: fetch the bundle and the published
 * keys, verify every proof with Fairsplit.verifyDocument, require that the proven entries
 * add up to the balance the page shows, and keep the checkpoint for the next visit
 * (localStorage), when the log must have only grown since. */
"use strict";
(function (root) {
  const F = root.Fairsplit;
  const doc = root.document;
  const storeKey = (account) => `fairsplit:checkpoint:${account}`;

  async function fetchText(url, what) {
    let response;
    try {
      response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    } catch (_) {
      F.fail(`${what} could not be fetched.`);
    }
    const text = await response.text();
    if (!response.ok) F.fail(`${what} could not be fetched: ${text.slice(0, 200)}`);
    return text;
  }

  function keptCheckpoint(account) {
    try { return root.localStorage.getItem(storeKey(account)); } catch (_) { return null; }
  }

  /** Every balance the page shows equals the bundle's proven sum, currency by currency. */
  function checkShownBalances(result, shown) {
    const proven = result.balances || {};
    const currencies = new Set([...Object.keys(shown), ...Object.keys(proven)]);
    for (const currency of currencies) {
      const page = BigInt(shown[currency] ?? "0"), sum = proven[currency] ?? 0n;
      if (page !== sum) {
        F.fail(`The page shows ${F.formatAmount(page, currency)} ${currency}, but the proven entries add up to ${F.formatAmount(sum, currency)} ${currency}.`);
      }
    }
  }

  function verdictText(result) {
    const balances = Object.entries(result.balances).map(([c, v]) => `${F.formatAmount(v, c)} ${c}`).join(", ") || "0";
    let text = `verified: ${result.entries} entries, balance ${balances}, checkpoint ${Number(result.checkpoint.size).toLocaleString("en")}`;
    if (result.witnesses.length) text += `, cosigned by ${result.witnesses.length} witness${result.witnesses.length > 1 ? "es" : ""}`;
    return text;
  }

  async function verifyBalance(section) {
    const account = section.dataset.account;
    const shown = JSON.parse(section.dataset.proven);
    const options = {};
    const kept = keptCheckpoint(account);
    let since = "";
    if (kept) {
      options.kept = kept;
      const size = kept.split("\n")[1];
      if (/^[0-9]{1,19}$/.test(size || "")) since = `?since=${size}`;
    }
    const keyring = await F.parseKeyring(await fetchText("/keys.pem", "The published keys file"));
    if (section.dataset.witnesses === "yes") {
      options.witnesses = await F.parseWitnessKeys(await fetchText("/witnesses.txt", "The witness keys"));
      options.quorum = Number(section.dataset.quorum);
    }
    const bundle = await fetchText(`/bundle.json${since}`, "The proof bundle");
    const result = await F.verifyDocument(bundle, keyring, options);
    if (result.account !== account) F.fail(`The bundle is of ${result.account}, not of ${account}.`);
    checkShownBalances(result, shown);
    try { root.localStorage.setItem(storeKey(account), F.parseStrictJson(bundle, "The bundle").checkpoint); } catch (_) { /* private mode */ }
    return { result, kept: Boolean(kept) };
  }

  doc.addEventListener("DOMContentLoaded", async () => {
    const section = doc.getElementById("verify");
    if (!section) return;
    const verdict = doc.getElementById("verdict"), details = doc.getElementById("verify-details");
    try {
      const { result, kept } = await verifyBalance(section);
      verdict.className = "verdict ok";
      verdict.textContent = verdictText(result);
      const lines = [...result.lines];
      if (!kept) lines.push("this checkpoint is kept in this browser: the next visit checks that the log only grew");
      details.replaceChildren(...lines.map((line) => { const li = doc.createElement("li"); li.textContent = line; return li; }));
    } catch (exc) {
      verdict.className = "verdict bad";
      verdict.textContent = "NOT verified: " + (exc instanceof F.VerificationError ? exc.message : `the check could not run (${exc && exc.name}).`);
    }
    section.dataset.state = verdict.className.split(" ")[1];
  });
})(globalThis);
